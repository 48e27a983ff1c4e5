"""Accounts, roles, login and sessions."""
from flask import Blueprint

bp = Blueprint("auth", __name__)
