"""Aggregates: the Local Return on JET-vestment report and the national dashboard, under the
statistical disclosure control ("<10") of `crm.disclosure` for everything a ministry reviewer sees.

The routes are loaded by `crm.reports.views`, which the app factory imports when it registers this
blueprint.
"""
from flask import Blueprint

bp = Blueprint("reports", __name__)


@bp.app_context_processor
def _definitions():
    """Every template (the association annual report too) reads the figures' definitions from one module."""
    from crm.reports import charts, definitions

    return {"definitions": definitions, "tile_label": charts.tile_label}
