"""The protected publication of a 年度 (crm.reports.protection) is stored in the database: any worker
or server serves it without protecting the 年度 again, until a write changes a figure it reads (its
年度 or one on each side) or the protection code changes."""
from datetime import date

import pytest

from crm.auth.models import Role
from crm.extensions import db
from crm.reports import protection, returns
from tests.conftest import HYOGO, TOTTORI
from tests.test_report_freshness import YEAR, _set, _with, national_row


@pytest.fixture
def protected(monkeypatch) -> list[list[int]]:
    """The 年度 protected by each call, as it happens (what was not served from the store)."""
    calls: list[list[int]] = []
    real = protection.protect_years

    def spy(data, years, **kwargs):
        calls.append(sorted(years))
        return real(data, years, **kwargs)

    monkeypatch.setattr(protection, "protect_years", spy)
    return calls


@pytest.fixture
def ministry(signed_in, make_alumnus, make_activity):
    active = [make_alumnus(TOTTORI, family=f"Active{index}") for index in range(10)]
    for alumnus in active:
        make_activity(alumnus, on=date(YEAR, 6, 1))
    client = signed_in(Role.MINISTRY_REVIEWER)
    client.active = active
    return client


def test_a_stored_publication_is_served_without_protecting_again(ministry, protected):
    before = national_row(ministry)
    assert before["Verified activities"] == "10"
    assert protected == [list(range(YEAR - 4, YEAR + 1))]  # the dashboard's trend, once
    assert national_row(ministry) == before
    assert ministry.get(f"/reports/return/{TOTTORI}?year={YEAR}").status_code == 200
    assert ministry.get(f"/reports/return/{HYOGO}/export?year={YEAR}&format=csv").status_code == 200
    assert protected == [list(range(YEAR - 4, YEAR + 1))]  # nothing in memory: another worker reads the same


def test_a_write_makes_stale_the_publications_that_read_its_year_only(ministry, make_activity, protected):
    national_row(ministry)
    make_activity(ministry.active[0], on=date(YEAR - 2, 6, 1))
    assert national_row(ministry)["Verified activities"] == "10"
    # FY(YEAR-2) itself and the years on each side, whose hidden figures it bounds
    assert protected[1:] == [[YEAR - 3, YEAR - 2, YEAR - 1]]
    make_activity(ministry.active[1], on=date(YEAR, 7, 1))
    assert national_row(ministry)["Verified activities"] == "11"
    assert protected[2:] == [[YEAR - 1, YEAR]]


def test_a_change_of_the_protection_code_recomputes_every_publication(ministry, protected, monkeypatch):
    national_row(ministry)
    monkeypatch.setattr(protection, "METHOD", "another method")
    assert national_row(ministry)["Verified activities"] == "10"
    assert protected == [list(range(YEAR - 4, YEAR + 1))] * 2


def test_reports_warm_stores_the_publications_the_ministry_opens_on(app, ministry, protected):
    first = app.test_cli_runner().invoke(args=["reports", "warm"])
    assert "protected publications (what the ministry reads): 5 computed" in first.output
    second = app.test_cli_runner().invoke(args=["reports", "warm"])
    assert "protected publications (what the ministry reads): 0 computed" in second.output
    assert ministry.get("/reports/national").status_code == 200
    assert protected == [returns.trend_years(returns.Filters(returns.default_year()))]


def test_parts_taken_from_a_stale_publication_give_what_protecting_anew_gives(app, ministry, make_activity, make_alumnus):
    national_row(ministry)
    _with(app, _set(ministry.active[0], contact_consent=True))  # the cohort of every 年度 changes, no activity sum
    for index in range(3):
        make_activity(make_alumnus(HYOGO, family=f"Few{index}"), on=date(YEAR - 1, 6, 1))
    national_row(ministry)
    years = returns.trend_years(returns.Filters(YEAR))
    with app.app_context():
        served = returns.protected_years(years)
        anew = protection.protect_years(returns.figures(None, returns.Filters(YEAR), list(range(YEAR - 5, YEAR + 2))), years)
        db.session.rollback()
    # plain(): hidden values with their reason ("<10" or "X"), which == on them does not compare
    assert {year: p.plain() for year, p in served.items()} == {year: p.plain() for year, p in anew.items()}
