"""APPI requests (開示・訂正・利用停止) a prefecture answers as a public body, the disclosure package,
and breach response read from the audit trail."""
from flask import Blueprint

bp = Blueprint("privacy", __name__)
