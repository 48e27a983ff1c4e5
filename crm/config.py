"""Configuration: built-in defaults, then `instance/config.py`, then `CRM_*` environment variables.

Later sources win, so an operator can keep secrets in the environment and everything else in the
instance file. `create_app(test_config)` applies the test mapping last.
"""
import os
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The instance folder: this server's own files (instance/config.py, the embedded task queue). Each
# server of several may have its own (CRM_INSTANCE_PATH); what they share is in the database and Redis.
INSTANCE = Path(os.environ.get("CRM_INSTANCE_PATH") or ROOT / "instance")

# Variables an operator may set; each maps to the Flask config key of the same name without CRM_.
ENVIRONMENT_KEYS = {
    "CRM_DATABASE_URL": "SQLALCHEMY_DATABASE_URI",
    "CRM_SECRET_KEY": "SECRET_KEY",
    "CRM_RATELIMIT_STORAGE_URI": "RATELIMIT_STORAGE_URI",
    "CRM_TRUSTED_PROXIES": "TRUSTED_PROXIES",
    "CRM_DEBUG": "DEBUG",
    "CRM_SESSION_COOKIE_SECURE": "SESSION_COOKIE_SECURE",
    "CRM_MAX_CONTENT_LENGTH": "MAX_CONTENT_LENGTH",
    "CRM_QUEUE_URL": "QUEUE_URL",
    "CRM_IMPORT_BATCH_ROWS": "IMPORT_BATCH_ROWS",
    "CRM_IMPORT_STALE_SECONDS": "IMPORT_STALE_SECONDS",
    "CRM_IMPORT_MAX_CELL_CHARS": "IMPORT_MAX_CELL_CHARS",
    "CRM_IMPORT_MAX_ROW_CHARS": "IMPORT_MAX_ROW_CHARS",
    "CRM_IMPORT_MAX_UNPACKED_BYTES": "IMPORT_MAX_UNPACKED_BYTES",
    "CRM_IMPORT_MAX_SHARED_TEXT_BYTES": "IMPORT_MAX_SHARED_TEXT_BYTES",
    "CRM_IMPORT_MAX_PACKING_RATIO": "IMPORT_MAX_PACKING_RATIO",
    "CRM_RETENTION_INACTIVE_YEARS": "RETENTION_INACTIVE_YEARS",
    "CRM_SMTP_URL": "SMTP_URL",
    "CRM_MAIL_FROM": "MAIL_FROM",
    "CRM_SMTP_CA_FILE": "SMTP_CA_FILE",
    "CRM_BASE_URL": "BASE_URL",
    "CRM_BOUNCE_DOMAIN": "BOUNCE_DOMAIN",
    "CRM_MAIL_PER_MINUTE": "MAIL_PER_MINUTE",
    "CRM_MAIL_LEASE_SECONDS": "MAIL_LEASE_SECONDS",
    "CRM_MAIL_CLAIM_SIZE": "MAIL_CLAIM_SIZE",
    "CRM_DKIM_KEY_FILE": "DKIM_KEY_FILE",
    "CRM_DKIM_SELECTOR": "DKIM_SELECTOR",
    "CRM_DKIM_DOMAIN": "DKIM_DOMAIN",
}
BOOLEAN_KEYS = {"DEBUG", "SESSION_COOKIE_SECURE"}
INTEGER_KEYS = {"MAX_CONTENT_LENGTH", "IMPORT_BATCH_ROWS", "IMPORT_STALE_SECONDS", "TRUSTED_PROXIES", "IMPORT_MAX_CELL_CHARS",
                "IMPORT_MAX_ROW_CHARS", "IMPORT_MAX_UNPACKED_BYTES", "IMPORT_MAX_SHARED_TEXT_BYTES",
                "IMPORT_MAX_PACKING_RATIO", "RETENTION_INACTIVE_YEARS", "MAIL_PER_MINUTE", "MAIL_LEASE_SECONDS",
                "MAIL_CLAIM_SIZE"}


class Defaults:
    SQLALCHEMY_DATABASE_URI = f"sqlite:///{INSTANCE / 'crm.sqlite'}"
    SECRET_KEY = None  # refused at start-up outside debug; see crm.create_app
    DEBUG = False

    # Sessions end on the server (per-user session version), and also by time.
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = True
    SESSION_COOKIE_NAME = "crm_session"
    SESSION_IDLE_TIMEOUT = timedelta(minutes=30)
    PERMANENT_SESSION_LIFETIME = timedelta(hours=8)  # the absolute limit
    REMEMBER_COOKIE_DURATION = timedelta(0)

    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the (at most 8 hour) session
    MAX_CONTENT_LENGTH = 20 * 1024 * 1024
    # Imports: the largest file and the most rows one import takes; a running job whose worker has
    # not reported progress for this long is offered for a restart.
    IMPORT_MAX_BYTES = 20 * 1024 * 1024
    IMPORT_MAX_ROWS = 100_000
    # Row errors a job lists (every rejected row is still counted): a list of them all grew with the file.
    IMPORT_MAX_ERRORS = 1000
    IMPORT_STALE_SECONDS = 60
    # Rows a commit writes at a time (one COPY or INSERT per table and batch): fewer, larger batches
    # cost less per row and hold more in memory (the batches are read ahead).
    IMPORT_BATCH_ROWS = 5000
    # IMPORT_MAX_CELL_CHARS, IMPORT_MAX_ROW_CHARS, IMPORT_MAX_UNPACKED_BYTES, IMPORT_MAX_SHARED_TEXT_BYTES
    # and IMPORT_MAX_PACKING_RATIO bound the memory an upload is read in; their defaults are
    # crm.formats.limits.ReadLimits (readers use them outside the app too).
    # The task queue (crm/tasks.py) the web servers hand background work to and `flask --app crm
    # worker` takes it from: `redis://host:6379/1` for several servers (all share it); default: a
    # SQLite file in the instance folder, for one server and its worker. QUEUE_IMMEDIATE runs each
    # task at once in the process that starts it (tests).
    QUEUE_URL = None
    QUEUE_IMMEDIATE = False

    # Sign-in throttling counts in the database every worker and server shares (crm/ratelimit.py);
    # `redis://host:6379/0` is the alternative. `memory://` counts per process: development only.
    RATELIMIT_STORAGE_URI = "database://"
    # Failed sign-ins allowed; see crm/auth/throttle.py for who each limit counts against and why.
    LOGIN_LIMIT_PER_ACCOUNT_AND_IP = "5 per minute;20 per hour"
    LOGIN_LIMIT_PER_ACCOUNT = "100 per hour"
    LOGIN_LIMIT_PER_IP = "20 per 10 minutes"
    # How many reverse proxies in front of the app add X-Forwarded-For (and -Proto). 0: the header
    # is ignored, since anyone can send it; behind one TLS proxy: 1. See README, Production deployment.
    TRUSTED_PROXIES = 0

    BABEL_DEFAULT_LOCALE = "ja"
    BABEL_DEFAULT_TIMEZONE = "Asia/Tokyo"
    LANGUAGES = ("ja", "en")

    PAGE_SIZE = 50
    # The alumni list counts matches exactly up to this many past the page shown, then says "more
    # than": an exact count of a broad filter reads every matching row of a 100,000-person registry.
    ALUMNI_COUNT_LIMIT = 1000

    # Retention (crm/retention): an alumnus with no placement end, contact, activity, appointment or
    # consent for this many years is anonymised when the rules are applied.
    RETENTION_INACTIVE_YEARS = 10

    # Mail (crm/mail): the SMTP server the outbox worker sends through (`smtp://user:pass@host:587`,
    # STARTTLS when offered; `smtps://host:465`, TLS first), the sender, and where links point.
    SMTP_URL = None
    SMTP_CA_FILE = None  # CA certificates the SMTP server's TLS certificate is checked against (default: the system's)
    MAIL_FROM = "Furusato CRM <noreply@furusato.invalid>"
    BASE_URL = "http://127.0.0.1:5000"
    # Return paths are bounce+<token>@BOUNCE_DOMAIN (default: MAIL_FROM's domain).
    BOUNCE_DOMAIN = None
    # Messages one worker sends in any minute (0: no limit); a claimed message's lease; how many a
    # worker claims at once; tries of a temporarily refused (4xx) message, the first retry after
    # MAIL_RETRY_SECONDS, doubling each time (at most 6 hours).
    MAIL_PER_MINUTE = 600
    MAIL_LEASE_SECONDS = 300
    MAIL_CLAIM_SIZE = 50
    MAIL_MAX_ATTEMPTS = 8
    MAIL_RETRY_SECONDS = 60
    # DKIM signing, when all three are set: the private key (PEM), the selector and the domain (d=).
    DKIM_KEY_FILE = None
    DKIM_SELECTOR = None
    DKIM_DOMAIN = None


def load(config) -> None:
    """Fill a Flask config from the defaults, `instance/config.py` and the environment, in that order."""
    config.from_object(Defaults)
    config.from_pyfile("config.py", silent=True)
    config.update(from_environment())


def from_environment(environ=os.environ) -> dict:
    """The `CRM_*` variables that are set, under their Flask config names and types."""
    settings = {}
    for variable, key in ENVIRONMENT_KEYS.items():
        if variable not in environ:
            continue
        value = environ[variable]
        if key in BOOLEAN_KEYS:
            value = value.strip().lower() in {"1", "true", "yes", "on"}
        elif key in INTEGER_KEYS:
            value = int(value)
        settings[key] = value
    return settings
