"""One protected publication per 年度 for everyone under disclosure control (the ministry, and staff
looking beyond their own prefecture).

Every figure such a reader can reach — a prefecture's return report and its trend, the national
dashboard, its map, its trend and both exports — is read from here, so a figure is the same
(shown or hidden) wherever it appears and the relations between figures are the ones protected
below. Sub-group filters (position, country of residence) are not offered to these readers
(crm.access.may_filter_report), so no other partition exists.

The base cross-classification of one 年度, each protected with crm.reports.disclosure.suppress_table
(every hidden figure lies on a cycle of hidden figures that can move within what a reader knows,
also without the row of any one prefecture, whose staff know their own figures):

- cohort: prefecture × (reachable, not reachable), with tracked as row totals and national totals;
  what the neighbouring 年度 say (tracked, reachable and not reachable never fall, engaged is at
  most tracked) bounds each hidden count;
- engaged, and active ambassadors: prefecture, with the national total;
- each activity sum (activities, yen, people reached, visitors, media items): prefecture × kind,
  with the prefecture's total and the national total; a figure is sensitive when 1–9 alumni
  contributed;
- alumni by country of residence for one prefecture, adding up to tracked.

Pure functions of the figures (no Flask, no database); the result of one set of figures is kept
in memory, since the protection of 47 prefectures takes a noticeable fraction of a second.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from crm.ambassadors.models import ActivityKind
from crm.reports.disclosure import (
    THRESHOLD, Reason, Suppressed, percent, suppress_count, suppress_table,
)

HIDDEN = Suppressed(Reason.DERIVED)
PREFECTURES = range(1, 48)
NATIONAL = 0
ACTIVITY_SUMS = ("activities", "economic_value", "funds_raised", "people_reached", "visitors", "media_items")
_INF = float("inf")
_CACHE: OrderedDict = OrderedDict()
_CACHE_SIZE = 32


@dataclass(frozen=True)
class ProtectedYear:
    """One 年度 as every reader under disclosure control sees it."""

    rows: dict  # prefecture → {indicator: published value}
    totals: dict  # the national figures
    kinds: dict  # prefecture → {"rows": {kind: {sum: value}}, "totals": {sum: value}}


def _small(n: int) -> bool:
    return 0 < n < THRESHOLD


def _after(previous: int | None) -> float:
    """What a reader can tell a cumulative count is at least, from the 年度 before: its value when it
    may be shown, 1 when it is a hidden 1–9 (nothing when unknown)."""
    if previous is None:
        return 0
    return 1 if _small(previous) else previous


def _before(following: int | None) -> float:
    """What a reader can tell a cumulative count is at most, from the 年度 after."""
    if following is None:
        return _INF
    return THRESHOLD - 1 if _small(following) else following


def _cumulative(previous, current, following):
    """Bounds on a cumulative count from the 年度 around it. A neighbour with the same value gives
    none: nothing changed in between, so both years' tables are the same and a hidden count moves
    in both together (the same cycle protects it in each)."""
    return (0 if previous == current else _after(previous), _INF if following == current else _before(following))


def _sum_figures(items: list) -> dict:
    keys = ("tracked", "reachable", "engaged", "ambassadors", "activity_alumni", *ACTIVITY_SUMS)
    total = {key: sum(getattr(item, key) for item in items) for key in keys}
    investments = [item.investment_yen for item in items if item.investment_yen is not None]
    total["investment_yen"] = sum(investments) if investments else None
    kinds = {}
    for item in items:
        for kind, values in item.by_kind.items():
            into = kinds.setdefault(kind, dict.fromkeys(values, 0))
            for key, value in values.items():
                into[key] = into.get(key, 0) + value
    total["by_kind"] = kinds
    return total


def _value(figures: dict, key: str, prefecture: int, year: int):
    item = figures.get(prefecture, {}).get(year)
    if item is None:
        return None
    return item[key] if isinstance(item, dict) else getattr(item, key)


def protect_years(data: dict, years: list[int]) -> dict[int, ProtectedYear]:
    """{年度: ProtectedYear} for *years*; *data* is {prefecture: {年度: YearFigures}} for all 47 and
    the 年度 before and after each (crm.reports.returns.figures)."""
    result = {}
    for year in years:
        span = (year - 1, year, year + 1)
        # A 年度's publication depends on its figures and its neighbours' only: kept per 年度.
        fingerprint = (year, tuple((p, y, _key(data[p][y])) for p in sorted(data) for y in span if y in data[p]))
        if fingerprint not in _CACHE:
            window = {p: {y: data[p][y] for y in span if y in data[p]} for p in PREFECTURES}
            national = {y: _sum_figures([window[p][y] for p in PREFECTURES]) for y in span if y in window[1]}
            _CACHE[fingerprint] = _protect_year({**window, NATIONAL: national}, year)
            if len(_CACHE) > _CACHE_SIZE:
                _CACHE.popitem(last=False)
        _CACHE.move_to_end(fingerprint)
        result[year] = _CACHE[fingerprint]
    return result


def _key(item) -> tuple:
    """Everything of one prefecture's 年度 the publication reads, as a hashable tuple."""
    return (item.tracked, item.reachable, item.engaged, item.ambassadors, item.activity_alumni,
            *(getattr(item, key) for key in ACTIVITY_SUMS), item.participants, item.investment_yen,
            tuple(sorted((kind.value, tuple(sorted(values.items()))) for kind, values in item.by_kind.items())))


def _protect_year(figures: dict, year: int) -> ProtectedYear:
    get = lambda key, p, y=year: _value(figures, key, p, y)  # noqa: E731
    insiders = list(PREFECTURES)

    # Cohort: reachable and not reachable add up to tracked; national totals.
    cohort_rows, bounds = {}, {}
    for p in (*PREFECTURES, NATIONAL):
        tracked, reachable = get("tracked", p), get("reachable", p)
        unreachable = {y: None if get("tracked", p, y) is None else get("tracked", p, y) - get("reachable", p, y)
                       for y in (year - 1, year + 1)}
        r_pos, u_pos, t_pos = ((("col", "reachable"), ("col", "unreachable"), ("grand",)) if p == NATIONAL else
                               (("cell", p, "reachable"), ("cell", p, "unreachable"), ("row", p)))
        bounds[r_pos] = _cumulative(get("reachable", p, year - 1), reachable, get("reachable", p, year + 1))
        bounds[u_pos] = _cumulative(unreachable[year - 1], tracked - reachable, unreachable[year + 1])
        low, high = _cumulative(get("tracked", p, year - 1), tracked, get("tracked", p, year + 1))
        bounds[t_pos] = (max(low, get("engaged", p)), high)  # engaged is at most tracked
        if p != NATIONAL:
            cohort_rows[p] = {"reachable": reachable, "unreachable": tracked - reachable}
    cohort = suppress_table(cohort_rows, columns=["reachable", "unreachable"], bounds=bounds, insiders=insiders)

    def column(key: str, upper=None):
        table = suppress_table(
            {p: {key: get(key, p)} for p in PREFECTURES}, row_totals=False, grand_total=False, columns=[key],
            bounds={**{("cell", p, key): (0, upper(p)) for p in PREFECTURES}, ("col", key): (0, upper(NATIONAL))}
            if upper else None, insiders=insiders)
        return {p: table.cell(p, key) for p in PREFECTURES} | {NATIONAL: table.col_totals[key]}

    engaged = column("engaged", upper=lambda p: get("tracked", p))
    ambassadors = column("ambassadors")

    # Activity sums: prefecture × kind, each sensitive when 1–9 alumni contributed.
    kinds = list(ActivityKind)
    by_kind = {p: get("by_kind", p) or {} for p in PREFECTURES}
    people = {p: {kind: by_kind[p].get(kind, {}).get("alumni", 0) for kind in kinds} for p in PREFECTURES}
    sums = {key: _activity_sum(key, by_kind, people, {p: get("activity_alumni", p) for p in (*PREFECTURES, NATIONAL)}, kinds)
            for key in ACTIVITY_SUMS}

    def published(p: int) -> dict:
        national = p == NATIONAL
        values = {
            "tracked": cohort.grand_total if national else cohort.row_totals[p],
            "reachable": cohort.col_totals["reachable"] if national else cohort.cell(p, "reachable"),
            "engaged": engaged[p],
            "ambassadors": ambassadors[p],
        }
        for key in ACTIVITY_SUMS:
            values[key] = sums[key][0][p]
        money = (values["economic_value"], values["funds_raised"])
        hidden_return = any(isinstance(value, Suppressed) for value in money)
        values["return_yen"] = HIDDEN if hidden_return else sum(money)
        investment = get("investment_yen", p)
        values["investment_yen"] = investment
        values["return_ratio"] = None if not investment else (
            HIDDEN if hidden_return else round(values["return_yen"] / investment, 2))
        participants = None if national else get("participants", p)
        values["participants"] = None if participants is None else suppress_count(participants)
        values["reachable_percent"] = percent(values["reachable"], values["tracked"])
        values["engaged_percent"] = percent(values["engaged"], values["tracked"])
        return values

    def kind_table(p: int) -> dict:
        return {"rows": {kind: {key: sums[key][1][p][kind] for key in ACTIVITY_SUMS} for kind in kinds},
                "totals": {key: sums[key][0][p] for key in ACTIVITY_SUMS}}

    return ProtectedYear(rows={p: published(p) for p in PREFECTURES}, totals=published(NATIONAL),
                         kinds={p: kind_table(p) for p in PREFECTURES})


def _activity_sum(key: str, by_kind: dict, people: dict, alumni: dict, kinds: list) -> tuple[dict, dict]:
    """One activity sum ({prefecture or NATIONAL: total}, {prefecture: {kind: value}}). The table
    prefecture × kind has no published column totals, so it is protected as the 47 prefectures'
    totals with the national one (no figure of one prefecture relying on another's, whose staff
    know theirs), then each prefecture's kinds as parts of its total."""
    magnitude = 1 if key == "activities" else 0
    totals = {p: sum(by_kind[p].get(kind, {}).get(key, 0) for kind in kinds) for p in PREFECTURES}
    forced: list = []
    memo: dict = {}  # (prefecture, total hidden) → parts: a second round redoes only what changed
    while True:
        table = suppress_table({p: {"t": totals[p]} for p in PREFECTURES}, row_totals=False, grand_total=False,
                               columns=["t"], magnitude=magnitude, insiders=list(PREFECTURES), hide=forced,
                               sensitive={**{("cell", p, "t"): _small(alumni[p]) for p in PREFECTURES},
                                          ("col", "t"): _small(alumni[NATIONAL])})
        published = {p: table.cell(p, "t") for p in PREFECTURES} | {NATIONAL: table.col_totals["t"]}
        parts, more = {}, []
        for p in PREFECTURES:
            hidden = isinstance(published[p], Suppressed)
            if (p, hidden) not in memo:
                values = {kind: by_kind[p].get(kind, {}).get(key, 0) for kind in kinds}
                memo[p, hidden] = _parts(values, hidden, magnitude=magnitude,
                                         sensitive={kind: _small(people[p][kind]) for kind in kinds})
            parts[p], hide_total = memo[p, hidden]
            if hide_total:
                more.append(("cell", p, "t"))
        if not more:
            return published, parts
        forced += more


def _parts(values: dict, total_hidden: bool, *, magnitude: int | None = None, sensitive: dict | None = None,
           bounds: dict | None = None) -> tuple[dict, bool]:
    """The parts of a total that another table publishes or hides: (published parts, whether that
    total must be hidden too). Cycles among the parts keep the total fixed; when the total is
    hidden, one hidden part with room both ways moves with it (so the other table's cycles through
    the total stay possible)."""
    order = [key for key in values if values[key] or (sensitive or {}).get(key)]
    if not order:
        return dict.fromkeys(values, 0), False
    if not total_hidden and not any((sensitive or {}).get(key) for key in order) and magnitude is not None:
        return dict(values), False  # nothing to hide, nothing to move
    known = {("cell", key, "n"): bound for key, bound in (bounds or {}).items()}

    def room(key) -> bool:
        if magnitude is not None:
            return values[key] > magnitude
        return _moves(values[key], (bounds or {}).get(key, (0, _INF)))

    hide: list = []
    while True:
        table = suppress_table({key: {"n": values[key]} for key in order}, row_totals=False, grand_total=False,
                               columns=["n"], magnitude=magnitude, bounds=known, hide=hide,
                               sensitive={("cell", key, "n"): flag for key, flag in (sensitive or {}).items() if key in order}
                               | {("col", "n"): False})
        parts = dict.fromkeys(values, 0) | {key: table.cell(key, "n") for key in order}
        if not total_hidden:
            return parts, isinstance(table.col_totals["n"], Suppressed)
        if any(isinstance(parts[key], Suppressed) and room(key) for key in order):
            return parts, False
        candidates = [key for key in order if not isinstance(parts[key], Suppressed) and room(key)]
        if not candidates:
            return {key: (HIDDEN if key in order else 0) for key in values}, False  # fail closed
        hide.append(("cell", max(candidates, key=lambda key: (values[key], str(key))), "n"))


def protect_residence(by_year: dict[int, dict], year: int, tracked) -> tuple[dict, object]:
    """Alumni of one prefecture by country of residence in *year* ({code: count}, every country
    present, by code; "" for unknown) and their total, the published *tracked* of that year.

    No ranking and no "top n": an order or a cut would tell a reader more inequalities between
    hidden counts. Each country's count never falls from one 年度 to the next. When tracked is
    hidden, a hidden count is left free to move with it."""
    counts = {code: n for code, n in sorted(by_year.get(year, {}).items(), key=lambda pair: (pair[0] == "", pair[0])) if n}
    if not counts:
        return {}, tracked
    bounds = {code: _cumulative(by_year.get(year - 1, {}).get(code, 0) if year - 1 in by_year else None, counts[code],
                                by_year.get(year + 1, {}).get(code, 0) if year + 1 in by_year else None)
              for code in counts}
    values, hide_total = _parts(counts, isinstance(tracked, Suppressed), bounds=bounds)
    if hide_total:  # only when every other country is absent, i.e. tracked is itself a hidden 1–9
        return dict.fromkeys(counts, HIDDEN), tracked
    return values, tracked


def _moves(count: int, known: tuple[float, float]) -> bool:
    """Whether a hidden count has room both ways within its marker ("<10": 1–9, "X": 10 or more)
    and what is known from elsewhere."""
    low, high = (1, THRESHOLD - 1) if _small(count) else (THRESHOLD, _INF)
    return max(low, known[0]) < count < min(high, known[1])
