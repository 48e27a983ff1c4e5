"""The home dashboard, different for each role."""
from flask import Blueprint

bp = Blueprint("home", __name__)

from crm.home import views  # noqa: E402,F401  (registers the routes)
