"""JET alumni: the registry, placements, each prefecture's contact log, follow-ups and alumni networks."""
from flask import Blueprint

bp = Blueprint("alumni", __name__)

from crm.alumni import views  # noqa: E402,F401  (registers the routes)
