"""The disclosure package (開示) of a person shared by two prefectures shows each only its own data;
access records (who viewed or exported a person's data, what a user viewed or exported) for breach
response; exports record whose data they held."""
import io
from datetime import date, timedelta

import openpyxl
import pytest
from sqlalchemy import select

from crm import clock
from crm.alumni.models import Alumnus
from crm.associations.models import ProgramAlumnus
from crm.audit import AuditEntry
from crm.auth.models import Role
from crm.extensions import db
from crm.privacy import operations
from crm.privacy.models import PrivacyRequest, RequestKind
from tests.conftest import HYOGO, TOTTORI


def _request(app, alumnus_id: int, prefecture: int) -> int:
    with app.app_context():
        received = date(2026, 11, 20)
        record = PrivacyRequest(prefecture_id=prefecture, alumnus_id=alumnus_id, kind=RequestKind.DISCLOSURE, received_on=received,
                                due_on=operations.due_date(received), identity_verified_by="passport", requester_contact="a@example.org")
        db.session.add(record)
        db.session.commit()
        return record.id


@pytest.fixture
def shared(app, make_alumnus, make_contact, make_activity, make_ambassador, make_association, make_program):
    """A person who served in Tottori and Hyogo, with each prefecture's own records about them."""
    alumnus = make_alumnus(TOTTORI, HYOGO, family="Tanaka", given="Emily", email="emily@example.org")
    make_contact(alumnus, TOTTORI, summary="Tottori: met at the pear festival")
    make_contact(alumnus, HYOGO, summary="Hyogo: private note about Kobe")
    make_activity(alumnus, TOTTORI, description="Wrote about the Tottori sand dunes")
    make_activity(alumnus, HYOGO, description="Brought visitors to Himeji castle")
    make_ambassador(alumnus, TOTTORI, start=date(2024, 4, 1), title="鳥取県ふるさと大使")
    make_ambassador(alumnus, HYOGO, start=date(2024, 4, 1), title="ひょうごふるさと大使")
    tottori_program = make_program(make_association(TOTTORI, name="鳥取県国際交流財団"), title="鳥取の交流会")
    hyogo_program = make_program(make_association(HYOGO, name="兵庫県国際交流協会"), title="神戸の交流会")
    with app.app_context():
        db.session.add_all([ProgramAlumnus(program_id=tottori_program, alumnus_id=alumnus),
                            ProgramAlumnus(program_id=hyogo_program, alumnus_id=alumnus)])
        db.session.commit()
    return alumnus


TOTTORI_ONLY = ("Tottori: met at the pear festival", "Wrote about the Tottori sand dunes", "鳥取県ふるさと大使", "鳥取の交流会")
HYOGO_ONLY = ("Hyogo: private note about Kobe", "Brought visitors to Himeji castle", "ひょうごふるさと大使", "神戸の交流会")


@pytest.mark.parametrize("prefecture, own, theirs", [(TOTTORI, TOTTORI_ONLY, HYOGO_ONLY), (HYOGO, HYOGO_ONLY, TOTTORI_ONLY)])
def test_each_prefecture_discloses_only_its_own_records_of_a_shared_person(app, signed_in, shared, prefecture, own, theirs):
    client = signed_in(Role.PREFECTURE_STAFF, prefecture=prefecture)
    record = _request(app, shared, prefecture)
    page = client.get(f"/privacy/requests/{record}/package").get_data(as_text=True)
    assert "TANAKA, Emily" in page and "emily@example.org" in page
    for text in own:
        assert text in page, text
    for text in theirs:
        assert text not in page, text
    # Both placements are the person's history, held by each prefecture they served in.
    assert "Tottori" in page and "Hyogo" in page
    csv = client.get(f"/privacy/requests/{record}/package?format=csv").data.decode("utf-8-sig")
    workbook = openpyxl.load_workbook(io.BytesIO(client.get(f"/privacy/requests/{record}/package?format=xlsx").data))
    cells = " ".join(str(cell.value) for row in workbook.active.iter_rows() for cell in row)
    for text in own:
        assert text in csv and text in cells, text
    for text in theirs:
        assert text not in csv and text not in cells, text


def test_the_package_is_a_printable_page_and_its_downloads_are_recorded(app, signed_in, shared):
    client = signed_in(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    record = _request(app, shared, TOTTORI)
    page = client.get(f"/privacy/requests/{record}/package").get_data(as_text=True)
    assert "data-print" in page and 'href="/privacy/requests/1/package?format=csv"'.replace("/1/", f"/{record}/") in page
    response = client.get(f"/privacy/requests/{record}/package?format=xlsx")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    with client.get("/static/app.css") as stylesheet:
        assert "@page { size: A4" in stylesheet.get_data(as_text=True)
    with app.app_context():
        entries = db.session.scalars(select(AuditEntry).where(AuditEntry.record_type == "alumni", AuditEntry.record_id == str(shared),
                                                              AuditEntry.action.in_(("view", "export")))).all()
        assert sorted(entry.action for entry in entries) == ["export", "view"]
        assert all(entry.details["request"] == record for entry in entries)


def test_the_package_reads_in_japanese(app, signed_in, shared):
    client = signed_in(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    record = _request(app, shared, TOTTORI)
    page = client.get(f"/privacy/requests/{record}/package", headers={"Accept-Language": "ja"}).get_data(as_text=True)
    assert "保有個人情報開示" in page and "印刷" in page and "連絡記録" in page and "アクセス記録" in page


def test_the_package_shows_the_history_of_consent(app, signed_in, shared):
    client = signed_in(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    with app.app_context():
        version = db.session.get(Alumnus, shared).version
    saved = client.submit(f"/alumni/{shared}/sections/consent", {"consent-contact_consent": "y", "consent-consent_on": "2026-11-01",
                                                                  "consent-consent_source": "reply to the reunion letter",
                                                                  "consent-version": str(version)})
    assert saved.status_code == 303
    record = _request(app, shared, TOTTORI)
    page = client.get(f"/privacy/requests/{record}/package").get_data(as_text=True)
    history = page[page.index("Consent and its history"):page.index("Contact log")]
    assert "Agrees to be contacted" in history and "reply to the reunion letter" in history


def test_access_records_show_the_prefectures_own_staff_and_the_exports_that_held_the_person(app, signed_in, make_user, shared,
                                                                                        make_alumnus):
    other = make_alumnus(TOTTORI, family="Brown", given="Sam")
    tottori = signed_in(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    tottori.get(f"/alumni/{shared}")
    assert tottori.get("/imports/export/alumni?format=csv&q=tanaka").status_code == 200
    assert tottori.get("/imports/export/alumni?format=csv&q=brown").status_code == 200
    from crm.auth.models import User

    with app.app_context():
        exports = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "export").order_by(AuditEntry.id)).all()
        assert [entry.details["people"] for entry in exports] == [[shared], [other]]
        tottori_email = db.session.scalar(select(User.email).where(User.prefecture_id == TOTTORI))
    hyogo_id, hyogo_email = make_user(Role.PREFECTURE_STAFF, prefecture=HYOGO)
    hyogo = app.test_client()
    hyogo.login(hyogo_email)
    hyogo.get(f"/alumni/{shared}")

    page = tottori.get(f"/privacy/alumni/{shared}/accesses").get_data(as_text=True)
    assert page.count(tottori_email) == 2 and hyogo_email not in page  # the view and the first export only
    assert "Exported" in page and "Viewed" in page
    csv = tottori.get(f"/privacy/alumni/{shared}/accesses?format=csv").data.decode("utf-8-sig")
    assert csv.count(tottori_email) == 2 and hyogo_email not in csv
    _, admin_email = make_user(Role.ADMIN)
    admin = app.test_client()
    admin.login(admin_email)
    everyone = admin.get(f"/privacy/alumni/{shared}/accesses").get_data(as_text=True)
    assert tottori_email in everyone and hyogo_email in everyone
    # The audit trail shows how many people an export held, not their ids.
    trail = admin.get("/admin/audit?action=export").get_data(as_text=True)
    assert "People in the export" in trail and f"[{shared}]" not in trail
    # The package tells the person about Tottori's accesses only.
    record = _request(app, shared, TOTTORI)
    package = tottori.get(f"/privacy/requests/{record}/package").get_data(as_text=True)
    accesses = package[package.index("Access records"):]
    assert tottori_email in accesses and hyogo_email not in accesses


def test_a_person_outside_the_staff_members_prefecture_has_no_access_page(app, signed_in, make_alumnus):
    hyogo_only = make_alumnus(HYOGO)
    tottori = signed_in(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    assert tottori.get(f"/privacy/alumni/{hyogo_only}/accesses").status_code == 404
    assert tottori.get(f"/privacy/alumni/{hyogo_only}/accesses?format=csv").status_code == 404


def test_administrators_see_what_a_user_viewed_or_exported_between_two_days(app, signed_in, make_user, make_alumnus):
    alumnus = make_alumnus(TOTTORI)
    staff_id, staff_email = make_user(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    staff = app.test_client()
    staff.login(staff_email)
    staff.get(f"/alumni/{alumnus}")
    admin = signed_in(Role.ADMIN)
    today = clock.today()
    found = admin.get(f"/privacy/accesses?user={staff_id}&since={today - timedelta(days=1)}&until={today}").get_data(as_text=True)
    assert f"alumni {alumnus}" in found and "Viewed" in found
    later = admin.get(f"/privacy/accesses?user={staff_id}&since={today + timedelta(days=1)}").get_data(as_text=True)
    assert "No views or exports recorded." in later
    csv = admin.get(f"/privacy/accesses?user={staff_id}&since={today}&until={today}&format=csv").data.decode("utf-8-sig")
    assert staff_email in csv and "Viewed" in csv
    refused = admin.get(f"/privacy/accesses?user={staff_id}&since={today}&until={today - timedelta(days=2)}")
    assert refused.status_code == 422 and "The end cannot come before the start." in refused.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "export", AuditEntry.record_type == "audit_entries"))
