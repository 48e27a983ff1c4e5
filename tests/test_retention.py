"""Retention: the dry run, anonymisation that reaches every reference and keeps the reports' figures,
who may anonymise whom, and the command line."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from sqlalchemy import select, update

from crm.alumni.models import Alumnus, ContactEntry, Placement
from crm.ambassadors.models import Activity, Ambassador
from crm.audit import AuditEntry
from crm.auth.models import Role, User
from crm.extensions import db
from crm.reports import returns
from crm.reports.models import ReportFigures, ReportGeneration, ReportPublication
from crm.retention import operations
from crm.retention.models import Anonymisation, ErasureRequest
from tests.conftest import HYOGO, TOTTORI

LONG_AGO = datetime(2005, 1, 1, tzinfo=timezone.utc)


@pytest.fixture
def make_old_alumnus(app, make_alumnus, make_contact, make_activity, make_ambassador):
    """An alumnus who served 2000–2002 and was last heard of in 2012 (contact, activity, appointment)."""

    def make(*prefectures, family="Smith", **fields):
        alumnus_id = make_alumnus(*prefectures, family=family, email=f"{family.lower()}@example.com", start_year=2000,
                                  city="Portland", employer="Acme", residence_country="US", **fields)
        make_contact(alumnus_id, prefectures[0], summary=f"{family} asked about the Tottori pear festival",
                     contacted_on=date(2012, 5, 1))
        make_activity(alumnus_id, prefectures[0], on=date(2012, 6, 1), description=f"{family} wrote about Tottori",
                      country="US", people_reached=120, economic_value_yen=500_000, evidence_url="https://example.com/smith")
        make_ambassador(alumnus_id, prefectures[0], start=date(2010, 4, 1), end=date(2013, 3, 31), region="Oregon")
        with app.app_context():
            db.session.execute(update(Alumnus).where(Alumnus.id == alumnus_id).values(created_at=LONG_AGO))
            db.session.execute(update(Placement).where(Placement.alumnus_id == alumnus_id).values(organisation="Kurayoshi High School"))
            db.session.commit()
        return alumnus_id

    return make


def _figures(app) -> list:
    """The return reports of both prefectures and the national dashboard, computed afresh."""
    with app.test_request_context():
        for model in (ReportFigures, ReportPublication, ReportGeneration):
            db.session.query(model).delete()
        db.session.commit()
        result = []
        for year in (2010, 2012, 2014, returns.default_year()):
            for prefecture in (TOTTORI, HYOGO):
                report = returns.report(prefecture, returns.Filters(year), full=True)
                result.append({key: report[key] for key in ("current", "change", "trend", "kinds", "countries")})
            national = returns.national(returns.Filters(year))
            result.append({key: national[key] for key in ("rows", "totals", "trend")})
        db.session.rollback()
        return result


def test_anonymising_clears_every_reference_and_the_reports_still_add_up(app, make_old_alumnus, make_alumnus, make_activity):
    old = make_old_alumnus(TOTTORI)
    recent = make_alumnus(TOTTORI, family="Recent", start_year=2020)
    make_activity(recent, TOTTORI, on=date(2021, 6, 1))
    before = _figures(app)
    with app.app_context():
        assert db.session.query(AuditEntry).filter(AuditEntry.changes.is_not(None)).count() > 0
        assert "Smith" in str(db.session.scalars(select(AuditEntry.changes)).all())
    with app.test_request_context():
        runs, candidates = operations.dry_run()
        assert [(run.rule, run.found) for run in runs] == [("inactive", 1), ("erasure", 0)]
        assert [candidate.alumnus.id for candidate in candidates] == [old]
        assert operations.apply() == {"inactive": 1, "erasure": 0}
        db.session.commit()
    assert _figures(app) == before
    with app.app_context():
        person = db.session.get(Alumnus, old)
        assert (person.family_name, person.given_name, person.email, person.city, person.employer) == ("—", "—", None, None, None)
        assert person.residence_country == "US", "kept: the reports count alumni by country of residence"
        assert db.session.scalar(select(ContactEntry.summary).where(ContactEntry.alumnus_id == old)) == "—"
        activity = db.session.scalar(select(Activity).where(Activity.alumnus_id == old))
        assert (activity.description, activity.evidence_url, activity.people_reached, activity.country) == ("—", None, 120, "US")
        assert db.session.scalar(select(Ambassador.region).where(Ambassador.alumnus_id == old)) is None
        assert db.session.scalar(select(Placement.organisation).where(Placement.alumnus_id == old)) is None
        assert db.session.get(Alumnus, recent).family_name == "Recent"
        # The trail keeps who changed which field when; the values are gone.
        trail = db.session.scalars(select(AuditEntry)).all()
        assert not [entry for entry in trail if "Smith" in str(entry.changes) or "Oregon" in str(entry.changes)]
        assert [entry for entry in trail if "Recent" in str(entry.changes)], "other people's entries are untouched"
        assert [entry.details["rule"] for entry in trail if entry.action == "anonymise"] == ["inactive"]


def test_applying_again_changes_nothing(app, make_old_alumnus):
    old = make_old_alumnus(TOTTORI)
    with app.test_request_context():
        assert operations.apply()["inactive"] == 1
        db.session.commit()
        assert operations.apply() == {"inactive": 0, "erasure": 0}
        assert not operations.anonymise(old, "inactive")
        db.session.commit()
        assert [run.found for run in operations.dry_run()[0]] == [0, 0]
        assert db.session.query(AuditEntry).filter_by(action="anonymise").count() == 1


def test_the_inactivity_period_is_configurable_and_recent_contact_counts(app, make_old_alumnus, make_contact):
    old = make_old_alumnus(TOTTORI)
    with app.test_request_context():
        app.config["RETENTION_INACTIVE_YEARS"] = 20
        try:
            assert operations.dry_run()[0][0].found == 0
        finally:
            app.config["RETENTION_INACTIVE_YEARS"] = 10
        assert operations.dry_run()[0][0].found == 1
    make_contact(old, TOTTORI, contacted_on=date.today())
    with app.test_request_context():
        assert operations.dry_run()[0][0].found == 0


def test_staff_see_their_dry_run_and_anonymise_after_confirming(app, signed_in, make_old_alumnus):
    old = make_old_alumnus(TOTTORI)
    client = signed_in(Role.PREFECTURE_STAFF, TOTTORI)
    page = client.get("/retention/").get_data(as_text=True)
    assert "SMITH, John" in page and 'name="confirm"' in page
    assert all("SMITH" in client.get(f"/alumni?q={word}").get_data(as_text=True) for word in ("Smith", "smith@example.com", "Portland"))
    refused = client.submit("/retention/apply", {})
    assert refused.status_code == 422 and "Tick the box" in refused.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Alumnus, old).family_name == "Smith"
    response = client.submit("/retention/apply", {"confirm": "y"})
    assert response.status_code == 303
    with app.app_context():
        assert db.session.get(Alumnus, old).family_name == "—"
    assert "SMITH" not in client.get("/retention/").get_data(as_text=True)
    # The search indexes follow: the old name and email find nobody.
    for word in ("Smith", "smith@example.com", "Portland"):
        assert client.get(f"/alumni?q={word}").status_code == 200
        assert "SMITH" not in client.get(f"/alumni?q={word}").get_data(as_text=True)


def test_apply_without_a_csrf_token_is_refused(app, signed_in, make_old_alumnus):
    old = make_old_alumnus(TOTTORI)
    client = signed_in(Role.PREFECTURE_STAFF, TOTTORI)
    assert client.post("/retention/apply", data={"confirm": "y"}).status_code == 400
    assert client.post("/retention/apply", data={"confirm": "y", "csrf_token": "forged"}).status_code == 400
    with app.app_context():
        assert db.session.get(Alumnus, old).family_name == "Smith"


def test_hyogo_staff_neither_see_nor_anonymise_tottori_alumni(app, signed_in, make_old_alumnus):
    old = make_old_alumnus(TOTTORI)
    client = signed_in(Role.PREFECTURE_STAFF, HYOGO)
    page = client.get("/retention/").get_data(as_text=True)
    assert "SMITH" not in page
    client.submit("/retention/apply", {"confirm": "y"})
    with app.app_context():
        assert db.session.get(Alumnus, old).family_name == "Smith"


def test_a_person_shared_by_two_prefectures_is_anonymised_by_an_administrator_only(app, signed_in, make_old_alumnus):
    shared = make_old_alumnus(TOTTORI, HYOGO)
    for prefecture in (TOTTORI, HYOGO):
        staff = signed_in(Role.PREFECTURE_STAFF, prefecture)
        page = staff.get("/retention/").get_data(as_text=True)
        assert "SMITH, John" in page and "an administrator anonymises" in page
        staff.submit("/retention/apply", {"confirm": "y"})
        with app.app_context():
            assert db.session.get(Alumnus, shared).family_name == "Smith"
        staff.submit("/logout")
    admin = signed_in(Role.ADMIN)
    admin.submit("/retention/apply", {"confirm": "y"})
    with app.app_context():
        assert db.session.get(Alumnus, shared).family_name == "—"


def test_a_contact_written_by_another_prefecture_makes_the_person_shared(app, make_old_alumnus, make_contact, make_user):
    old = make_old_alumnus(TOTTORI)
    make_contact(old, HYOGO, contacted_on=date(2011, 1, 1))
    with app.test_request_context():
        staff = db.session.get(User, make_user(Role.PREFECTURE_STAFF, TOTTORI)[0])
        runs, candidates = operations.dry_run(staff)
        assert (runs[0].found, runs[0].applicable) == (1, 0) and candidates[0].shared


def test_a_request_for_deletion_anonymises_an_active_person(app, signed_in, make_alumnus):
    active = make_alumnus(TOTTORI, family="Active", start_year=2022)
    other = make_alumnus(HYOGO, family="Elsewhere", start_year=2022)
    client = signed_in(Role.PREFECTURE_STAFF, TOTTORI)
    assert client.submit("/retention/erasure-requests", {"alumnus": other, "requested_on": "2026-11-30"}).status_code == 404
    bad = client.submit("/retention/erasure-requests", {"alumnus": active, "requested_on": "2999-01-01"})
    assert bad.status_code == 422
    assert client.submit("/retention/erasure-requests", {"alumnus": active, "requested_on": "2026-11-30"}).status_code == 303
    with app.app_context():
        request = db.session.scalar(select(ErasureRequest))
        assert (request.alumnus_id, request.prefecture_id, request.requested_on) == (active, TOTTORI, date(2026, 11, 30))
    page = client.get("/retention/").get_data(as_text=True)
    assert "ACTIVE, John" in page and "ELSEWHERE" not in page
    client.submit("/retention/apply", {"confirm": "y"})
    with app.app_context():
        assert db.session.get(Alumnus, active).family_name == "—"
        assert db.session.get(Anonymisation, active).rule == "erasure"
        assert db.session.get(Alumnus, other).family_name == "Elsewhere"


@pytest.mark.parametrize("role", [Role.MINISTRY_REVIEWER, Role.ASSOCIATION_STAFF])
def test_ministry_and_associations_have_no_retention_page(signed_in, make_association, role):
    client = signed_in(role, association=make_association() if role == Role.ASSOCIATION_STAFF else None)
    assert client.get("/retention/").status_code == 403
    assert client.submit("/retention/apply", {"confirm": "y"}).status_code == 403


def test_the_command_line_reports_and_applies_only_with_yes(app, make_old_alumnus):
    old = make_old_alumnus(TOTTORI)
    runner = app.test_cli_runner()
    report = runner.invoke(args=["retention", "report"])
    assert report.exit_code == 0 and "10 years: 1" in report.output
    refused = runner.invoke(args=["retention", "apply"])
    assert refused.exit_code != 0 and "--yes" in refused.output
    with app.app_context():
        assert db.session.get(Alumnus, old).family_name == "Smith"
    applied = runner.invoke(args=["retention", "apply", "--yes"])
    assert applied.exit_code == 0 and "1 people anonymised" in applied.output
    again = runner.invoke(args=["retention", "apply", "--yes"])
    assert "0 people anonymised" in again.output
    with app.app_context():
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "anonymise"))
        assert entry.actor == "cli:retention" and entry.record_id == str(old)
