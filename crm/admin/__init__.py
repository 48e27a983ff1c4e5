"""Administration: user accounts and the audit trail."""
from flask import Blueprint

bp = Blueprint("admin", __name__)
