"""Error pages in both languages. No stack trace leaves the server outside debug mode."""
from __future__ import annotations

import logging

from flask import Flask, current_app, make_response, render_template
from flask_babel import get_locale, lazy_gettext as _l
from markupsafe import escape
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException, InternalServerError, ServiceUnavailable

from crm.db import database_busy, reading
from crm.extensions import db
from crm.htmx import is_htmx

log = logging.getLogger("crm.errors")

MESSAGES = {
    400: (_l("Bad request"), _l("The request could not be understood. Reload the page and try again.")),
    403: (_l("Not allowed"), _l("Your account is not allowed to open this page.")),
    404: (_l("Not found"), _l("There is no such page, or it is not yours to see.")),
    405: (_l("Not allowed"), _l("This action cannot be done that way.")),
    409: (_l("Changed by someone else"), _l("This record was changed by someone else. Reload it and try again.")),
    413: (_l("File too large"), _l("The upload is larger than this system accepts: files of up to %(size)s MB.")),
    422: (_l("Not saved"), _l("The form sent a choice this page does not offer. Reload the page and try again.")),
    429: (_l("Too many attempts"), _l("Too many attempts. Wait a few minutes and try again.")),
    500: (_l("Something went wrong"), _l("An unexpected error occurred. It has been logged; please try again.")),
    503: (_l("Busy"), _l("The system is busy with other work right now and nothing was saved. Try again in a moment.")),
}
# Seconds a client is asked to wait before trying again when the database was busy.
BUSY_RETRY_AFTER = 5
BARE_PAGE = ('<!doctype html><html lang="{lang}"><meta charset="utf-8"><title>{title}</title>'
             '<h1>{title} <small>({status})</small></h1><p>{message}</p></html>')
CSRF_MESSAGE = _l("Your form has expired or did not come from this site. Reload the page and try again.")


def render_error(status: int, message=None):
    title, default_message = MESSAGES.get(status, MESSAGES[500] if status >= 500 else MESSAGES[400])
    if status == 413:
        default_message = default_message % {"size": _upload_limit_mb()}
    template = "errors/_message.html" if is_htmx() else "errors/error.html"
    try:
        response = render_template(template, status=status, title=title, message=message or default_message)
    except Exception:
        # The page itself failed (the database is gone, a template broke): a bare page in the
        # user's language rather than the server's own, which speaks neither the app nor Japanese.
        log.exception("the error page could not be rendered")
        response = BARE_PAGE.format(lang=escape(str(get_locale() or "en")), title=escape(str(title)),
                                    message=escape(str(message or default_message)), status=status)
    headers = {}
    if is_htmx():
        # htmx swaps error answers (see the htmx-config meta tag); send them to the message area,
        # never into the row or form that made the request.
        headers = {"HX-Retarget": "#messages", "HX-Reswap": "innerHTML"}
    return response, status, headers


def _upload_limit_mb() -> str:
    """The smaller of the request limit and the import limit, in MB as people count them (1 MB = 2²⁰ bytes)."""
    config = current_app.config
    limit = min(limit for limit in (config["MAX_CONTENT_LENGTH"], config.get("IMPORT_MAX_BYTES")) if limit)
    return f"{limit / 1024 / 1024:.3g}"


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(error):
        log.warning("CSRF check failed: %s", error.description)
        return render_error(400, CSRF_MESSAGE)

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        if error.code in (301, 302, 303, 307, 308):
            return error
        response = make_response(render_error(error.code or 500))
        if getattr(error, "retry_after", None):
            response.retry_after = error.retry_after  # a 429 says when to try again
        return response

    @app.errorhandler(DBAPIError)
    def _database(error: DBAPIError):
        if not database_busy(error):
            return _unexpected(error)
        # Another writer held the database past the wait (an import's publishing transaction on a
        # slow machine): nothing of this request was written, and the same request will succeed.
        log.warning("database busy: %s", error.orig)
        db.session.rollback()
        with reading():  # the page itself must not queue for the write lock again
            response, status, headers = render_error(ServiceUnavailable.code)
        return response, status, {**headers, "Retry-After": str(BUSY_RETRY_AFTER)}

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        propagate = app.config["PROPAGATE_EXCEPTIONS"]
        if propagate is None:
            propagate = app.debug or app.testing
        if propagate:
            raise error
        log.exception("unhandled error")
        # The request's transaction may be unusable (a failed flush): the error page loads the user
        # and reads through the same session, so roll it back first.
        try:
            db.session.rollback()
        except Exception:
            log.exception("rollback after an unhandled error failed")
        return render_error(InternalServerError.code)
