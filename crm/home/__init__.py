"""The home dashboard, different for each role."""
from flask import Blueprint

bp = Blueprint("home", __name__)
