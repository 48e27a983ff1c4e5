"""The return report of one prefecture and the national dashboard with its tile map; CSV/XLSX export.

Who sees what is decided in crm.access (`report_prefecture`, `sees_full_report`); every figure shown
to anyone else has passed crm.disclosure.
"""
from __future__ import annotations

from functools import partial

from flask import abort, make_response, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l

from crm import access, htmx
from crm.charts import hbars, small_multiples
from crm.access import REPORT_ROLES, roles
from crm.alumni.models import Position
from crm.ambassadors.models import ActivityKind
from crm.disclosure import THRESHOLD, DisclosureError, FilterNotOffered, legend, sort_key
from crm.exporting import FORMATS, download
from crm.extensions import db
from crm.reference import fiscal_year
from crm.reference.countries import country_choices, country_name
from crm.reference.models import Prefecture
from crm.reports import bp, charts, definitions, indicator_value, returns

INDICATOR_LABELS = {
    "tracked": _l("Alumni tracked"),
    "reachable": _l("Reachable (with consent)"),
    "engaged": _l("Engaged this year"),
    "ambassadors": _l("Active ambassadors"),
    "activities": _l("Verified activities"),
    "economic_value": _l("Economic value (yen)"),
    "funds_raised": _l("Funds raised (yen)"),
    "people_reached": _l("People reached"),
    "visitors": _l("Visitors brought"),
    "media_items": _l("Media items"),
    "participants": _l("JET participants hosted"),
    "investment_yen": _l("Investment (yen)"),
    "return_yen": _l("Return (yen)"),
    "return_ratio": _l("Return as a percentage of investment"),
    "economic_value_per_participant": _l("Economic value per JET participant (yen)"),
    "return_per_participant": _l("Return per JET participant (yen)"),
}
# The national trend: the sums (per-participant figures need each prefecture's participants).
NATIONAL_TREND_KEYS = ("tracked", "reachable", "engaged", "ambassadors", "activities", "economic_value", "funds_raised",
                       "people_reached", "visitors", "investment_yen", "return_ratio")
# The indicators the five-year trend draws, one small chart each.
TREND_KEYS = ("tracked", "reachable", "engaged", "ambassadors", "activities", "economic_value", "funds_raised",
              "people_reached", "visitors", "investment_yen", "return_ratio", "return_per_participant")


def _filters():
    return returns.Filters.parse(request.args, returns.default_year())


def _filter_context(filters, prefecture_id: int | None = None) -> dict:
    return {"filters": filters, "positions": Position, "countries": country_choices(),
            "filterable": access.may_filter_report(prefecture_id), "marker_legend": legend(),
            "year_choices": list(range(returns.current_year(), returns.current_year() - 10, -1)), "labels": INDICATOR_LABELS,
            "kinds": ActivityKind, "filter_notes": definitions.filter_notes(filters), "trend_keys": TREND_KEYS}


def _trend_charts(data, keys=TREND_KEYS) -> list[dict]:
    return small_multiples(data["years"], data["trend"], keys, fiscal_year.label, text=indicator_value)


def _refusal(error: DisclosureError) -> str:
    if isinstance(error, FilterNotOffered):
        return _("Figures by position or country of residence are shown only to the prefecture's own staff: each filter "
                 "gives new totals, and subtracting them could reveal a hidden figure. Clear the filter to see the figures.")
    return _("This selection contains fewer than %(threshold)s people; its figures cannot be shown. Widen the filter.",
             threshold=THRESHOLD)


def _refused(page: str, fragment: str, error: DisclosureError, **context):
    return htmx.render(page, fragment, status=422, refused=_refusal(error), **context)


# --- One prefecture --------------------------------------------------------------------------------

@bp.get("/return/<int:prefecture_id>")
@roles(*REPORT_ROLES)
def prefecture_report(prefecture_id: int):
    prefecture = db.session.get(Prefecture, access.report_prefecture(prefecture_id))
    filters = _filters()
    context = {"prefecture": prefecture, **_filter_context(filters, prefecture.id)}
    try:
        data = returns.report(prefecture.id, filters, access.sees_full_report(prefecture.id))
    except DisclosureError as error:
        return _refused("reports/return.html", "reports/_return.html", error, report=None, **context)
    kind_chart = hbars({kind.label: row["activities"] for kind, row in data["kinds"]["rows"].items()},
                       text=partial(indicator_value, "activities"))
    return htmx.render("reports/return.html", "reports/_return.html", report=data, trend_charts=_trend_charts(data),
                       kind_chart=kind_chart, **context)


@bp.get("/return/<int:prefecture_id>/export")
@roles(*REPORT_ROLES)
def export_prefecture_report(prefecture_id: int):
    prefecture = db.session.get(Prefecture, access.report_prefecture(prefecture_id))
    filters, file_format = _filters(), _export_format()
    try:
        data = returns.report(prefecture.id, filters, access.sees_full_report(prefecture.id))
    except DisclosureError as error:
        return make_response(_refusal(error), 422)
    rows = []
    for year in data["years"]:
        for key, value in data["trend"][year].items():
            if key in INDICATOR_LABELS:
                rows.append([prefecture.name, fiscal_year.label(year), str(INDICATOR_LABELS[key]), _cell(value)])
    for kind, values in data["kinds"]["rows"].items():
        for key, value in values.items():
            rows.append([prefecture.name, fiscal_year.label(filters.fiscal_year), f"{kind.label} · {INDICATOR_LABELS[key]}", _cell(value)])
    for code, value in data["countries"]["residence"].items():
        name = _("Other countries") if code == returns.OTHER else country_name(code)
        rows.append([prefecture.name, fiscal_year.label(filters.fiscal_year), _("Alumni living in %(country)s", country=name), _cell(value)])
    if not data["full"]:
        rows += [["", "", line, ""] for line in legend()]
    name = f"local-return-{prefecture.id:02d}-FY{filters.fiscal_year}"
    return download(rows, [_("Prefecture"), _("Fiscal year"), _("Indicator"), _("Value")], file_format, name, record_type="report",
                    record_id=prefecture.id, row_count=len(rows), sheet_title="Local return", report="local_return",
                    fiscal_year=filters.fiscal_year)


# --- All prefectures -------------------------------------------------------------------------------

def _indicator() -> str:
    value = request.args.get("indicator", "economic_value")
    return value if value in returns.INDICATORS else "economic_value"


def _sorted_rows(data, prefectures):
    raw = request.args.get("sort", "code")
    key, descending = raw.lstrip("-"), raw.startswith("-")
    if key not in returns.INDICATORS:
        key, descending = "code", False
    ids = sorted(data["rows"], key=lambda p: (sort_key(data["rows"][p][key]), p) if key != "code" else (0, p), reverse=descending)
    return [(prefectures[p], data["rows"][p]) for p in ids], key, descending


def _map_context():
    """What the tile map needs: the 47 prefectures' published figures (from the precomputed store,
    suppressed as on the table) coloured by one indicator."""
    filters = _filters()
    prefectures = {p.id: p for p in db.session.scalars(db.select(Prefecture))}
    data = returns.national(filters)
    indicator = _indicator()
    # Each tile links to the prefecture's report where the user may open it (asked once per tile here,
    # not per tile and table row in the template).
    query = filters.query_args()
    tile_links = {p: url_for("reports.prefecture_report", prefecture_id=p, **query)
                  for p in prefectures if access.may_open_report(p)}
    return {"prefectures": prefectures, "indicator": indicator, "indicators": returns.INDICATORS, "data": data,
            "tile_links": tile_links,
            "tile_map": charts.tile_map({p: data["rows"][p][indicator] for p in data["rows"]}), **_filter_context(filters)}


def _dashboard_context():
    context = _map_context()
    data = context["data"]
    rows, sort, descending = _sorted_rows(data, context["prefectures"])
    context.update(rows=rows, sort=sort, descending=descending, national_trend_keys=NATIONAL_TREND_KEYS,
                   trend_charts=_trend_charts(data, NATIONAL_TREND_KEYS))
    return context


@bp.get("/national")
@roles(*REPORT_ROLES)
def national_dashboard():
    try:
        context = _dashboard_context()
    except DisclosureError as error:
        return _refused("reports/national.html", "reports/_national.html", error, data=None, **_filter_context(_filters()),
                        indicator=_indicator(), indicators=returns.INDICATORS)
    return htmx.render("reports/national.html", "reports/_national.html", **context)


@bp.get("/national/map")
@roles(*REPORT_ROLES)
def national_map():
    """The tile map alone, recoloured for another indicator (htmx); the whole dashboard otherwise."""
    try:
        context = _map_context() if htmx.is_htmx() else _dashboard_context()
    except DisclosureError as error:
        return _refused("reports/national.html", "reports/_refused.html", error, data=None, **_filter_context(_filters()),
                        indicator=_indicator(), indicators=returns.INDICATORS)
    return htmx.render("reports/national.html", "reports/_map.html", **context)


@bp.get("/national/export")
@roles(*REPORT_ROLES)
def export_national():
    file_format = _export_format()
    try:
        context = _dashboard_context()
    except DisclosureError as error:
        return make_response(_refusal(error), 422)
    data, label = context["data"], fiscal_year.label(context["filters"].fiscal_year)
    headers = [_("Code"), _("Prefecture"), _("Fiscal year")] + [str(INDICATOR_LABELS[key]) for key in returns.INDICATORS]
    rows = [[f"{p.id:02d}", p.name, label] + [_cell(row[key]) for key in returns.INDICATORS] for p, row in context["rows"]]
    rows.append(["", _("All prefectures"), label] + [_cell(data["totals"][key]) for key in returns.INDICATORS])
    rows += [["", line, ""] + [""] * len(returns.INDICATORS) for line in legend()]
    return download(rows, headers, file_format, f"local-return-national-FY{context['filters'].fiscal_year}", record_type="report",
                    row_count=len(rows), sheet_title="Local return", report="national", fiscal_year=context["filters"].fiscal_year)


# --- Downloads -------------------------------------------------------------------------------------

def _export_format() -> str:
    file_format = request.args.get("format", "csv")
    if file_format not in FORMATS:
        abort(404)
    return file_format


def _cell(value):
    """Hidden values are written as on screen ("<10" or "X"); empty for no data."""
    if value is None:
        return ""
    return value if isinstance(value, int | float) and not isinstance(value, bool) else str(value)

