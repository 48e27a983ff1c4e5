"""Furusato CRM: JET alumni by prefecture, exchange associations, local return on JET-vestment."""
from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask, request
from flask_babel import get_locale, lazy_gettext as _l
from flask_login import current_user
from werkzeug.middleware.proxy_fix import ProxyFix

from crm import clock, config as settings, tasks
from crm.db import configure_engine, read_apart, write_intent
from crm.extensions import babel, csrf, db, limiter, login_manager, migrate

READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(
        __name__,
        instance_path=str(settings.INSTANCE),
        instance_relative_config=True,
        template_folder=str(settings.ROOT / "templates"),
        static_folder=str(settings.ROOT / "static"),
    )
    settings.load(app.config)
    if test_config:
        app.config.update(test_config)
    if not app.config.get("SECRET_KEY"):
        if not (app.config["DEBUG"] or app.config.get("TESTING")):
            raise RuntimeError("CRM_SECRET_KEY is not set: refusing to start without a secret key outside debug mode.")
        app.config["SECRET_KEY"] = "debug-only-secret"

    settings.INSTANCE.mkdir(exist_ok=True)
    if app.config["TRUSTED_PROXIES"]:
        # The client's address (sign-in throttling, the audit trail) and scheme as the proxies saw
        # them; only as many hops as are configured, so a client cannot forge its own.
        proxies = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)
    app.jinja_env.add_extension("jinja2.ext.do")
    _init_extensions(app)
    _register_blueprints(app)
    _register_request_hooks(app)

    from crm.audit import escape_log_records
    from crm.errors import register_error_handlers
    from crm.cli import register_commands

    register_error_handlers(app)
    register_commands(app)
    logging.getLogger("crm").setLevel(logging.INFO)
    escape_log_records()
    return app


def _init_extensions(app: Flask) -> None:
    from crm.forms import select_options
    from crm.glossary import term
    from crm.navigation import navigation
    from crm.numbers import FILTERS
    from crm.i18n import compiled_catalogues, format_date, install_template_gettext, select_locale

    db.init_app(app)
    with app.app_context():
        for engine in db.engines.values():
            configure_engine(engine)
    migrate.init_app(app, db, directory=str(settings.ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES",
                          ";".join(compiled_catalogues(Path(app.instance_path) / "translations")))
    babel.init_app(app, locale_selector=select_locale)
    install_template_gettext(app.jinja_env)
    app.jinja_env.filters["dateformat"] = format_date
    app.jinja_env.globals["term"] = term
    app.jinja_env.globals["select_options"] = select_options
    app.jinja_env.globals["navigation"] = navigation
    app.jinja_env.filters.update(FILTERS)
    import crm.ratelimit  # noqa: F401  (registers the database:// storage before the limiter opens it)

    limiter.init_app(app)

    tasks.init_app(app)

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please sign in to continue.")
    login_manager.login_message_category = "info"

    from crm.auth.models import User

    @login_manager.user_loader
    def load_user(token: str):
        # The id carries the session version: logout, deactivation or a new password raise it,
        # and every cookie issued before stops working here.
        user_id, _, version = token.partition(".")
        if not user_id.isdigit():
            return None
        # A read, even in a POST: it must never queue for the write lock behind an import.
        user = read_apart(db.session(), lambda session: session.get(User, int(user_id)))
        if user is None or not user.active or str(user.session_version) != version:
            return None
        return user

    @login_manager.unauthorized_handler
    def unauthorized():
        from crm.auth.views import login_redirect

        return login_redirect()


def _register_blueprints(app: Flask) -> None:
    # The views are imported here, not by their package: importing a domain's models must never
    # pull in views (and through them crm.access), or imports become circular.
    from crm.admin import bp as admin_bp, views as _admin_views  # noqa: F401
    from crm.alumni import bp as alumni_bp, views as _alumni_views  # noqa: F401
    from crm.ambassadors import bp as ambassadors_bp, views as _ambassador_views  # noqa: F401
    from crm.associations import bp as associations_bp, views as _association_views  # noqa: F401
    from crm.auth import bp as auth_bp, views as _auth_views  # noqa: F401
    from crm.home import bp as home_bp, views as _home_views  # noqa: F401
    from crm.privacy import bp as privacy_bp, views as _privacy_views  # noqa: F401
    from crm.imports import bp as imports_bp, transfer_views as _transfer_views, views as _import_views  # noqa: F401
    from crm.reports import bp as reports_bp, views as _report_views  # noqa: F401
    from crm.file_register import bp as file_register_bp, views as _file_register_views  # noqa: F401
    from crm.retention import bp as retention_bp, views as _retention_views  # noqa: F401
    from crm.selfservice import bp as selfservice_bp, views as _selfservice_views  # noqa: F401
    from crm.outreach import bp as outreach_bp, views as _outreach_views  # noqa: F401

    app.register_blueprint(auth_bp)
    app.register_blueprint(home_bp)
    app.register_blueprint(admin_bp, url_prefix="/admin")
    app.register_blueprint(alumni_bp, url_prefix="/alumni")
    app.register_blueprint(associations_bp, url_prefix="/associations")
    app.register_blueprint(ambassadors_bp, url_prefix="/ambassadors")
    app.register_blueprint(reports_bp, url_prefix="/reports")
    app.register_blueprint(imports_bp, url_prefix="/imports")
    app.register_blueprint(file_register_bp, url_prefix="/file-register")
    app.register_blueprint(retention_bp, url_prefix="/retention")
    app.register_blueprint(privacy_bp, url_prefix="/privacy")
    app.register_blueprint(selfservice_bp)  # /me (public, by personal link) and /self-service (staff)
    app.register_blueprint(outreach_bp, url_prefix="/outreach")


def _register_request_hooks(app: Flask) -> None:
    from crm import access, htmx, security
    from crm.reference import fiscal_year
    from crm.auth.models import Role

    @app.before_request
    def _declare_write_intent():
        write_intent.set(request.method not in READ_ONLY_METHODS)

    app.before_request(security.refuse_unstorable_text)
    app.before_request(security.enforce_session_limits)
    app.before_request(access.check_endpoint)
    app.after_request(security.add_security_headers)
    app.after_request(htmx.vary_on_htmx)

    @app.teardown_request
    def _end_write_intent(_exc):
        write_intent.set(True)

    @app.context_processor
    def _template_globals():
        return {
            "Role": Role,
            "access": access,
            "may": access.may,
            "fiscal_year": fiscal_year,
            "is_htmx": htmx.is_htmx(),
            "current_user": current_user,
            "current_locale": str(get_locale()),
            "today": clock.today(),
        }
