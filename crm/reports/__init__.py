"""Aggregates: the Local Return on JET-vestment report, the national dashboard, and statistical
disclosure control ("<10") for everything a ministry reviewer sees.

`crm.reports.disclosure` stays importable on its own (pure Python), so the routes are loaded by
`crm.reports.views`, which the app factory imports when it registers this blueprint.
"""
from flask import Blueprint

bp = Blueprint("reports", __name__)
