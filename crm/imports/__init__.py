"""Import and export: the wizard (upload → encoding and delimiter → column mapping → preview →
commit → report), background jobs, and streamed exports, for every registered target
(crm.imports.targets)."""
from flask import Blueprint

bp = Blueprint("imports", __name__)
