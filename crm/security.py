"""Response headers every page carries, the session's time limits, and where a redirect may lead."""
from __future__ import annotations

import re
import time
from urllib.parse import urlsplit

from flask import current_app, flash, request, session, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user, logout_user

from crm.errors import render_error

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "object-src 'none'",
        "base-uri 'none'",
    )
)
# Refresh the idle clock at most this often, so not every request rewrites the cookie.
SEEN_REFRESH_SECONDS = 60


def add_security_headers(response):
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    if request.endpoint != "static":
        # Pages may hold personal data; nothing but static assets may be stored by a browser or proxy.
        headers["Cache-Control"] = "no-store"
    return response


def start_session_clock() -> None:
    """Called at login: the absolute and idle limits count from now."""
    now = int(time.time())
    session.permanent = True
    session["_login_at"] = now
    session["_seen_at"] = now


def enforce_session_limits():
    """before_request: end a signed-in session past its idle or absolute limit."""
    if "_user_id" not in session:
        return
    now = int(time.time())
    config = current_app.config
    login_at = session.get("_login_at", 0)
    seen_at = session.get("_seen_at", 0)
    if (
        now - login_at > config["PERMANENT_SESSION_LIFETIME"].total_seconds()
        or now - seen_at > config["SESSION_IDLE_TIMEOUT"].total_seconds()
    ):
        logout_user()
        session.clear()
        flash(_("Your session has expired. Please sign in again."), "info")
        return
    if now - seen_at > SEEN_REFRESH_SECONDS:
        session["_seen_at"] = now
    # Touch current_user so a stale session version is rejected before any view runs.
    current_user._get_current_object()


# NUL and unpaired surrogates are never text a person meant: PostgreSQL refuses NUL in text (the
# driver raised, a 500), SQLite's full-text search stops at it, and a lone surrogate cannot be
# encoded as UTF-8 on the way to the database, a file or a page.
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
UNSTORABLE_MESSAGE = _l("The text sent contains a character that cannot be stored (a NUL byte or an unpaired "
                        "surrogate). Remove it and try again.")


def refuse_unstorable_text():
    """before_request: one rule for every field and filter — a key or value of the query string or
    of a posted form holding an unstorable character is refused (400) before any view reads it."""
    sources = [request.args]
    if request.method not in ("GET", "HEAD") and request.mimetype in FORM_TYPES:
        sources.append(request.form)
    for source in sources:
        for key, value in source.items(multi=True):
            if UNSTORABLE.search(key) or UNSTORABLE.search(value):
                return render_error(400, UNSTORABLE_MESSAGE)
    return None


def is_safe_local_url(target: str | None) -> bool:
    """A redirect target inside this site (never `//evil.example` or `https://…`)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


def safe_next(target: str | None, default_endpoint: str = "home.index") -> str:
    return target if is_safe_local_url(target) else url_for(default_endpoint)
