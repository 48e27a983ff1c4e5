"""Accounts, roles, login and sessions."""
from flask import Blueprint

bp = Blueprint("auth", __name__)

from crm.auth import views  # noqa: E402,F401  (registers the routes)
