"""Hometown ambassadors, alumni activities (the return) and each prefecture's JET investment."""
from flask import Blueprint

bp = Blueprint("ambassadors", __name__)
