"""Aggregates: the Local Return on JET-vestment report and the national dashboard, under the
statistical disclosure control ("<10") of `crm.disclosure` for everything a ministry reviewer sees.

The routes are loaded by `crm.reports.views`, which the app factory imports when it registers this
blueprint.
"""
from flask import Blueprint

from crm import numbers

bp = Blueprint("reports", __name__)

# The indicators counted in yen; return_ratio is a percentage, every other indicator a count.
YEN_INDICATORS = frozenset({"economic_value", "funds_raised", "investment_yen", "return_yen", "economic_value_per_participant",
                            "return_per_participant"})

# A figure as the report tables show it (templates/reports/_macros.html names these `figure` and `value`).
bp.add_app_template_global(numbers.figure, "report_figure")


@bp.app_template_global("report_value")
def indicator_value(key: str, number, signed: bool = False):
    """One indicator's figure in its unit: yen, percent or a count."""
    return numbers.figure(number, key in YEN_INDICATORS, signed=signed, percent=key == "return_ratio")


@bp.app_context_processor
def _definitions():
    """Every template (the association annual report too) reads the figures' definitions from one module."""
    from crm.reports import charts, definitions

    return {"definitions": definitions, "tile_label": charts.tile_label}
