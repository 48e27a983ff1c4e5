"""The app shell's navigation (templates/_navigation.html), rendered once per kind of user and language.

Every full page shows it, and rendering it — some twenty access questions and links — was a few
percent of a detail page. What it shows depends only on what crm.access answers for the user
(`access.navigation_scope`), its words on the language, its links on the application root; the
link to the page being shown is marked afterwards. Kept per application, and not kept where
templates reload as they change (development).
"""
from __future__ import annotations

from flask import current_app, render_template, request
from flask_babel import get_locale
from markupsafe import Markup, escape

from crm import access


def navigation() -> Markup:
    app = current_app._get_current_object()
    if app.jinja_env.auto_reload:
        html = render_template("_navigation.html")
    else:
        rendered = app.extensions.setdefault("crm.navigation", {})
        key = (access.navigation_scope(), str(get_locale()), request.script_root)
        html = rendered.get(key)
        if html is None:
            html = rendered[key] = render_template("_navigation.html")
    link = f'<a href="{escape(request.script_root + request.path)}">'
    return Markup(html.replace(link, f'{link[:-1]} aria-current="page">', 1))
