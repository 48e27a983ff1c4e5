"""Differencing attack on everything a ministry reviewer can reach.

The test plays the reviewer: it downloads every return report (CSV, every prefecture with data, every
position and country filter the UI offers for them, every 年度 of the data) and the national
dashboard (page, htmx partial and CSV), keeps every figure it is shown, and writes down what a
reader knows about how those figures relate:

- each national total is the sum of the 47 prefectures;
- a cohort split by position or by country of residence adds up to the unfiltered figure (true in
  this fixture: one placement and one country per alumnus);
- activity figures by kind add up to the prefecture's figure, return = economic value + funds;
- the countries of residence add up to alumni tracked;
- reachable and engaged are at most tracked; tracked, reachable and tracked − reachable never fall
  from one 年度 to the next (the cohort is cumulative).

Then, for every hidden figure, it asks a linear program for its least and greatest value over all
non-negative values consistent with what was published (scipy's HiGHS), once with no other
knowledge and once with what the markers say ("<10": 1–9; "X" for a count: withheld to protect
another figure, so 10 or more; "X" for a sum: 0 or more). A hidden figure whose interval holds one
integer only is revealed. The LP relaxation is the reader's best linear bound; integers inside it
may still be excluded by an integer argument, so this is a necessary check, not a proof (the proof
is in crm.disclosure).
"""
from __future__ import annotations

import csv
import io
import math
import re
from collections import defaultdict
from datetime import date

import pytest
from scipy.optimize import linprog

from crm.auth.models import Role
from tests.conftest import TOTTORI

HOKKAIDO, AOMORI = 1, 2
PREFECTURES = (HOKKAIDO, AOMORI, TOTTORI)
YEARS = (2023, 2024, 2025)  # chosen 年度; the trend reaches back to 2019
POSITIONS = ("alt", "cir", "sea")
COUNTRIES = ("US", "GB", "NZ")
LABELS = {
    "Alumni tracked": "tracked", "Reachable (with consent)": "reachable", "Engaged this year": "engaged",
    "Active ambassadors": "ambassadors", "Verified activities": "activities", "Economic value (yen)": "economic_value",
    "Funds raised (yen)": "funds_raised", "People reached": "people_reached", "Visitors brought": "visitors",
    "Media items": "media_items", "JET participants hosted": "participants", "Investment (yen)": "investment_yen",
    "Return (yen)": "return_yen", "Return as a percentage of investment": "return_ratio",
    # Quotients of shown figures (hidden with any hidden part): harvested so that they are checked too.
    "Economic value per JET participant (yen)": "economic_value_per_participant",
    "Return per JET participant (yen)": "return_per_participant",
}
COUNTS = {"tracked", "reachable", "engaged", "ambassadors", "participants", "residence"}
SUMS = ("activities", "economic_value", "funds_raised", "people_reached", "visitors", "media_items")
ADDITIVE = ("tracked", "reachable", "engaged", "ambassadors", *SUMS)
NATIONAL = 0  # the "prefecture" of national totals


@pytest.fixture
def ministry_data(make_alumnus, make_activity, make_contact, make_ambassador, make_investment):
    """Three prefectures with small groups by position, country, kind and 年度 (the issue's shapes:
    18 tracked = 15 ALT + 3 CIR + 0 SEA in Hokkaido; money of a few CIRs in Aomori)."""
    people = defaultdict(list)
    plan = {
        HOKKAIDO: [("alt", "US", 2019, True)] * 8 + [("alt", "GB", 2020, False)] * 7 + [("cir", "NZ", 2021, True)] * 3,
        AOMORI: [("alt", "US", 2019, True)] * 11 + [("alt", "GB", 2022, True)] * 2 + [("cir", "GB", 2020, False)] * 4
        + [("sea", "NZ", 2023, True)] * 1,
        TOTTORI: [("alt", "US", 2019, True)] * 12 + [("cir", "US", 2021, False)] * 5 + [("alt", "NZ", 2024, True)] * 2,
    }
    for prefecture, rows in plan.items():
        for number, (position, country, start, consent) in enumerate(rows):
            people[prefecture, position].append(make_alumnus(
                prefecture, family=f"P{prefecture}x{number}", position=position, residence_country=country,
                start_year=start, contact_consent=consent))
    for year in (2023, 2024, 2025):
        for index, alumnus in enumerate(people[AOMORI, "alt"][:10]):
            make_activity(alumnus, AOMORI, on=date(year, 6, 1 + index), kind="tourism", economic_value_yen=770_000,
                          economic_value_basis="x", people_reached=20)
        for index, alumnus in enumerate(people[AOMORI, "cir"][:3]):
            make_activity(alumnus, AOMORI, on=date(year, 7, 1 + index), kind="business", economic_value_yen=1_000_000,
                          economic_value_basis="x", funds_raised_yen=50_000)
        for index, alumnus in enumerate(people[TOTTORI, "alt"][:11]):
            make_activity(alumnus, TOTTORI, on=date(year, 8, 1 + index), kind="teaching", people_reached=30 + index)
        make_activity(people[TOTTORI, "cir"][0], TOTTORI, on=date(year, 9, 1), kind="article", media_items=2)
        make_activity(people[HOKKAIDO, "cir"][0], HOKKAIDO, on=date(year, 9, 1), kind="tourism", visitors_brought=40,
                      economic_value_yen=300_000, economic_value_basis="x")
        for alumnus in people[HOKKAIDO, "alt"][:12]:
            make_contact(alumnus, HOKKAIDO, contacted_on=date(year, 5, 1))
        make_contact(people[TOTTORI, "cir"][1], TOTTORI, contacted_on=date(year, 5, 2))
    make_ambassador(people[TOTTORI, "alt"][0], TOTTORI, start=date(2023, 4, 1))
    make_investment(AOMORI, 2024, alt_count=4, cir_count=1)
    make_investment(TOTTORI, 2025, alt_count=20, cir_count=2)


def _value(text):
    text = (text or "").strip().replace(",", "").replace("¥", "")
    if text in ("", "—"):
        return None
    if text in ("<10", "X"):
        return text
    return float(text)


class Harvest:
    """Every figure seen, keyed (filter, prefecture, 年度, indicator, detail), with its markers."""

    def __init__(self):
        self.seen = {}

    def add(self, key, text):
        value = _value(text)
        if value is None:
            return
        old = self.seen.get(key)
        if isinstance(old, float) and isinstance(value, float):
            assert old == value, f"{key} published as {old} and {value}"
        if old is None or isinstance(value, float):
            self.seen[key] = value

    def csv_rows(self, response):
        assert response.status_code in (200, 403, 422), response.status_code
        if response.status_code != 200:
            return []
        return list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))[1:]

    def prefecture_export(self, client, prefecture, year, filter_key, query):
        with client.get(f"/reports/return/{prefecture}/export?format=csv&year={year}{query}") as response:
            for _name, label, indicator, value in self.csv_rows(response):
                if not re.search(r"\d{4}", label):
                    continue  # the legend
                fy = int(re.search(r"\d{4}", label).group(0))
                if indicator.startswith("Alumni living in "):
                    self.add((filter_key, prefecture, fy, "residence", indicator.removeprefix("Alumni living in ")), value)
                elif " · " in indicator:
                    kind, name = indicator.split(" · ")
                    self.add((filter_key, prefecture, fy, LABELS[name], kind), value)
                elif indicator in LABELS:
                    self.add((filter_key, prefecture, fy, LABELS[indicator], None), value)

    def national_export(self, client, year, filter_key, query):
        with client.get(f"/reports/national/export?format=csv&year={year}{query}") as response:
            rows = self.csv_rows(response)
            header = None
            if rows:
                header = next(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
            for row in rows:
                if not re.search(r"\d{4}", row[2]):
                    continue  # the legend
                code = int(row[0]) if row[0] else NATIONAL
                for name, value in zip(header[3:], row[3:]):
                    self.add((filter_key, code, year, LABELS[name], None), value)

    def national_page(self, client, year, filter_key, query, htmx):
        url = f"/reports/national?year={year}{query}"
        response = client.htmx_get(url) if htmx else client.get(url)
        assert response.status_code in (200, 403, 422)
        if response.status_code != 200:
            return
        html = response.get_data(as_text=True)
        trend = re.search(r'id="national-trend".*?</table>', html, re.S).group(0)
        years = [int(y) for y in re.findall(r'<th scope="col">\D*(\d{4})', trend)]
        for label, cells in re.findall(r'<tr><th scope="row">([^<]+)</th>(.*?)</tr>', trend, re.S):
            for fy, cell in zip(years, re.findall(r'<td class="number">(.*?)</td>', cells, re.S)):
                self.add((filter_key, NATIONAL, fy, LABELS[label.strip()], None), _unescape(cell))


def _unescape(cell):
    return re.sub(r"<[^>]+>", "", cell).replace("&lt;", "<").strip()


def harvest(client) -> Harvest:
    seen = Harvest()
    filters = [(None, "")] + [(("position", p), f"&position={p}") for p in POSITIONS] \
        + [(("country", c), f"&country={c}") for c in COUNTRIES]
    for filter_key, query in filters:
        for year in YEARS:
            for prefecture in PREFECTURES:
                seen.prefecture_export(client, prefecture, year, filter_key, query)
        for year in range(YEARS[0] - 4, YEARS[-1] + 1):
            seen.national_export(client, year, filter_key, query)
        seen.national_page(client, YEARS[-1], filter_key, query, htmx=False)
        seen.national_page(client, YEARS[-1], filter_key, query, htmx=True)
    return seen.seen


def relations(seen):
    """(equalities, inequalities) as lists of {key: coefficient}: sum(coef * value) == 0 / <= 0."""
    equal, at_most = [], []
    keys_by = defaultdict(set)
    for key in seen:
        keys_by[key[0], key[2], key[3]].add(key)
    filters = {key[0] for key in seen}
    years = sorted({key[2] for key in seen})

    def get(*key):
        return key if key in seen else None

    def add_sum(total, parts):
        if total is not None and parts and None not in parts:
            relation = defaultdict(float)
            relation[total] -= 1
            for part in parts:
                relation[part] += 1
            equal.append(relation)

    for f in filters:
        for year in years:
            for indicator in ADDITIVE:
                add_sum(get(f, NATIONAL, year, indicator, None),
                        [get(f, p, year, indicator, None) for p in range(1, 48)])
            for prefecture in PREFECTURES:
                for indicator in SUMS:
                    kinds = [key for key in keys_by[f, year, indicator] if key[1] == prefecture and key[4] is not None]
                    add_sum(get(f, prefecture, year, indicator, None), kinds)
                add_sum(get(f, prefecture, year, "return_yen", None),
                        [get(f, prefecture, year, "economic_value", None), get(f, prefecture, year, "funds_raised", None)])
                countries = [key for key in keys_by[f, year, "residence"] if key[1] == prefecture]
                add_sum(get(f, prefecture, year, "tracked", None), countries)
    for prefecture in (NATIONAL, *range(1, 48)):
        for year in years:
            for indicator in (*ADDITIVE, "return_yen"):
                total = get(None, prefecture, year, indicator, None)
                for dimension, values in (("position", POSITIONS), ("country", COUNTRIES)):
                    add_sum(total, [get((dimension, v), prefecture, year, indicator, None) for v in values])
    for f in filters:
        for prefecture in (NATIONAL, *range(1, 48)):
            for year in years:
                tracked, reachable = get(f, prefecture, year, "tracked", None), get(f, prefecture, year, "reachable", None)
                engaged = get(f, prefecture, year, "engaged", None)
                for part in (reachable, engaged):
                    if tracked and part:
                        at_most.append({part: 1.0, tracked: -1.0})
                later_t, later_r = get(f, prefecture, year + 1, "tracked", None), get(f, prefecture, year + 1, "reachable", None)
                for now, later in ((tracked, later_t), (reachable, later_r)):
                    if now and later:
                        at_most.append({now: 1.0, later: -1.0})
                if tracked and reachable and later_t and later_r:  # tracked − reachable grows too
                    at_most.append({tracked: 1.0, reachable: -1.0, later_t: -1.0, later_r: 1.0})
    return equal, at_most


def bounds_of(key, marker, strong):
    if not strong:
        return (0, None)
    if marker == "<10":
        return (1, 9)
    return (10, None) if key[3] in COUNTS else (1 if key[3] == "activities" else 0, None)


def pinned_cells(seen, strong):
    """Hidden figures whose LP interval holds one integer only, as [(key, value)]. Each group of
    figures linked by relations is solved on its own (a smaller LP, same bounds)."""
    hidden = sorted((key for key, value in seen.items() if isinstance(value, str)), key=repr)
    equal, at_most = relations(seen)
    parent = {key: key for key in hidden}

    def find(key):
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    for relation in (*equal, *at_most):
        unknown = [key for key in relation if key in parent]
        for key in unknown[1:]:
            parent[find(key)] = find(unknown[0])
    groups = defaultdict(list)
    for key in hidden:
        groups[find(key)].append(key)
    pinned = []
    for group in groups.values():
        pinned += _pinned_in(group, seen, [r for r in equal if any(k in group for k in r)],
                             [r for r in at_most if any(k in group for k in r)], strong)
    for relation in (*equal, *at_most):
        if not any(key in parent for key in relation):
            constant = sum(coefficient * seen[key] for key, coefficient in relation.items())
            assert (constant <= 1e-6 if relation in at_most else abs(constant) < 1e-6), \
                f"the published figures disagree: {[(key, seen[key]) for key in relation]}"
    return pinned


def _pinned_in(hidden, seen, equal, at_most, strong):
    index = {key: i for i, key in enumerate(hidden)}

    def rows(relations_):
        matrix, rhs = [], []
        for relation in relations_:
            row, constant = [0.0] * len(hidden), 0.0
            for key, coefficient in relation.items():
                if key in index:
                    row[index[key]] += coefficient
                else:
                    constant += coefficient * seen[key]
            matrix.append(row)
            rhs.append(-constant)
        return matrix or None, rhs or None

    a_eq, b_eq = rows(equal)
    a_ub, b_ub = rows(at_most)
    bounds = [bounds_of(key, seen[key], strong) for key in hidden]
    pinned = []
    for key, i in index.items():
        ends = []
        for sign in (1, -1):
            objective = [0.0] * len(hidden)
            objective[i] = sign
            result = linprog(objective, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
            assert result.status in (0, 3), f"the published figures allow no values at all ({key}): {result.message}"
            ends.append(math.inf if result.status == 3 else sign * result.fun)
        low, high = ends
        if high != math.inf and math.floor(high + 1e-6) <= math.ceil(low - 1e-6):
            pinned.append((key, low))
    return pinned


def test_no_hidden_figure_the_ministry_reaches_is_pinned_by_differencing(ministry_data, signed_in):
    seen = harvest(signed_in(Role.MINISTRY_REVIEWER))
    hidden = [key for key, value in seen.items() if isinstance(value, str)]
    assert len(hidden) >= 10, "the fixture hides figures"
    assert any(key[3] in ("economic_value", "funds_raised") for key in hidden), "money is hidden too"
    assert pinned_cells(seen, strong=False) == []
    assert pinned_cells(seen, strong=True) == []



def _overview_figures(html: str) -> dict:
    """Participants by kind from the ministry's association overview: {(kind, column): text}."""
    table = re.search(r'id="programs-by-kind".*?</table>', html, re.S).group(0)
    seen = {}
    for kind, cells in re.findall(r"<tr><td>([^<]+)</td>(.*?)</tr>", table, re.S):
        values = [_unescape(cell) for cell in re.findall(r'<td class="number">(.*?)</td>', cells, re.S)]
        for column, text in zip(("programs", "japanese", "foreign", "total"), values):
            seen[kind, column] = _value(text)
    return seen


@pytest.mark.parametrize("japanese, foreign", [(9, 9), (5, 13), (1, 10), (8, 2)])
def test_no_participant_count_of_the_association_overview_is_pinned(make_association, make_program, signed_in,
                                                                     japanese, foreign):
    """The issue's row: two hidden counts whose published total is 18 were both 9. With what the
    markers say ("<10": 1–9, "X": 10 or more), each hidden count keeps at least two values."""
    from crm.associations.models import AssociationKind, ProgramStatus

    association = make_association(TOTTORI, "鳥取県国際交流財団", kind=AssociationKind.PREFECTURAL)
    make_program(association, title="講座", day=date(2025, 6, 1), status=ProgramStatus.HELD, kind="international_understanding",
                 participants_japanese=japanese, participants_foreign=foreign)
    make_program(association, title="祭り", day=date(2025, 7, 1), status=ProgramStatus.HELD,
                 participants_japanese=300, participants_foreign=120)
    seen = _overview_figures(signed_in(Role.MINISTRY_REVIEWER).get("/associations/overview?fy=2025").text)
    hidden = [key for key, value in seen.items() if isinstance(value, str)]
    assert hidden, "small counts are hidden"
    known = {key: value for key, value in seen.items() if not isinstance(value, str)}
    kinds = {kind for kind, _column in seen}
    equal = [{(kind, "japanese"): 1.0, (kind, "foreign"): 1.0, (kind, "total"): -1.0} for kind in kinds]
    for key in hidden:
        others = [k for k in hidden if k != key]
        bounds = [(1, 9) if seen[k] == "<10" else (10, None) for k in [key, *others]]
        keys = [key, *others]
        a_eq, b_eq = [], []
        for relation in equal:
            a_eq.append([relation.get(k, 0.0) for k in keys])
            b_eq.append(-sum(c * known[k] for k, c in relation.items() if k in known))
        ends = []
        for sign in (1, -1):
            result = linprog([sign] + [0.0] * len(others), A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
            assert result.status in (0, 3), result.message
            ends.append(math.inf if result.status == 3 else sign * result.fun)
        assert ends[1] == math.inf or math.floor(ends[1] + 1e-6) > math.ceil(ends[0] - 1e-6), f"{key} pinned to {ends[0]}"
