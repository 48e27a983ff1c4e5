"""APPI requests (開示・訂正・利用停止): recording, deadlines across month ends and 年度 boundaries,
extension, decisions applied through the alumni operations, what is due, and who may reach what."""
from datetime import date

import pytest
from sqlalchemy import select

from crm import clock
from crm.alumni.models import Alumnus
from crm.audit import AuditEntry
from crm.auth.models import Role
from crm.extensions import db
from crm.privacy import operations
from crm.privacy.models import PrivacyRequest, RequestKind, RequestStatus
from crm.reference import fiscal_year
from tests.conftest import HYOGO, TOTTORI, fragment

TODAY = date(2026, 12, 3)


@pytest.fixture(autouse=True)
def _today_in_japan(monkeypatch):
    monkeypatch.setattr(clock, "today", lambda: TODAY)


@pytest.fixture
def tottori(signed_in):
    return signed_in(Role.PREFECTURE_STAFF, prefecture=TOTTORI)


def _request(app, alumnus_id: int, prefecture: int = TOTTORI, kind: RequestKind = RequestKind.DISCLOSURE,
             received_on: date = date(2026, 11, 20), **values) -> int:
    with app.app_context():
        record = PrivacyRequest(prefecture_id=prefecture, alumnus_id=alumnus_id, kind=kind, received_on=received_on,
                                due_on=operations.due_date(received_on, values.get("extension_days")),
                                identity_verified_by="residence card at the counter", requester_contact="1-1 Higashi, Tottori",
                                **values)
        db.session.add(record)
        db.session.commit()
        return record.id


def _form(alumnus_id: int, **values) -> dict:
    return {"alumnus": alumnus_id, "kind": "disclosure", "received_on": "2026-12-01",
            "identity_verified_by": "passport copy by post", "requester_contact": "smith@example.org", **values}


# --- Deadlines -------------------------------------------------------------------------------------

@pytest.mark.parametrize("received, due", [
    (date(2026, 3, 15), date(2026, 4, 14)),   # received in 令和7年度, due in 令和8年度
    (date(2026, 3, 2), date(2026, 4, 1)),     # due on the first day of the next 年度
    (date(2026, 3, 1), date(2026, 3, 31)),    # due on the last day of the 年度
    (date(2026, 1, 31), date(2026, 3, 2)),    # across February
    (date(2028, 1, 31), date(2028, 3, 1)),    # across a leap February
    (date(2026, 12, 15), date(2027, 1, 14)),  # across the calendar year, same 年度
    (date(2026, 4, 30), date(2026, 5, 30)),   # a 30-day month
])
def test_a_request_is_due_30_days_after_the_day_it_was_received(received, due):
    assert operations.due_date(received) == due


def test_the_deadline_can_cross_the_fiscal_year():
    received = date(2026, 3, 15)
    assert fiscal_year.fiscal_year_of(received) == 2025
    assert fiscal_year.fiscal_year_of(operations.due_date(received)) == 2026


def test_an_extension_adds_its_days_to_the_deadline():
    assert operations.due_date(date(2026, 2, 20), 30) == date(2026, 4, 21)
    assert operations.due_date(date(2026, 2, 20), 5) == date(2026, 3, 27)


# --- Recording -------------------------------------------------------------------------------------

def test_tottori_staff_record_a_request_and_its_deadline_is_computed(app, tottori, make_alumnus):
    alumnus = make_alumnus(TOTTORI)
    response = tottori.submit("/privacy/requests/new", _form(alumnus))
    assert response.status_code == 303
    with app.app_context():
        record = db.session.scalar(select(PrivacyRequest))
        assert (record.prefecture_id, record.alumnus_id, record.kind) == (TOTTORI, alumnus, RequestKind.DISCLOSURE)
        assert record.due_on == date(2026, 12, 31) and record.status == RequestStatus.OPEN
        created = db.session.scalar(select(AuditEntry).where(AuditEntry.record_type == "privacy_requests", AuditEntry.action == "create"))
        assert created.changes["identity_verified_by"]["new"] == "passport copy by post"
    page = tottori.get(response.headers["Location"]).get_data(as_text=True)
    assert "passport copy by post" in page and "Dec 31, 2026" in page and "SMITH, John" in page


def test_the_alumnus_page_offers_to_record_a_request_for_that_person(tottori, make_alumnus):
    alumnus = make_alumnus(TOTTORI)
    page = tottori.get(f"/alumni/{alumnus}").get_data(as_text=True)
    assert f"/privacy/requests/new?alumnus={alumnus}" in page
    form = tottori.get(f"/privacy/requests/new?alumnus={alumnus}").get_data(as_text=True)
    assert f'value="{alumnus}"' in form


def test_missing_fields_are_refused_with_messages_and_nothing_is_recorded(app, tottori, make_alumnus):
    alumnus = make_alumnus(TOTTORI)
    response = tottori.submit("/privacy/requests/new", _form(alumnus, identity_verified_by="", received_on="2026-12-09"))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "This field is required." in html and "cannot be in the future" in html
    with app.app_context():
        assert db.session.scalar(select(PrivacyRequest)) is None


def test_a_request_about_another_prefectures_person_is_refused(app, tottori, make_alumnus):
    hyogo_only = make_alumnus(HYOGO, family="Jones")
    assert tottori.submit("/privacy/requests/new", _form(hyogo_only)).status_code == 404
    with app.app_context():
        assert db.session.scalar(select(PrivacyRequest)) is None


def test_a_request_without_csrf_is_refused(app, tottori, make_alumnus):
    alumnus = make_alumnus(TOTTORI)
    assert tottori.post("/privacy/requests/new", data=_form(alumnus)).status_code == 400
    with app.app_context():
        assert db.session.scalar(select(PrivacyRequest)) is None


def test_hyogo_staff_cannot_open_or_change_tottoris_request(app, signed_in, make_alumnus):
    record = _request(app, make_alumnus(TOTTORI, HYOGO))
    hyogo = signed_in(Role.PREFECTURE_STAFF, prefecture=HYOGO)
    for url in (f"/privacy/requests/{record}", f"/privacy/requests/{record}/sections/details/edit",
                f"/privacy/requests/{record}/package"):
        assert hyogo.get(url).status_code == 404, url
    assert hyogo.submit(f"/privacy/requests/{record}/sections/decision",
                        {"decision-decision": "refused", "decision-decision_reason": "x", "decision-version": "1"}).status_code == 404
    assert hyogo.submit(f"/privacy/requests/{record}/withdraw").status_code == 404
    assert f"/privacy/requests/{record}" not in hyogo.get("/privacy/requests").get_data(as_text=True)
    with app.app_context():
        assert db.session.get(PrivacyRequest, record).status == RequestStatus.OPEN


@pytest.mark.parametrize("role", [Role.MINISTRY_REVIEWER, Role.ASSOCIATION_STAFF])
def test_the_ministry_and_associations_reach_no_request(app, signed_in, make_alumnus, make_association, role):
    record = _request(app, make_alumnus(TOTTORI))
    client = signed_in(role, association=make_association() if role == Role.ASSOCIATION_STAFF else None)
    for url in ("/privacy/requests", f"/privacy/requests/{record}", f"/privacy/requests/{record}/package", "/privacy/due"):
        assert client.get(url).status_code == 403, url


# --- List ------------------------------------------------------------------------------------------

def test_the_list_is_empty_at_first_then_sorted_and_paged(app, tottori, make_alumnus):
    assert "No requests recorded yet." in tottori.get("/privacy/requests").get_data(as_text=True)
    alumnus = make_alumnus(TOTTORI)
    app.config["PAGE_SIZE"] = 2
    try:
        for day in (1, 3, 2):
            _request(app, alumnus, received_on=date(2026, 11, day))
        rows = tottori.htmx_get("/privacy/requests?sort=received").get_data(as_text=True)
        assert fragment(rows)
        assert rows.index("Nov 1, 2026") < rows.index("Nov 2, 2026") and "Nov 3, 2026" not in rows
        assert "1–2 of 3" in rows
        second = tottori.get("/privacy/requests?sort=received&page=2").get_data(as_text=True)
        assert "Nov 3, 2026" in second and "Nov 1, 2026" not in second and "<html" in second
        assert "No requests with this status." in tottori.get("/privacy/requests?status=decided").get_data(as_text=True)
    finally:
        app.config["PAGE_SIZE"] = 50


# --- Edits, extension, decisions -------------------------------------------------------------------

def _section(client, record: int, name: str, values: dict, version: int = 1, htmx: bool = True):
    data = {f"{name}-{key}": value for key, value in values.items()} | {f"{name}-version": str(version)}
    return client.submit(f"/privacy/requests/{record}/sections/{name}", data, htmx=htmx)


def test_an_extension_needs_its_reason_and_the_day_the_requester_was_told(app, tottori, make_alumnus):
    record = _request(app, make_alumnus(TOTTORI), received_on=date(2026, 11, 20))
    refused = _section(tottori, record, "extension", {"extension_days": "10"})
    assert refused.status_code == 422
    assert "Give the reason for the extension." in refused.get_data(as_text=True)
    too_long = _section(tottori, record, "extension", {"extension_days": "31", "extension_reason": "many files",
                                                       "extension_notified_on": "2026-12-01"})
    assert too_long.status_code == 422 and "An extension is 1 to 30 days." in too_long.get_data(as_text=True)
    saved = _section(tottori, record, "extension", {"extension_days": "30", "extension_reason": "Records kept on paper at three offices",
                                                    "extension_notified_on": "2026-12-01"})
    assert saved.status_code == 200 and fragment(saved.get_data(as_text=True))
    with app.app_context():
        stored = db.session.get(PrivacyRequest, record)
        assert stored.due_on == date(2027, 1, 19) and stored.extension_reason == "Records kept on paper at three offices"
        assert db.session.scalar(select(AuditEntry).where(AuditEntry.record_type == "privacy_requests",
                                                          AuditEntry.action == "update")).changes["due_on"]["new"] == "2027-01-19"


def test_a_stale_edit_is_refused_with_the_current_values(app, tottori, make_alumnus):
    record = _request(app, make_alumnus(TOTTORI))
    first = _section(tottori, record, "details", {"kind": "correction", "received_on": "2026-11-20",
                                                  "identity_verified_by": "driving licence", "requester_contact": "x@example.org"})
    assert first.status_code == 200
    stale = _section(tottori, record, "details", {"kind": "disclosure", "received_on": "2026-11-21",
                                                  "identity_verified_by": "passport", "requester_contact": "y@example.org"})
    assert stale.status_code == 409
    html = stale.get_data(as_text=True)
    assert "driving licence" in html and "You entered: passport" in html
    with app.app_context():
        stored = db.session.get(PrivacyRequest, record)
        assert (stored.kind, stored.identity_verified_by, stored.due_on) == (RequestKind.CORRECTION, "driving licence", date(2026, 12, 20))


def test_a_granted_suspension_ceases_use_of_the_persons_data_today(app, tottori, make_alumnus):
    alumnus = make_alumnus(TOTTORI)
    record = _request(app, alumnus, kind=RequestKind.SUSPENSION)
    missing = _section(tottori, record, "decision", {"decision": "granted"})
    assert missing.status_code == 422 and "Give the reason for the decision." in missing.get_data(as_text=True)
    response = _section(tottori, record, "decision", {"decision": "granted", "decision_reason": "Consent withdrawn in writing"})
    assert response.status_code == 200
    with app.app_context():
        stored = db.session.get(PrivacyRequest, record)
        assert (stored.status, stored.decided_on) == (RequestStatus.DECIDED, TODAY)
        assert db.session.get(Alumnus, alumnus).cease_use is True
        change = db.session.scalar(select(AuditEntry).where(AuditEntry.record_type == "alumni", AuditEntry.record_id == str(alumnus),
                                                            AuditEntry.action == "update"))
        assert change.changes["cease_use"] == {"old": False, "new": True}
    assert "SMITH" not in tottori.get("/alumni").get_data(as_text=True)


def test_a_refused_suspension_and_a_correction_decision_leave_the_record_alone(app, tottori, make_alumnus):
    alumnus = make_alumnus(TOTTORI)
    suspension = _request(app, alumnus, kind=RequestKind.SUSPENSION)
    correction = _request(app, alumnus, kind=RequestKind.CORRECTION)
    assert _section(tottori, suspension, "decision", {"decision": "refused", "decision_reason": "Needed for the contract"}).status_code == 200
    assert _section(tottori, correction, "decision", {"decision": "granted", "decision_reason": "Employer corrected"}).status_code == 200
    with app.app_context():
        assert db.session.get(Alumnus, alumnus).cease_use is False
    page = tottori.get(f"/privacy/requests/{correction}").get_data(as_text=True)
    assert f'href="/alumni/{alumnus}"' in page and "Correct the record" in page


def test_a_withdrawn_request_leaves_the_due_list(app, tottori, make_alumnus):
    record = _request(app, make_alumnus(TOTTORI), received_on=date(2026, 11, 1))
    assert "due on" in tottori.htmx_get("/privacy/due").get_data(as_text=True)
    assert tottori.submit(f"/privacy/requests/{record}/withdraw").status_code == 303
    with app.app_context():
        assert db.session.get(PrivacyRequest, record).status == RequestStatus.WITHDRAWN
    assert "No request is overdue or due within a week." in tottori.htmx_get("/privacy/due").get_data(as_text=True)


def test_a_decided_request_cannot_be_withdrawn(app, tottori, make_alumnus):
    record = _request(app, make_alumnus(TOTTORI), status=RequestStatus.DECIDED, decided_on=date(2026, 12, 1))
    response = tottori.submit(f"/privacy/requests/{record}/withdraw", follow_redirects=True)
    assert "Only an open request can be withdrawn." in response.get_data(as_text=True)
    with app.app_context():
        stored = db.session.get(PrivacyRequest, record)
        assert (stored.status, stored.decided_on) == (RequestStatus.DECIDED, date(2026, 12, 1))


def test_a_section_is_a_fragment_for_htmx_and_a_page_without_it(app, tottori, make_alumnus):
    record = _request(app, make_alumnus(TOTTORI))
    for url in (f"/privacy/requests/{record}/sections/details", f"/privacy/requests/{record}/sections/extension/edit"):
        assert fragment(tottori.htmx_get(url).get_data(as_text=True)), url
        assert not fragment(tottori.get(url).get_data(as_text=True)), url
    assert tottori.get(f"/privacy/requests/{record}/sections/nothing").status_code == 404


# --- What is due -----------------------------------------------------------------------------------

def test_requests_due_splits_overdue_from_due_this_week(app, make_user, make_alumnus):
    alumnus = make_alumnus(TOTTORI, HYOGO)
    overdue = _request(app, alumnus, received_on=date(2026, 11, 2))        # due 2 December
    today = _request(app, alumnus, received_on=date(2026, 11, 3))          # due 3 December
    week = _request(app, alumnus, received_on=date(2026, 11, 9))           # due 9 December
    _request(app, alumnus, received_on=date(2026, 11, 10))                 # due 10 December: later
    _request(app, alumnus, received_on=date(2026, 10, 1), status=RequestStatus.DECIDED)
    _request(app, alumnus, prefecture=HYOGO, received_on=date(2026, 10, 1))
    staff_id, _ = make_user(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    with app.app_context():
        from crm.auth.models import User

        due = operations.requests_due(db.session.get(User, staff_id), TODAY)
        assert [record.id for record in due.overdue] == [overdue]
        assert [record.id for record in due.this_week] == [today, week]


def test_the_home_page_loads_the_due_panel_and_the_panel_lists_overdue_requests(app, tottori, make_alumnus):
    record = _request(app, make_alumnus(TOTTORI), received_on=date(2026, 10, 20))
    home = tottori.get("/").get_data(as_text=True)
    assert 'hx-get="/privacy/due"' in home and "due on" not in home
    panel = tottori.htmx_get("/privacy/due").get_data(as_text=True)
    assert fragment(panel) and "Overdue" in panel and f"/privacy/requests/{record}" in panel
    assert "<html" in tottori.get("/privacy/due").get_data(as_text=True)


def test_the_administrators_overview_counts_every_prefecture(app, signed_in, make_alumnus):
    alumnus = make_alumnus(TOTTORI, HYOGO)
    _request(app, alumnus, received_on=date(2026, 10, 20))
    _request(app, alumnus, received_on=date(2026, 11, 30))
    _request(app, alumnus, prefecture=HYOGO, received_on=date(2026, 11, 5))
    with app.app_context():
        counts = {row.prefecture.id: (row.open, row.overdue, row.this_week) for row in operations.overview(TODAY)}
    assert counts == {TOTTORI: (2, 1, 0), HYOGO: (1, 0, 1)}
    page = signed_in(Role.ADMIN).get("/privacy/overview").get_data(as_text=True)
    assert "Tottori" in page and "Hyogo" in page and "Overdue" in page
