"""Hometown ambassadors, alumni activities (the return) and each prefecture's JET investment."""
from flask import Blueprint

bp = Blueprint("ambassadors", __name__)

from crm.ambassadors import views  # noqa: E402,F401  (registers the routes)
