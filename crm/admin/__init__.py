"""Administration: user accounts and the audit trail."""
from flask import Blueprint

bp = Blueprint("admin", __name__)

from crm.admin import views  # noqa: E402,F401  (registers the routes)
