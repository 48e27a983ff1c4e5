"""htmx support: one template serves a full page and its fragment, chosen by the HX-Request header."""
from __future__ import annotations

import json

from flask import Response, flash, make_response, redirect as flask_redirect, render_template, request


def is_htmx() -> bool:
    """An htmx request that wants a fragment (a history restore wants the whole page)."""
    return request.headers.get("HX-Request") == "true" and request.headers.get("HX-History-Restore-Request") != "true"


def render(page_template: str, fragment_template: str | None = None, /, status: int = 200, **context) -> Response:
    """The fragment template for htmx, else the page (which `{% include %}`s the same fragment)."""
    template = fragment_template if fragment_template and is_htmx() else page_template
    return make_response(render_template(template, **context), status)


def redirect(location: str) -> Response:
    """After a successful POST: htmx follows HX-Redirect; a plain form gets 303 See Other."""
    if is_htmx():
        response = make_response("", 204)
        response.headers["HX-Redirect"] = location
        return response
    return flask_redirect(location, 303)


def notify(response: Response, message) -> Response:
    """Tell the page what an htmx request did (static/app.js shows it as a toast): the HX-Trigger
    header, JSON with non-ASCII characters escaped, as HTTP headers must be Latin-1."""
    response.headers["HX-Trigger"] = json.dumps({"crm:notice": {"message": str(message)}})
    return response


def done_in_queue(message, location: str) -> Response:
    """A work queue's item done by one click: htmx gets an empty answer (the item leaves the list)
    and the message as a toast; a plain form flashes it and goes to `location` (303)."""
    if is_htmx():
        return notify(make_response("", 200), message)
    flash(str(message), "success")
    return flask_redirect(location, 303)


def vary_on_htmx(response: Response) -> Response:
    """after_request: caches must keep the fragment and the page apart."""
    response.vary.add("HX-Request")
    return response
