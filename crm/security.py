"""Response headers every page carries, and the session's time limits."""
from __future__ import annotations

import time

from flask import current_app, flash, request, session
from flask_babel import gettext as _
from flask_login import current_user, logout_user

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
