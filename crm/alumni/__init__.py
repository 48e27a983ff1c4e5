"""JET alumni: the registry, placements, each prefecture's contact log, follow-ups and alumni networks."""
from flask import Blueprint

bp = Blueprint("alumni", __name__)
