"""One protected publication per 年度 for everyone under disclosure control (the ministry, and staff
looking beyond their own prefecture).

Every figure such a reader can reach — a prefecture's return report and its trend, the national
dashboard, its map, its trend and both exports — is read from here, so a figure is the same
(shown or hidden) wherever it appears and the relations between figures are the ones protected
below. Sub-group filters (position, country of residence) are not offered to these readers
(crm.access.may_filter_report), so no other partition exists.

The base cross-classification of one 年度, each protected with crm.disclosure.suppress_table
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

Pure functions of the figures (no Flask, no database). Protecting a 年度 takes a noticeable
fraction of a second, so its publication is stored in the database (crm.reports.precomputed,
`plain`) under the digest of this code (`METHOD`), and recomputed only when its figures change.
"""
from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from crm.ambassadors.models import ActivityKind
from crm import disclosure
from crm.disclosure import (
    THRESHOLD, Reason, Suppressed, percent, suppress_count, suppress_table,
)

HIDDEN = Suppressed(Reason.DERIVED)
PREFECTURES = range(1, 48)
NATIONAL = 0
ACTIVITY_SUMS = ("activities", "economic_value", "funds_raised", "people_reached", "visitors", "media_items")
_INF = float("inf")
# Which code protected a stored publication: a change of the method (here or in suppress_table)
# makes every stored one stale.
METHOD = hashlib.sha256(Path(disclosure.__file__).read_bytes() + Path(__file__).read_bytes()).hexdigest()[:32]


@dataclass(frozen=True)
class ProtectedYear:
    """One 年度 as every reader under disclosure control sees it."""

    rows: dict  # prefecture → {indicator: published value}
    totals: dict  # the national figures
    kinds: Mapping  # prefecture → {"rows": {kind: {sum: value}}, "totals": {sum: value}}
    digests: dict = field(default_factory=dict)  # part of the publication → digest of what it was protected from

    def row(self, p: int) -> dict:
        return self.totals if p == NATIONAL else self.rows[p]

    def kind_values(self, key: str) -> dict:
        """{prefecture: {kind code: published value}} of one activity sum."""
        if isinstance(self.kinds, _StoredKinds):
            return self.kinds.values_of(key)
        return {p: {kind.value: sums[key] for kind, sums in table["rows"].items()} for p, table in self.kinds.items()}

    def plain(self) -> dict:
        """JSON-able, for the database: a hidden value as {"hidden": its reason}."""
        return {"rows": {str(p): _plain(row) for p, row in self.rows.items()}, "totals": _plain(self.totals),
                "kinds": {str(p): {"rows": {kind.value: _plain(sums) for kind, sums in table["rows"].items()},
                                   "totals": _plain(table["totals"])} for p, table in self.kinds.items()},
                "digests": self.digests}

    @classmethod
    def from_plain(cls, values: dict) -> ProtectedYear:
        return cls(rows={int(p): _value_of(row) for p, row in values["rows"].items()}, totals=_value_of(values["totals"]),
                   kinds=_StoredKinds(values["kinds"]), digests=values.get("digests", {}))


class _StoredKinds(Mapping):
    """The kind tables of a stored publication, decoded when read: a report reads one prefecture's,
    the dashboard none."""

    def __init__(self, plain: dict):
        self._plain, self._decoded = plain, {}

    def __getitem__(self, p: int) -> dict:
        if p not in self._decoded:
            table = self._plain[str(p)]
            self._decoded[p] = {"rows": {ActivityKind(kind): _value_of(sums) for kind, sums in table["rows"].items()},
                                "totals": _value_of(table["totals"])}
        return self._decoded[p]

    def __iter__(self):
        return (int(p) for p in self._plain)

    def values_of(self, key: str) -> dict:
        """As ProtectedYear.kind_values, straight from the stored form (no table decoded)."""
        hidden = _HIDDEN_BY_REASON
        return {int(p): {code: hidden[sums[key]["hidden"]] if type(sums[key]) is dict else sums[key]
                         for code, sums in table["rows"].items()} for p, table in self._plain.items()}

    def __len__(self) -> int:
        return len(self._plain)


_HIDDEN_BY_REASON = {reason.value: Suppressed(reason) for reason in Reason}


def _plain(values: dict) -> dict:
    return {key: {"hidden": value.reason.value} if isinstance(value, Suppressed) else value for key, value in values.items()}


def _value_of(values: dict) -> dict:
    return {key: _HIDDEN_BY_REASON[value["hidden"]] if type(value) is dict else value for key, value in values.items()}


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


def protect_years(data: dict, years: list[int], previous: dict[int, ProtectedYear] | None = None) -> dict[int, ProtectedYear]:
    """{年度: ProtectedYear} for *years*; *data* is {prefecture: {年度: YearFigures}} for all 47 and
    the 年度 before and after each (crm.reports.returns.figures). A 年度's publication depends on its
    figures and its neighbours' only; each of its parts on some of them only: a part whose inputs are
    those of the *previous* publication of its 年度 (protected by this same code) is taken from it."""
    result, national = {}, {}
    for year in years:
        span = (year - 1, year, year + 1)
        window = {p: {y: data[p][y] for y in span if y in data[p]} for p in PREFECTURES}
        for y in span:
            if y in window[1] and y not in national:
                national[y] = _sum_figures([window[p][y] for p in PREFECTURES])
        result[year] = _protect_year({**window, NATIONAL: {y: national[y] for y in span if y in national}}, year,
                                     (previous or {}).get(year))
    return result


def _protect_year(figures: dict, year: int, previous: ProtectedYear | None = None) -> ProtectedYear:
    get = lambda key, p, y=year: _value(figures, key, p, y)  # noqa: E731
    insiders = list(PREFECTURES)
    digests: dict = {}

    def part(name: str, inputs: tuple, compute, reuse):
        """compute(*inputs), a pure function of them (with this code), or the previous publication's
        values of that part (reuse(previous)) when they were protected from the same inputs."""
        digests[name] = hashlib.sha256(repr(inputs).encode()).hexdigest()[:32]
        if previous is not None and previous.digests.get(name) == digests[name]:
            return reuse(previous)
        return compute(*inputs)

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

    def protect_cohort(rows: dict, bounds: dict) -> dict:
        table = suppress_table(rows, columns=["reachable", "unreachable"], bounds=bounds, insiders=insiders)
        return {p: {"tracked": table.row_totals[p], "reachable": table.cell(p, "reachable")} for p in PREFECTURES} | {
            NATIONAL: {"tracked": table.grand_total, "reachable": table.col_totals["reachable"]}}

    cohort = part("cohort", (cohort_rows, bounds), protect_cohort, lambda previous: {
        p: {key: previous.row(p)[key] for key in ("tracked", "reachable")} for p in (*PREFECTURES, NATIONAL)})

    def column(key: str, upper: dict | None = None):
        def protect(values: dict, upper: dict | None) -> dict:
            table = suppress_table(
                {p: {key: values[p]} for p in PREFECTURES}, row_totals=False, grand_total=False, columns=[key],
                bounds={**{("cell", p, key): (0, upper[p]) for p in PREFECTURES}, ("col", key): (0, upper[NATIONAL])}
                if upper else None, insiders=insiders)
            return {p: table.cell(p, key) for p in PREFECTURES} | {NATIONAL: table.col_totals[key]}

        return part(key, ({p: get(key, p) for p in PREFECTURES}, upper), protect,
                    lambda previous: {p: previous.row(p)[key] for p in (*PREFECTURES, NATIONAL)})

    engaged = column("engaged", upper={p: get("tracked", p) for p in (*PREFECTURES, NATIONAL)})
    ambassadors = column("ambassadors")

    # Activity sums: prefecture × kind, each sensitive when 1–9 alumni contributed. Kinds by their
    # code (a digest of the inputs reads them many times; an enum's repr is slow).
    kinds = list(ActivityKind)
    codes = [kind.value for kind in kinds]
    by_kind = {p: {kind.value: values for kind, values in (get("by_kind", p) or {}).items()} for p in PREFECTURES}
    people = {p: {code: by_kind[p].get(code, {}).get("alumni", 0) for code in codes} for p in PREFECTURES}
    alumni = {p: get("activity_alumni", p) for p in (*PREFECTURES, NATIONAL)}
    sums = {key: part(key, (key, {p: {code: by_kind[p].get(code, {}).get(key, 0) for code in codes} for p in PREFECTURES},
                            people, alumni, codes), _activity_sum,
                      lambda previous, key=key: ({p: previous.row(p)[key] for p in (*PREFECTURES, NATIONAL)},
                                                 previous.kind_values(key)))
            for key in ACTIVITY_SUMS}

    def published(p: int) -> dict:
        national = p == NATIONAL
        values = {
            "tracked": cohort[p]["tracked"],
            "reachable": cohort[p]["reachable"],
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
            HIDDEN if hidden_return else round(100 * values["return_yen"] / investment, 1))
        participants = None if national else get("participants", p)
        values["participants"] = None if participants is None else suppress_count(participants)
        values["reachable_percent"] = percent(values["reachable"], values["tracked"])
        values["engaged_percent"] = percent(values["engaged"], values["tracked"])
        return values

    def kind_table(p: int) -> dict:
        return {"rows": {kind: {key: sums[key][1][p][code] for key in ACTIVITY_SUMS} for kind, code in zip(kinds, codes)},
                "totals": {key: sums[key][0][p] for key in ACTIVITY_SUMS}}

    return ProtectedYear(rows={p: published(p) for p in PREFECTURES}, totals=published(NATIONAL),
                         kinds={p: kind_table(p) for p in PREFECTURES}, digests=digests)


def _activity_sum(key: str, by_kind: dict, people: dict, alumni: dict, kinds: list) -> tuple[dict, dict]:
    """One activity sum ({prefecture or NATIONAL: total}, {prefecture: {kind: value}}) from its
    values by prefecture and kind (*by_kind*: {prefecture: {kind: value}}). The table
    prefecture × kind has no published column totals, so it is protected as the 47 prefectures'
    totals with the national one (no figure of one prefecture relying on another's, whose staff
    know theirs), then each prefecture's kinds as parts of its total."""
    magnitude = 1 if key == "activities" else 0
    totals = {p: sum(by_kind[p][kind] for kind in kinds) for p in PREFECTURES}
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
                values = {kind: by_kind[p][kind] for kind in kinds}
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
