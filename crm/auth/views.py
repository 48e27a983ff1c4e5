"""Sign in, sign out, own account and language."""
from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import flash, make_response, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from werkzeug.exceptions import TooManyRequests

from crm import audit
from crm.access import ALL_ROLES, public, roles
from crm.auth import bp, operations, throttle
from crm.auth.forms import ChangePasswordForm, LanguageForm, LoginForm
from crm.extensions import db
from crm.htmx import is_htmx
from crm.i18n import SESSION_LOCALE_KEY
from crm.security import safe_next, start_session_clock

log = logging.getLogger("crm.auth")


def login_redirect():
    """Send an anonymous (or expired) visitor to the sign-in page, then back to where they were."""
    if is_htmx():
        # A login form swapped into a table row helps nobody: make htmx load the page instead.
        current = urlsplit(request.headers.get("HX-Current-URL", ""))
        back = current.path + (f"?{current.query}" if current.query else "") if current.path else None
        response = make_response("", 401)
        response.headers["HX-Redirect"] = url_for("auth.login", next=back)
        return response
    flash(_("Please sign in to continue."), "info")
    back = request.full_path.rstrip("?") if request.method == "GET" else None
    return redirect(url_for("auth.login", next=back))


def _reset_session_keeping_language() -> None:
    locale = session.get(SESSION_LOCALE_KEY)
    session.clear()
    if locale:
        session[SESSION_LOCALE_KEY] = locale


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")))
    form = LoginForm()
    if form.validate_on_submit():
        email = operations.normalise_email(form.email.data)
        attempt = throttle.Attempt.from_request(email)
        if wait := attempt.wait_seconds():
            log.warning("sign-in refused: too many failed attempts (address %s)", attempt.address)
            raise TooManyRequests(retry_after=wait)
        user = operations.authenticate(email, form.password.data)
        if user is not None:
            _reset_session_keeping_language()  # a new session: nothing from before survives sign-in
            login_user(user)
            start_session_clock()
            audit.record_event("login", "users", user.id)  # signed in: the entry names the user as actor
            db.session.commit()
            response = redirect(safe_next(request.args.get("next")), 303)
            throttle.remember_device(response, email)
            return response
        attempt.count_failure()
        audit.record_event("login_failed", "users", email=(form.email.data or "")[:254])
        db.session.commit()
        # One message whether or not the account exists or is active.
        form.form_errors.append(_("The email or password is not correct."))
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
@roles(*ALL_ROLES)
def logout():
    operations.end_sessions(current_user)
    audit.record_event("logout", "users", current_user.id)
    db.session.commit()
    logout_user()
    _reset_session_keeping_language()
    flash(_("You have signed out."), "info")
    return redirect(url_for("auth.login"), 303)


@bp.get("/account")
@roles(*ALL_ROLES)
def account():
    return render_template("auth/account.html", form=_password_form())


def _password_form() -> ChangePasswordForm:
    form = ChangePasswordForm()
    form.policy_email = current_user.email
    return form


@bp.post("/account/password")
@roles(*ALL_ROLES)
def change_password():
    form = _password_form()
    if form.validate_on_submit():
        try:
            operations.change_own_password(current_user, form.current_password.data, form.new_password.data)
        except operations.AccountError as error:
            form.current_password.errors.append(str(error))
        else:
            db.session.commit()
            # Every other session of this user has ended; this one goes on under the new version.
            login_user(current_user._get_current_object())
            start_session_clock()
            flash(_("Your password has been changed. Other sessions have been signed out."), "success")
            return redirect(url_for("auth.account"), 303)
    return render_template("auth/account.html", form=form), 422


@bp.post("/language")
@public
def set_language():
    form = LanguageForm()
    if form.validate_on_submit():
        session[SESSION_LOCALE_KEY] = form.locale.data
        if current_user.is_authenticated and current_user.locale != form.locale.data:
            operations.write_own_bookkeeping(current_user, locale=form.locale.data)
            db.session.commit()
    return redirect(safe_next(form.next.data), 303)
