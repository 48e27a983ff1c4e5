"""Scope holds on every field: a form field (or an extra field posted beside a form) that names a
prefecture, an association, a user or a record of another office never moves data out of the
poster's scope or into another's. The inventory test at the end lists every such field in the
forms and views, so a new one fails until it has a case here."""
import re
from pathlib import Path

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from wtforms import Form

from crm import clock
from crm.alumni.models import AlumniGroup, ContactEntry, Placement
from crm.ambassadors.models import Activity, Ambassador, Investment
from crm.associations.models import Association, Member, MembershipFee, Program, ProgramAlumnus
from crm.auth.models import Role, User
from crm.extensions import db
from crm.imports.models import ImportJob, JobState
from tests.conftest import HYOGO, TOTTORI

# Extra fields an attacker adds to any form: the columns that say whose a record is.
OWNER_FIELDS = {"prefecture_id": str(HYOGO), "prefecture": str(HYOGO), "association_id": "999", "alumnus_id": "999",
                "staff_id": "999", "created_by_id": "999", "member_id": "999", "program_id": "999", "user_id": "999"}


@pytest.fixture
def tottori(signed_in):
    return signed_in(Role.PREFECTURE_STAFF, prefecture=TOTTORI)


def _one(app, statement):
    with app.app_context():
        return db.session.execute(statement).one()


# --- Alumni ----------------------------------------------------------------------------------------

def test_create_alumnus_host_prefecture_and_extra_owner_fields(app, tottori):
    data = {"family_name": "Smith", "given_name": "John", "host_prefecture": str(HYOGO), "position": "alt", "start_year": "2015"}
    assert tottori.submit("/alumni/new", {**data, **OWNER_FIELDS}).status_code == 422
    assert tottori.submit("/alumni/new", {**OWNER_FIELDS, **data, "host_prefecture": str(TOTTORI)}).status_code == 303
    assert _one(app, select(Placement.prefecture_id)) == (TOTTORI,)


def test_add_placement_host_prefecture(app, tottori, make_alumnus):
    alumnus = make_alumnus(TOTTORI)
    data = {"host_prefecture": str(HYOGO), "position": "alt", "start_year": "2019"}
    assert tottori.submit(f"/alumni/{alumnus}/placements", {**OWNER_FIELDS, **data}).status_code == 422
    with app.app_context():
        assert db.session.scalars(select(Placement.prefecture_id)).all() == [TOTTORI]


def test_update_placement_host_prefecture_and_alumnus(app, tottori, make_alumnus):
    alumnus, other = make_alumnus(TOTTORI), make_alumnus(TOTTORI, TOTTORI, family="Other")
    with app.app_context():
        placement = db.session.scalar(select(Placement.id).where(Placement.alumnus_id == other))
    prefix = f"placement-{placement}-"
    data = {prefix + "host_prefecture": str(HYOGO), prefix + "position": "alt", prefix + "start_year": "2015", prefix + "version": "1",
            prefix + "alumnus_id": str(alumnus), "alumnus_id": str(alumnus), **OWNER_FIELDS}
    assert tottori.submit(f"/alumni/placements/{placement}", data, htmx=True).status_code == 422
    saved = tottori.submit(f"/alumni/placements/{placement}", {**data, prefix + "host_prefecture": str(TOTTORI)}, htmx=True)
    assert saved.status_code == 200
    assert _one(app, select(Placement.alumnus_id, Placement.prefecture_id).where(Placement.id == placement)) == (other, TOTTORI)


def test_contact_assignee_staff_and_prefecture(app, tottori, make_user, make_alumnus):
    alumnus = make_alumnus(TOTTORI)
    hyogo_user = make_user(Role.PREFECTURE_STAFF, prefecture=HYOGO)[0]
    data = {"contact-contacted_on": "2025-04-01", "contact-channel": "email", "contact-direction": "outgoing",
            "contact-summary": "Asked about the fair", "contact-follow_up_on": "2025-05-01"}
    assert tottori.submit(f"/alumni/{alumnus}/contacts", {**data, "contact-assignee": str(hyogo_user)}).status_code == 422
    extra = {f"contact-{key}": value for key, value in OWNER_FIELDS.items()}
    assert tottori.submit(f"/alumni/{alumnus}/contacts", {**data, **extra, **OWNER_FIELDS}).status_code == 303
    with app.app_context():
        staff = db.session.scalar(select(User.id).where(User.prefecture_id == TOTTORI))
    assert _one(app, select(ContactEntry.prefecture_id, ContactEntry.staff_id, ContactEntry.assignee_id, ContactEntry.alumnus_id)) \
        == (TOTTORI, staff, None, alumnus)


def test_follow_up_reassign_and_snooze_owner_fields(app, client, make_user, make_alumnus, make_contact):
    me, email = make_user(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    hyogo_user = make_user(Role.PREFECTURE_STAFF, prefecture=HYOGO)[0]
    admin_user = make_user(Role.ADMIN)[0]
    client.login(email)
    alumnus, other = make_alumnus(TOTTORI), make_alumnus(TOTTORI, family="Other")
    entry = make_contact(alumnus, TOTTORI, follow_up_on=date(2025, 5, 1), assignee_id=me)
    # The assignee is chosen among the office's own accounts: another prefecture's staff or an
    # administrator is refused, and nothing else of the entry (its owner, writer, person) moves.
    for outsider in (hyogo_user, admin_user):
        assert client.submit(f"/alumni/contacts/{entry}/reassign", {"assignee": str(outsider)}).status_code == 422
    extra = {"prefecture_id": str(HYOGO), "staff_id": str(hyogo_user), "alumnus_id": str(other), "assignee_id": str(hyogo_user),
             "done_at": "2025-01-01", **OWNER_FIELDS}
    later = (clock.today() + timedelta(days=10)).isoformat()
    assert client.submit(f"/alumni/contacts/{entry}/snooze", {"follow_up_on": later, **extra}).status_code == 303
    assert _one(app, select(ContactEntry.prefecture_id, ContactEntry.assignee_id, ContactEntry.alumnus_id, ContactEntry.done_at)
                .where(ContactEntry.id == entry)) == (TOTTORI, me, alumnus, None)


def test_select_all_matching_cannot_reach_another_prefecture(app, tottori, make_alumnus):
    mine, theirs = make_alumnus(TOTTORI, employer="Pear Co"), make_alumnus(HYOGO, family="Hyogo", employer="Pear Co")
    # "match-prefecture" is the administrator's filter; staff sending it stay in their own scope.
    data = {"all_matching": "1", "match-q": "pear", "match-prefecture": str(HYOGO), "action": "archive", **OWNER_FIELDS}
    assert tottori.submit("/alumni/bulk", data, htmx=True).status_code == 200
    with app.app_context():
        from crm.alumni.models import Alumnus

        assert db.session.get(Alumnus, mine).archived_at is not None and db.session.get(Alumnus, theirs).archived_at is None


def test_networks_join_create_and_edit(app, tottori, make_alumnus):
    alumnus = make_alumnus(TOTTORI)
    with app.app_context():
        hyogo_group = AlumniGroup(prefecture_id=HYOGO, name="Hyogo friends", platform="facebook")
        db.session.add(hyogo_group)
        db.session.commit()
        hyogo_group = hyogo_group.id
    assert tottori.submit(f"/alumni/{alumnus}/groups", {"group": str(hyogo_group)}, htmx=True).status_code == 404
    assert tottori.submit(f"/alumni/groups/{hyogo_group}/edit", {"name": "taken", "platform": "facebook"}).status_code == 404
    created = tottori.submit("/alumni/groups/new", {"name": "Tottori friends", "platform": "facebook", **OWNER_FIELDS})
    assert created.status_code == 303
    with app.app_context():
        group = db.session.scalar(select(AlumniGroup).where(AlumniGroup.name == "Tottori friends"))
        assert group.prefecture_id == TOTTORI
        group_id, version = group.id, group.version
    tottori.submit(f"/alumni/groups/{group_id}/edit", {"name": "Renamed", "platform": "facebook", "version": str(version), **OWNER_FIELDS})
    assert _one(app, select(AlumniGroup.name, AlumniGroup.prefecture_id).where(AlumniGroup.id == group_id)) == ("Renamed", TOTTORI)


def test_merge_other_and_bulk_ids_outside_scope(app, tottori, make_alumnus):
    mine, theirs = make_alumnus(TOTTORI), make_alumnus(HYOGO, family="Hyogo")
    assert tottori.submit(f"/alumni/{mine}/merge", {"other": str(theirs), "survivor": str(mine), "confirm": "y"}).status_code == 404
    assert tottori.submit("/alumni/bulk", {"ids": [str(mine), str(theirs)], "action": "archive"}).status_code == 404


# --- Ambassadors, activities, investment -----------------------------------------------------------

def test_appointment_alumnus_and_prefecture(app, tottori, make_alumnus):
    mine, theirs = make_alumnus(TOTTORI), make_alumnus(HYOGO, family="Hyogo")
    data = {"title": "鳥取県ふるさと大使", "term_start_on": "2025-04-01"}
    assert tottori.submit("/ambassadors", {**data, "alumnus": str(theirs)}).status_code == 404
    assert tottori.submit("/ambassadors", {**OWNER_FIELDS, **data, "alumnus": str(mine)}).status_code == 303
    ambassador, = _one(app, select(Ambassador.id))
    assert _one(app, select(Ambassador.prefecture_id, Ambassador.alumnus_id)) == (TOTTORI, mine)
    prefix = f"ambassador-{ambassador}-"
    tottori.submit(f"/ambassadors/{ambassador}", {prefix + "title": "Renamed", prefix + "term_start_on": "2025-04-01", prefix + "version": "1",
                                                  prefix + "alumnus": str(theirs), "alumnus": str(theirs), **OWNER_FIELDS}, htmx=True)
    assert _one(app, select(Ambassador.prefecture_id, Ambassador.alumnus_id)) == (TOTTORI, mine)


def test_activity_alumnus_and_prefecture(app, tottori, make_alumnus):
    mine, theirs = make_alumnus(TOTTORI), make_alumnus(HYOGO, family="Hyogo")
    data = {"log-occurred_on": "2025-03-31", "log-kind": "tourism", "log-description": "Food fair"}
    assert tottori.submit("/ambassadors/activities", {**data, "log-alumnus": str(theirs)}, htmx=True).status_code == 404
    extra = {f"log-{key}": value for key, value in OWNER_FIELDS.items()}
    assert tottori.submit("/ambassadors/activities", {**OWNER_FIELDS, **extra, **data, "log-alumnus": str(mine)}).status_code == 303
    assert _one(app, select(Activity.prefecture_id, Activity.alumnus_id)) == (TOTTORI, mine)
    assert tottori.submit(f"/ambassadors/alumni/{theirs}/activities", data).status_code == 404


def test_investment_prefecture(app, tottori):
    extra = {f"new-{key}": value for key, value in OWNER_FIELDS.items()}
    assert tottori.submit("/ambassadors/investment", {"new-fiscal_year": "2024", "new-alt_count": "3", **extra, **OWNER_FIELDS}).status_code == 303
    assert _one(app, select(Investment.prefecture_id)) == (TOTTORI,)


# --- Associations: registry, members, fees, programs ----------------------------------------------

ASSOCIATION = {"name_ja": "鳥取県国際交流財団", "name_en": "Tottori International Foundation", "kind": "prefectural",
               "secretariat": "own_facility", "staff_full_time": "1", "staff_on_loan": "0", "staff_volunteers": "0"}


def test_association_prefecture(app, tottori, make_association):
    assert tottori.submit("/associations/new", {**ASSOCIATION, "prefecture": str(HYOGO)}).status_code == 422
    assert tottori.submit("/associations/new", {**OWNER_FIELDS, **ASSOCIATION, "prefecture": str(TOTTORI), "prefecture_id": str(HYOGO)}).status_code == 303
    association, prefecture = _one(app, select(Association.id, Association.prefecture_id))
    assert prefecture == TOTTORI
    tottori.submit(f"/associations/{association}", {**ASSOCIATION, "version": "1", **OWNER_FIELDS}, htmx=True)
    assert _one(app, select(Association.prefecture_id)) == (TOTTORI,)


def test_members_fees_and_programs_stay_in_their_association(app, make_user, make_association, make_member, make_fee):
    mine, theirs = make_association(TOTTORI), make_association(TOTTORI, "米子国際交流協会")
    staff = app.test_client()
    staff.login(make_user(Role.ASSOCIATION_STAFF, association=mine)[1])
    extra = {**OWNER_FIELDS, "association_id": str(theirs), "association": str(theirs)}
    assert staff.submit(f"/associations/{mine}/members/new", {"name": "山本 由美", "kind": "individual", "member_type": "regular",
                                                                "status": "active", **extra}).status_code == 303
    member, = _one(app, select(Member.id).where(Member.association_id == mine))
    prefix = f"member-{member}-"
    staff.submit(f"/associations/members/{member}", {prefix + "name": "山本", prefix + "kind": "individual", prefix + "member_type": "regular",
                                                     prefix + "status": "active", prefix + "version": "1", **extra,
                                                     prefix + "association_id": str(theirs)}, htmx=True)
    assert _one(app, select(Member.association_id).where(Member.id == member)) == (mine,)
    their_member = make_member(theirs)
    assert staff.submit(f"/associations/{mine}/fees", {"fiscal_year": "2025", "amount": "3000", "member_id": str(their_member), **extra}).status_code == 303
    with app.app_context():
        assert db.session.scalars(select(MembershipFee.member_id)).all() == [member]
    fee, = _one(app, select(MembershipFee.id))
    prefix = f"fee-{fee}-"
    staff.submit(f"/associations/fees/{fee}/pay", {prefix + "paid_on": "2025-05-01", prefix + "method": "cash", prefix + "version": "1", **extra,
                                                   prefix + "member_id": str(their_member)}, htmx=True)
    assert _one(app, select(MembershipFee.member_id, MembershipFee.paid_on.is_not(None)).where(MembershipFee.id == fee)) == (member, True)
    from tests.test_associations import PROGRAM_FORM

    assert staff.submit(f"/associations/{mine}/programs/new", {**PROGRAM_FORM, **extra}).status_code == 303
    assert _one(app, select(Program.association_id)) == (mine,)


def test_program_participation_alumnus_outside_scope(app, tottori, make_association, make_program, make_alumnus):
    program = make_program(make_association(TOTTORI))
    theirs = make_alumnus(HYOGO, family="Hyogo")
    assert tottori.submit(f"/associations/programs/{program}/alumni", {"alumnus": str(theirs)}, htmx=True).status_code == 404
    with app.app_context():
        assert db.session.scalars(select(ProgramAlumnus.alumnus_id)).all() == []


# --- Imports ---------------------------------------------------------------------------------------

def test_import_job_belongs_to_the_uploader(app, tottori, make_user, make_association):
    import io

    csv = "family_name,given_name,start_year\nSmith,John,2015\n".encode()
    tottori.submit("/imports", {"target": "alumni", "file": (io.BytesIO(csv), "people.csv"), **OWNER_FIELDS},
                   content_type="multipart/form-data")
    assert _one(app, select(ImportJob.prefecture_id)) == (TOTTORI,)
    mine, theirs = make_association(TOTTORI), make_association(TOTTORI, "米子国際交流協会")
    staff = app.test_client()
    staff.login(make_user(Role.ASSOCIATION_STAFF, association=mine)[1])
    upload = {"file": (io.BytesIO("name\n山本\n".encode()), "members.csv"), **OWNER_FIELDS}
    assert staff.submit(f"/imports/associations/{theirs}/members", upload, content_type="multipart/form-data").status_code == 404


def test_an_imported_file_naming_another_prefecture_places_people_in_the_importers_own(app, tottori):
    from crm.imports import operations
    from tests.test_imports import commit, csv_bytes, import_file, latest_job, map_and_check, upload

    data = csv_bytes([["Smith, John", "ALT", "2015-2018", "兵庫県", "28", "28"]],
                     headers=["氏名", "職種", "任用期間", "任用都道府県", "prefecture_id", "host_prefecture"])
    job = import_file(tottori, app, data)
    assert job.state == JobState.DONE, (job.state, job.errors)
    with app.app_context():
        assert db.session.scalars(select(Placement.prefecture_id)).all() == [TOTTORI]
    # Mapping a column onto the host prefecture by hand is no way round it either.
    data = csv_bytes([["Brown, Kate", "CIR", "2012-2014", "兵庫県"]], headers=["氏名", "職種", "任用期間", "任用都道府県"])
    assert upload(tottori, data).status_code == 303
    map_and_check(tottori, app, latest_job(app).id, {"任用都道府県": "host_prefecture"})
    assert operations.can_commit(latest_job(app))
    commit(tottori, latest_job(app).id)
    with app.app_context():
        assert db.session.scalars(select(Placement.prefecture_id)).all() == [TOTTORI, TOTTORI]


# --- Users -----------------------------------------------------------------------------------------

def test_admin_user_form_binds_each_role_to_what_it_needs_only(app, signed_in, make_association):
    admin = signed_in(Role.ADMIN)
    association = make_association(TOTTORI)
    password = {"new_password": "a long enough password", "confirm": "a long enough password"}
    # A binding the role does not use is dropped, never stored beside the one it needs.
    for email, role, prefecture, expected in (("p@example.jp", "prefecture_staff", TOTTORI, (TOTTORI, None)),
                                              ("a@example.jp", "association_staff", HYOGO, (None, association)),
                                              ("m@example.jp", "ministry_reviewer", HYOGO, (None, None))):
        data = {**OWNER_FIELDS, "email": email, "display_name": "New", "role": role, "prefecture": str(prefecture),
                "association": str(association), **password}
        assert admin.submit("/admin/users/new", data).status_code == 303
        assert _one(app, select(User.prefecture_id, User.association_id).where(User.email == email)) == expected
    # Association staff with no association, or an association that does not exist: refused.
    refused = {"email": "x@example.jp", "display_name": "New", "role": "association_staff", "association": "99999", **password}
    assert admin.submit("/admin/users/new", refused).status_code == 422


# --- APPI requests -------------------------------------------------------------------------------

def test_privacy_request_alumnus_and_prefecture(app, tottori, make_alumnus):
    from crm.privacy.models import PrivacyRequest

    mine, theirs = make_alumnus(TOTTORI), make_alumnus(HYOGO, family="Hyogo")
    data = {"kind": "disclosure", "received_on": "2026-11-20", "identity_verified_by": "passport", "requester_contact": "a@example.org"}
    assert tottori.submit("/privacy/requests/new", {**data, "alumnus": str(theirs)}).status_code == 404
    assert tottori.submit("/privacy/requests/new", {**OWNER_FIELDS, **data, "recorded_by_id": "999", "alumnus": str(mine)}).status_code == 303
    staff = _one(app, select(User.id).where(User.prefecture_id == TOTTORI))[0]
    assert _one(app, select(PrivacyRequest.prefecture_id, PrivacyRequest.alumnus_id, PrivacyRequest.recorded_by_id)) == (TOTTORI, mine, staff)


def test_erasure_request_alumnus_and_prefecture(app, tottori, make_alumnus):
    from crm.retention.models import ErasureRequest

    mine, theirs = make_alumnus(TOTTORI), make_alumnus(HYOGO, family="Hyogo")
    data = {"requested_on": "2026-11-30"}
    assert tottori.submit("/retention/erasure-requests", {**data, "alumnus": str(theirs)}).status_code == 404
    assert tottori.submit("/retention/erasure-requests", {**OWNER_FIELDS, **data, "recorded_by_id": "999", "alumnus": str(mine)}).status_code == 303
    staff = _one(app, select(User.id).where(User.prefecture_id == TOTTORI))[0]
    assert _one(app, select(ErasureRequest.prefecture_id, ErasureRequest.alumnus_id, ErasureRequest.recorded_by_id)) == (TOTTORI, mine, staff)


def test_self_report_prefecture_and_extra_owner_fields(app, client, make_alumnus):
    """Through a personal link: the person is the link's, the prefecture one they served in."""
    from crm.alumni.models import Alumnus
    from crm.selfservice import operations

    mine, other = make_alumnus(TOTTORI, email="me@example.org"), make_alumnus(HYOGO, family="Other")
    with app.app_context():
        token = operations.issue_link(db.session.get(Alumnus, mine))
        db.session.commit()
    data = {"occurred_on": "2025-05-01", "kind": "tourism", "description": "Tea ceremony", "status": "verified"}
    extra = {**OWNER_FIELDS, "alumnus_id": str(other), "reviewed_by_id": "1"}
    assert client.submit(f"/me/{token}/activities", {**extra, **data, "prefecture_id": str(HYOGO)}).status_code == 422
    assert client.submit(f"/me/{token}/activities", {**extra, **data, "prefecture_id": str(TOTTORI)}).status_code == 303
    assert _one(app, select(Activity.alumnus_id, Activity.prefecture_id, Activity.status, Activity.reviewed_by_id)) \
        == (mine, TOTTORI, "reported", None)


def test_member_self_service_details_ignore_owner_fields(app, client, make_association, make_member):
    """Through a member's personal link: the member is the link's, the association stays theirs."""
    from crm.associations.models import Member
    from crm.selfservice import operations

    association, other_association = make_association(), make_association(name="兵庫県国際交流協会")
    mine, other = make_member(association, email="me@example.org"), make_member(other_association, name="Other")
    with app.app_context():
        token = operations.issue_link(db.session.get(Member, mine))
        db.session.commit()
    extra = {**OWNER_FIELDS, "association_id": str(other_association), "member_id": str(other), "id": str(other), "status": "left"}
    assert client.submit(f"/me/{token}/details", {**extra, "phone": "0857-00-0000", "version": "1"}).status_code == 303
    assert _one(app, select(Member.association_id, Member.phone, Member.status).where(Member.id == mine)) == (association, "0857-00-0000", "active")
    assert _one(app, select(Member.association_id, Member.phone).where(Member.id == other)) == (other_association, None)


def test_outreach_selection_list_and_program_stay_in_scope(app, tottori, make_alumnus, make_association, make_program):
    from crm.outreach.models import MailingList, Send, Subscription

    with app.app_context():
        mine, theirs = MailingList(prefecture_id=TOTTORI, name="Fan club"), MailingList(prefecture_id=HYOGO, name="Hyogo news")
        db.session.add_all([mine, theirs])
        db.session.commit()
        mine_id, theirs_id = mine.id, theirs.id
    own, other = make_alumnus(TOTTORI), make_alumnus(HYOGO, family="Hyogo")
    assert tottori.submit("/outreach/selection", {"ids": [str(other)]}).status_code == 404
    assert tottori.submit(f"/outreach/lists/{mine_id}/subscribers", {"ids": [str(own), str(other)]}).status_code == 404
    assert tottori.submit(f"/outreach/lists/{theirs_id}/subscribers", {"ids": [str(own)]}).status_code == 404
    assert tottori.submit(f"/outreach/lists/{mine_id}/subscribers", {**OWNER_FIELDS, "list_id": str(theirs_id), "ids": [str(own)]}).status_code == 303
    assert _one(app, select(Subscription.list_id, Subscription.alumnus_id)) == (mine_id, own)
    elsewhere = make_program(make_association(prefecture=HYOGO, name="兵庫県国際交流協会"))
    data = {"action": "send", "subject_ja": "便り", "body_ja": "本文"}
    assert tottori.submit(f"/outreach/lists/{mine_id}/compose", {**data, "program_id": str(elsewhere)}).status_code == 404
    assert tottori.submit("/outreach/lists/new", {**OWNER_FIELDS, "name": "Mine", "purpose_ja": "お知らせ"}).status_code == 303
    assert _one(app, select(MailingList.prefecture_id, MailingList.association_id).where(MailingList.name == "Mine")) == (TOTTORI, None)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Send)) == 0


# --- Inventory: every field that names a prefecture, an association, a user or a record ------------

def test_outreach_member_selection_stays_in_the_lists_association(app, signed_in, make_association, make_member):
    from crm.outreach.models import MailingList, Subscription

    tia, other = make_association(), make_association(name="米子国際交流協会")
    with app.app_context():
        mine, theirs = MailingList(association_id=tia, name="TIA news"), MailingList(association_id=other, name="Yonago news")
        db.session.add_all([mine, theirs])
        db.session.commit()
        mine_id, theirs_id = mine.id, theirs.id
    own, stranger = make_member(tia, email="own@example.org"), make_member(other, name="他 会員", email="o@example.org")
    staff = signed_in(Role.ASSOCIATION_STAFF, association=tia)
    assert staff.submit("/outreach/member-selection", {"ids": [str(stranger)]}).status_code == 404
    assert staff.submit(f"/outreach/lists/{mine_id}/members", {"ids": [str(own), str(stranger)]}).status_code == 404
    assert staff.submit(f"/outreach/lists/{theirs_id}/members", {"ids": [str(own)]}).status_code == 404
    assert staff.submit(f"/outreach/lists/{mine_id}/members", {**OWNER_FIELDS, "list_id": str(theirs_id),
                                                               "ids": [str(own)]}).status_code == 303
    assert _one(app, select(Subscription.list_id, Subscription.member_id)) == (mine_id, own)


# (form class or view module, field) → the test above that covers it.
COVERED = {
    ("AlumnusCreateForm", "host_prefecture"): test_create_alumnus_host_prefecture_and_extra_owner_fields,
    ("PlacementForm", "host_prefecture"): test_add_placement_host_prefecture,
    ("ContactEntryForm", "assignee"): test_contact_assignee_staff_and_prefecture,
    ("ReassignForm", "assignee"): test_follow_up_reassign_and_snooze_owner_fields,
    ("AppointmentForm", "alumnus"): test_appointment_alumnus_and_prefecture,
    ("ActivityLogForm", "alumnus"): test_activity_alumnus_and_prefecture,
    ("NewAssociationForm", "prefecture"): test_association_prefecture,
    ("UserCreateForm", "prefecture"): test_admin_user_form_binds_each_role_to_what_it_needs_only,
    ("UserCreateForm", "association"): test_admin_user_form_binds_each_role_to_what_it_needs_only,
    ("UserEditForm", "prefecture"): test_admin_user_form_binds_each_role_to_what_it_needs_only,
    ("UserEditForm", "association"): test_admin_user_form_binds_each_role_to_what_it_needs_only,
    ("alumni/views.py", "ids"): test_merge_other_and_bulk_ids_outside_scope,
    ("alumni/views.py", "other"): test_merge_other_and_bulk_ids_outside_scope,
    ("alumni/views.py", "survivor"): test_merge_other_and_bulk_ids_outside_scope,
    ("alumni/views.py", "group"): test_networks_join_create_and_edit,
    ("associations/views.py", "alumnus"): test_program_participation_alumnus_outside_scope,
    ("RequestForm", "alumnus"): test_privacy_request_alumnus_and_prefecture,
    ("ErasureRequestForm", "alumnus"): test_erasure_request_alumnus_and_prefecture,
    ("SelfReportForm", "prefecture_id"): test_self_report_prefecture_and_extra_owner_fields,
    ("outreach/views.py", "ids"): test_outreach_selection_list_and_program_stay_in_scope,
    ("outreach/views.py", "program_id"): test_outreach_selection_list_and_program_stay_in_scope,
}
# Fields that name a record without assigning anything: why each is safe.
EXEMPT = {
    ("AuditFilterForm", "record_id"): "a GET filter of the audit trail, which only administrators open",
    ("UserAccessForm", "user"): "a GET filter of the access records, which only administrators open",
}
NAMES_AN_OWNER = re.compile(r"^(host_)?prefecture$|^(association|assignee|user|alumnus|member|program|group|owner|staff|other|survivor|ids)$|_id$")


def _form_classes():
    import crm

    for path in sorted(Path(crm.__file__).parent.rglob("forms.py")):
        module = __import__(".".join(path.relative_to(Path(crm.__file__).parents[1]).with_suffix("").parts), fromlist=["*"])
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, Form) and value.__module__ == module.__name__:
                yield value


def test_every_field_naming_an_owner_has_a_mass_assignment_case(app):
    found = set()
    with app.test_request_context():
        for form_class in _form_classes():
            for name in dir(form_class):
                if getattr(getattr(form_class, name), "field_class", None) is not None and NAMES_AN_OWNER.search(name):
                    found.add((form_class.__name__, name))
    root = Path(__file__).parents[1] / "crm"
    for path in root.rglob("*views.py"):
        for name in re.findall(r"request\.form\.(?:get|getlist)\(\s*\"([a-z_]+)\"", path.read_text(encoding="utf-8")):
            if NAMES_AN_OWNER.search(name):
                found.add((str(path.relative_to(root)), name))
    assert found - set(COVERED) - set(EXEMPT) == set(), "add a mass-assignment case for these fields"
