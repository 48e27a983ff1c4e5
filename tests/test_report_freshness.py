"""Precomputed report figures are exact: after any write that feeds them — through a form's ORM
operation, an import's Core inserts, a merge's bulk update or a database cascade — the next report
and dashboard show the new figure, while unchanged prefectures are served from the store."""
import csv
import io
from datetime import date

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import aliased

from crm.alumni import operations as alumni_operations
from crm.alumni.models import Alumnus, Position
from crm.ambassadors.models import Activity, ActivityStatus
from crm.auth.models import Role
from crm.extensions import db
from crm.reports import returns
from crm.reports.models import ReportFigures, ReportGeneration
from tests.conftest import HYOGO, TOTTORI
from tests.test_imports import GOOD_ROWS, csv_bytes, import_file

YEAR = 2024


def report_figures(client, year: int = YEAR, **filters) -> dict:
    """The full report's indicators of `year` as its own staff download them (raw figures)."""
    query = "&".join(f"{key}={value}" for key, value in {"year": year, **filters}.items())
    response = client.get(f"/reports/return/{TOTTORI}/export?{query}")
    assert response.status_code == 200
    rows = csv.reader(io.StringIO(response.text.lstrip("\ufeff")))
    return {row[2]: row[3] for row in rows if row and row[1].startswith(f"FY{year}")}


def national_row(client, prefecture: int = TOTTORI, year: int = YEAR) -> dict:
    response = client.get(f"/reports/national/export?year={year}")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.text.lstrip("\ufeff"))))
    return next(dict(zip(rows[0], row, strict=True)) for row in rows[1:] if row[0] == f"{prefecture:02d}")


def current(app, key: str = "position=;country=") -> set[tuple[int, int]]:
    """(prefecture, 年度) whose stored figures are current, i.e. would be served without computing."""
    every_year, this_year = aliased(ReportGeneration), aliased(ReportGeneration)
    with app.app_context():
        return {(prefecture, year) for prefecture, year in db.session.execute(
            select(ReportFigures.prefecture_id, ReportFigures.fiscal_year).where(ReportFigures.key == key)
            .outerjoin(every_year, (every_year.prefecture_id == ReportFigures.prefecture_id) & (every_year.fiscal_year == 0))
            .outerjoin(this_year, (this_year.prefecture_id == ReportFigures.prefecture_id) & (this_year.fiscal_year == ReportFigures.fiscal_year))
            .where(ReportFigures.generation == func.coalesce(every_year.generation, 0) + func.coalesce(this_year.generation, 0)))}


def generation(app, prefecture: int) -> int:
    with app.app_context():
        return db.session.scalar(select(func.sum(ReportGeneration.generation)).where(ReportGeneration.prefecture_id == prefecture)) or 0


@pytest.fixture
def tottori(make_alumnus, make_activity):
    """Three Tottori alumni (one with consent, placed 2015), one reported activity awaiting review."""
    ids = [make_alumnus(TOTTORI, family=f"Base{index}", contact_consent=index == 0, residence_country="GB") for index in range(3)]
    pending = make_activity(ids[1], on=date(2024, 9, 1), status="reported")
    return {"alumni": ids, "pending": pending}


def _with(app, action):
    with app.app_context():
        action()
        db.session.commit()


def _alumnus(alumnus_id: int) -> Alumnus:
    return db.session.get(Alumnus, alumnus_id)


def _set(alumnus_id: int, **fields):
    def action():
        for key, value in fields.items():
            setattr(_alumnus(alumnus_id), key, value)
    return action


# (what is written, the report indicator, how it changes, report filters); each write takes the
# app, the fixture's ids, the factories and a signed-in staff client.
WRITES = {
    "activity logged and verified": ("Verified activities", +1, {},
                                     lambda app, ids, f, client: f["activity"](ids["alumni"][0], on=date(2025, 3, 31))),
    "reported activity verified": ("Verified activities", +1, {}, lambda app, ids, f, client: _with(
        app, lambda: setattr(db.session.get(Activity, ids["pending"]), "status", ActivityStatus.VERIFIED))),
    "contact entry": ("Engaged this year", +1, {}, lambda app, ids, f, client: f["contact"](ids["alumni"][2], TOTTORI, contacted_on=date(2024, 4, 1))),
    "consent given": ("Reachable (with consent)", +1, {}, lambda app, ids, f, client: _with(app, _set(ids["alumni"][2], contact_consent=True))),
    "use ceased": ("Reachable (with consent)", -1, {}, lambda app, ids, f, client: _with(app, _set(ids["alumni"][0], cease_use=True))),
    "archived": ("Alumni tracked", -1, {}, lambda app, ids, f, client: _with(app, lambda: alumni_operations.archive([_alumnus(ids["alumni"][1])]))),
    "moved to another country": ("Alumni tracked", -1, {"country": "GB"},
                                 lambda app, ids, f, client: _with(app, _set(ids["alumni"][1], residence_country="FR"))),
    "ambassador appointed": ("Active ambassadors", +1, {}, lambda app, ids, f, client: f["ambassador"](ids["alumni"][0], start=date(2024, 4, 1))),
    "investment recorded": ("JET participants hosted", None, {}, lambda app, ids, f, client: f["investment"](TOTTORI, YEAR)),
    "Hyogo alumnus placed in Tottori": ("Alumni tracked", +1, {}, lambda app, ids, f, client: _with(app, lambda: alumni_operations.add_placement(
        _alumnus(f["alumnus"](HYOGO, family="Mover")), {"prefecture_id": TOTTORI, "position": Position.ALT, "start_year": 2020}))),
    "alumni imported (Core inserts)": ("Alumni tracked", +3, {}, lambda app, ids, f, client: import_file(client, app, csv_bytes(GOOD_ROWS))),
    "records merged (bulk update)": ("Alumni tracked", -1, {}, lambda app, ids, f, client: _with(
        app, lambda: alumni_operations.merge(_alumnus(ids["alumni"][0]), _alumnus(ids["alumni"][1])))),
    "alumnus deleted (database cascade)": ("Alumni tracked", -1, {}, lambda app, ids, f, client: _with(
        app, lambda: db.session.execute(delete(Alumnus).where(Alumnus.id == ids["alumni"][2])))),
}


@pytest.mark.parametrize("write", list(WRITES))
def test_the_report_after_a_write_shows_the_new_figure(app, signed_in, tottori, make_activity, make_contact, make_ambassador,
                                                       make_investment, make_alumnus, write):
    indicator, change, filters, action = WRITES[write]
    client = signed_in(Role.PREFECTURE_STAFF)
    before = report_figures(client, **filters)
    key = f"position=;country={filters.get('country', '')}"
    assert (TOTTORI, YEAR) in current(app, key)  # the next read would be served from the store…
    factories = {"activity": make_activity, "contact": make_contact, "ambassador": make_ambassador,
                 "investment": make_investment, "alumnus": make_alumnus}
    action(app, tottori, factories, client)
    assert (TOTTORI, YEAR) not in current(app, key)  # …until a write makes it stale
    after = report_figures(client, **filters)
    if change is None:
        assert before[indicator] == "" and after[indicator] != ""
    else:
        assert int(after[indicator]) == int(before[indicator]) + change
    assert (TOTTORI, YEAR) in current(app, key)


def test_the_national_dashboard_recomputes_only_the_prefecture_that_changed(app, signed_in, make_alumnus, make_activity):
    active = [make_alumnus(TOTTORI, family=f"Active{index}") for index in range(10)]
    for alumnus in active:
        make_activity(alumnus, on=date(2024, 6, 1))
    ministry = signed_in(Role.MINISTRY_REVIEWER)
    assert national_row(ministry)["Verified activities"] == "10"
    # The trend's 年度 and one on each side: they bound the hidden figures (crm.reports.protection).
    everything = {(p, year) for p in range(1, 48) for year in range(YEAR - 5, YEAR + 2)}
    assert current(app) == everything
    make_activity(active[0], on=date(2024, 7, 1))
    assert current(app) == everything - {(TOTTORI, YEAR)}  # an activity feeds one 年度 of one prefecture
    assert national_row(ministry)["Verified activities"] == "11"
    assert current(app) == everything
    _with(app, _set(active[0], contact_consent=True))
    assert current(app) == everything - {(TOTTORI, year) for year in range(YEAR - 5, YEAR + 2)}  # the cohort feeds every year


def test_the_dashboard_suppresses_stored_figures_like_live_ones(app, signed_in, make_alumnus):
    for index in range(3):
        make_alumnus(HYOGO, family=f"Few{index}")
    ministry = signed_in(Role.MINISTRY_REVIEWER)
    assert national_row(ministry, HYOGO)["Alumni tracked"] == "<10"
    assert national_row(ministry, HYOGO)["Alumni tracked"] == "<10"  # served from the store this time
    with app.app_context():
        raw = returns.figures([HYOGO], returns.Filters(YEAR), [YEAR])[HYOGO][YEAR]
    assert raw.tracked == 3


def test_editing_a_name_keeps_the_figures_but_consent_makes_them_stale(app, tottori):
    first = generation(app, TOTTORI)
    _with(app, _set(tottori["alumni"][0], family_name="Renamed", email="renamed@example.com"))
    assert generation(app, TOTTORI) == first
    _with(app, _set(tottori["alumni"][0], contact_consent=False))
    assert generation(app, TOTTORI) > first


def test_figures_computed_from_a_rolled_back_write_are_not_kept(app, signed_in, tottori):
    client = signed_in(Role.PREFECTURE_STAFF)
    assert report_figures(client)["Alumni tracked"] == "3"
    with app.app_context():
        alumni_operations.archive([_alumnus(tottori["alumni"][0])])
        db.session.flush()
        inside = returns.report(TOTTORI, returns.Filters(YEAR), full=True)
        assert inside["current"]["tracked"] == 2
        db.session.rollback()
    assert report_figures(client)["Alumni tracked"] == "3"


def test_countries_of_residence_follow_a_move(app, signed_in, tottori):
    client = signed_in(Role.PREFECTURE_STAFF)
    assert report_figures(client)["Alumni living in United Kingdom"] == "3"
    _with(app, _set(tottori["alumni"][0], residence_country="FR"))
    after = report_figures(client)
    assert (after["Alumni living in United Kingdom"], after["Alumni living in France"]) == ("2", "1")


def test_a_long_transaction_does_not_block_other_writers_of_its_prefecture(app, tottori):
    """PostgreSQL: changes are bumped at commit, so an import still running holds no generation row."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite has one writer at a time anyway")
        with db.engine.connect() as importing, db.engine.connect() as staff:
            importing.execute(update(Alumnus).where(Alumnus.id == tottori["alumni"][1]).values(contact_consent=True))
            staff.exec_driver_sql("SET lock_timeout = '2s'")
            staff.execute(update(Alumnus).where(Alumnus.id == tottori["alumni"][2]).values(contact_consent=True))
            staff.commit()
            importing.commit()
    assert generation(app, TOTTORI) >= 2


ALL_YEARS = tuple(range(YEAR - 4, YEAR + 1))  # the report's trend
ACTIVITY_OF_THE_YEAR = {("activity", (TOTTORI,), (YEAR,)), ("activity countries", (TOTTORI,), (YEAR,))}
COHORT = {("cohort", (TOTTORI,), ALL_YEARS)}
MEMBERSHIP = COHORT | {("activity", (TOTTORI,), ALL_YEARS), ("activity countries", (TOTTORI,), (YEAR,)),
                       ("residence countries", (TOTTORI,), (YEAR,))}
# What the next report computes after each write of WRITES: a 年度's contacts, activities and
# investment feed that year's activity part only; consent and ambassadors the cohort part only;
# who belongs to the cohort (placements, archive, country of residence) everything, for every year.
PARTS_COMPUTED = {
    "activity logged and verified": ACTIVITY_OF_THE_YEAR, "reported activity verified": ACTIVITY_OF_THE_YEAR,
    "contact entry": ACTIVITY_OF_THE_YEAR, "investment recorded": ACTIVITY_OF_THE_YEAR,
    "consent given": COHORT, "use ceased": COHORT, "ambassador appointed": COHORT,
    "archived": MEMBERSHIP, "moved to another country": MEMBERSHIP, "Hyogo alumnus placed in Tottori": MEMBERSHIP,
    "alumni imported (Core inserts)": MEMBERSHIP, "records merged (bulk update)": MEMBERSHIP,
    "alumnus deleted (database cascade)": MEMBERSHIP,
}


@pytest.fixture
def computed(monkeypatch) -> set:
    """What the figures computed from the data since the fixture began: {(part, prefectures, years)}."""
    calls = set()
    for part in ("cohort", "activity"):
        def recording(prefectures, filters, years, compute=getattr(returns, f"compute_{part}"), part=part):
            calls.add((part, tuple(prefectures or returns.PREFECTURES), tuple(years)))
            return compute(prefectures, filters, years)
        monkeypatch.setattr(returns, f"compute_{part}", recording)
    for section in ("activity", "residence"):
        def recording_countries(prefecture, filters, compute=getattr(returns, f"{section}_countries"), section=section):
            calls.add((f"{section} countries", (prefecture,), (filters.fiscal_year,)))
            return compute(prefecture, filters)
        monkeypatch.setattr(returns, f"{section}_countries", recording_countries)
    return calls


def test_every_write_of_the_freshness_test_is_classified():
    assert set(PARTS_COMPUTED) == set(WRITES)


@pytest.mark.parametrize("write", list(WRITES))
def test_a_write_recomputes_only_the_part_of_the_figures_it_feeds(app, signed_in, tottori, make_activity, make_contact, make_ambassador,
                                                                 make_investment, make_alumnus, computed, write):
    _indicator, _change, filters, action = WRITES[write]
    client = signed_in(Role.PREFECTURE_STAFF)
    before = report_figures(client, **filters)
    assert report_figures(client, **filters) == before and computed == MEMBERSHIP
    computed.clear()  # everything stored: the second read computed nothing
    action(app, tottori, {"activity": make_activity, "contact": make_contact, "ambassador": make_ambassador,
                          "investment": make_investment, "alumnus": make_alumnus}, client)
    after = report_figures(client, **filters)
    assert computed == PARTS_COMPUTED[write]
    assert after != before  # the other part, served from the store, joined the new one


def test_a_consent_change_keeps_the_activity_figures_and_an_activity_the_cohort_figures(app, signed_in, tottori, make_activity, computed):
    client = signed_in(Role.PREFECTURE_STAFF)
    first = report_figures(client)
    computed.clear()
    _with(app, _set(tottori["alumni"][2], contact_consent=True))
    make_activity(tottori["alumni"][2], on=date(2024, 5, 1))
    second = report_figures(client)
    assert computed == COHORT | ACTIVITY_OF_THE_YEAR
    assert int(second["Reachable (with consent)"]) == int(first["Reachable (with consent)"]) + 1
    assert int(second["Verified activities"]) == int(first["Verified activities"]) + 1
    assert int(second["Engaged this year"]) == int(first["Engaged this year"]) + 1
