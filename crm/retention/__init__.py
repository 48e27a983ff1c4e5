"""Retention: which alumni records have been kept long enough, and their anonymisation."""
from flask import Blueprint

bp = Blueprint("retention", __name__)
