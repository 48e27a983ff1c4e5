"""Lists and records: select all matching, deleting a placement, follow-ups (upcoming, snooze,
reassign), the tag filter after tagging, the administrator's prefecture filter."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from crm import clock
from crm.alumni.models import Alumnus, ContactEntry, Placement, Position
from crm.audit import AuditEntry
from crm.auth.models import Role
from crm.extensions import db

from tests.conftest import HYOGO, TOTTORI, fragment


@pytest.fixture
def tottori(signed_in):
    return signed_in(Role.PREFECTURE_STAFF, prefecture=TOTTORI)


def _tags(app, alumnus_id) -> list[str]:
    with app.app_context():
        return [tag.name for tag in db.session.get(Alumnus, alumnus_id).tags]


# --- Select all N matching -------------------------------------------------------------------------

def test_list_offers_select_all_matching_when_the_matches_span_pages(app, tottori, make_alumnus, monkeypatch):
    monkeypatch.setitem(app.config, "PAGE_SIZE", 2)
    for family in ("Able", "Baker", "Carter"):
        make_alumnus(TOTTORI, family=family, employer="Pear Co")
    html = tottori.get("/alumni?q=pear").get_data(as_text=True)
    assert 'name="all_matching" value="3"' in html and "Select all 3 matching" in html
    assert 'name="match-q" value="pear"' in html


def test_select_all_matching_tags_every_match_of_the_filter_and_nobody_else(app, tottori, make_alumnus):
    matches = [make_alumnus(TOTTORI, family=family, employer="Pear Co") for family in ("Able", "Baker", "Carter")]
    other = make_alumnus(TOTTORI, family="Dawson", employer="Crab Co")
    hyogo = make_alumnus(HYOGO, family="Evans", employer="Pear Co")
    response = tottori.submit("/alumni/bulk", {"all_matching": "3", "match-q": "pear", "action": "add_tag", "tag": "Pears"},
                              htmx=True)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert all(_tags(app, alumnus) == ["Pears"] for alumnus in matches)
    assert _tags(app, other) == [] and _tags(app, hyogo) == []


def test_select_all_matching_refuses_with_409_when_the_count_changed(app, tottori, make_alumnus):
    first = make_alumnus(TOTTORI, family="Able", employer="Pear Co")
    make_alumnus(TOTTORI, family="Baker", employer="Pear Co")
    response = tottori.submit("/alumni/bulk", {"all_matching": "5", "match-q": "pear", "action": "archive"}, htmx=True)
    assert response.status_code == 409 and "2 people match now" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Alumnus, first).archived_at is None


def test_tagging_updates_the_tag_filter_out_of_band(app, tottori, make_alumnus):
    alumnus = make_alumnus(TOTTORI)
    response = tottori.submit("/alumni/bulk", {"ids": [str(alumnus)], "action": "add_tag", "tag": "Brand new"}, htmx=True)
    html = response.get_data(as_text=True)
    assert 'id="tag-filter" hx-swap-oob="true"' in html and "Brand new" in html.split('id="tag-filter"')[1]
    assert 'id="tag-names" hx-swap-oob="true"' in html


# --- The administrator's prefecture filter ---------------------------------------------------------

def test_admin_filters_the_alumni_list_by_prefecture(signed_in, make_alumnus):
    make_alumnus(TOTTORI, family="Tottorian")
    make_alumnus(HYOGO, family="Hyogoan")
    admin = signed_in(Role.ADMIN)
    assert 'name="prefecture"' in admin.get("/alumni").get_data(as_text=True)
    html = admin.get(f"/alumni?prefecture={HYOGO}").get_data(as_text=True)
    assert "HYOGOAN" in html.upper() and "TOTTORIAN" not in html.upper()
    assert admin.get("/alumni?prefecture=99").status_code == 404


def test_prefecture_staff_get_no_prefecture_filter_and_cannot_widen_their_scope(tottori, make_alumnus):
    make_alumnus(HYOGO, family="Hyogoan")
    make_alumnus(TOTTORI, family="Tottorian")
    assert 'name="prefecture"' not in tottori.get("/alumni").get_data(as_text=True)
    html = tottori.get(f"/alumni?prefecture={HYOGO}").get_data(as_text=True)
    assert "HYOGOAN" not in html.upper() and "TOTTORIAN" in html.upper()


# --- Deleting a placement --------------------------------------------------------------------------

def _placements(app, alumnus_id) -> list[Placement]:
    with app.app_context():
        return list(db.session.scalars(select(Placement).where(Placement.alumnus_id == alumnus_id).order_by(Placement.start_year)))


def _add_second_placement(app, alumnus_id, prefecture=TOTTORI):
    with app.app_context():
        db.session.add(Placement(alumnus_id=alumnus_id, prefecture_id=prefecture, position=Position.ALT, start_year=2020, end_year=2021))
        db.session.commit()


def test_delete_a_placement_confirmed_and_audited(app, tottori, make_user, make_alumnus):
    alumnus = make_alumnus(TOTTORI)
    _add_second_placement(app, alumnus)
    wrong = _placements(app, alumnus)[1]
    page = tottori.get(f"/alumni/{alumnus}").get_data(as_text=True)
    assert f"/alumni/placements/{wrong.id}/delete" in page and "Delete this placement" in page
    unconfirmed = tottori.submit(f"/alumni/placements/{wrong.id}/delete", {"version": str(wrong.version)}, htmx=True)
    assert unconfirmed.status_code == 422 and len(_placements(app, alumnus)) == 2
    response = tottori.submit(f"/alumni/placements/{wrong.id}/delete", {"version": str(wrong.version), "confirm": "y"}, htmx=True)
    assert response.status_code == 200 and fragment(response.get_data(as_text=True))
    assert "Placement deleted" in response.headers["HX-Trigger"]
    assert [p.start_year for p in _placements(app, alumnus)] == [2015]
    with app.app_context():
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "delete", AuditEntry.record_type == "placements",
                                                           AuditEntry.record_id == str(wrong.id)))
        assert entry is not None and entry.changes
    # The audit trail names the deleted placement without a link to a page that no longer exists.
    admin = app.test_client()
    admin.login(make_user(Role.ADMIN)[1])
    trail = admin.get("/admin/audit?action=delete").get_data(as_text=True)
    assert f"Placement {wrong.id}" in trail and f"/alumni/placements/{wrong.id}\"" not in trail


def test_delete_a_placement_changed_meanwhile_answers_409(app, tottori, make_alumnus):
    alumnus = make_alumnus(TOTTORI)
    _add_second_placement(app, alumnus)
    placement = _placements(app, alumnus)[1]
    response = tottori.submit(f"/alumni/placements/{placement.id}/delete", {"version": str(placement.version - 1 or 99), "confirm": "y"},
                              htmx=True)
    assert response.status_code == 409 and "Someone else changed this record" in response.get_data(as_text=True)
    assert len(_placements(app, alumnus)) == 2


def test_the_last_placement_cannot_be_deleted(app, tottori, make_alumnus):
    alumnus = make_alumnus(TOTTORI)
    only = _placements(app, alumnus)[0]
    response = tottori.submit(f"/alumni/placements/{only.id}/delete", {"version": str(only.version), "confirm": "y"}, htmx=True)
    assert response.status_code == 422 and "only placement" in response.get_data(as_text=True)
    plain = tottori.submit(f"/alumni/placements/{only.id}/delete", {"version": str(only.version), "confirm": "y"})
    assert plain.status_code == 303
    assert len(_placements(app, alumnus)) == 1


def test_staff_cannot_delete_another_prefectures_placement(app, tottori, make_alumnus):
    shared = make_alumnus(TOTTORI, HYOGO)
    hyogo = [p for p in _placements(app, shared) if p.prefecture_id == HYOGO][0]
    response = tottori.submit(f"/alumni/placements/{hyogo.id}/delete", {"version": str(hyogo.version), "confirm": "y"}, htmx=True)
    assert response.status_code == 403 and len(_placements(app, shared)) == 2


# --- Follow-ups: snooze and reassign ---------------------------------------------------------------

def test_snooze_moves_a_follow_up_and_refuses_the_past(app, client, make_user, make_alumnus, make_contact):
    me, email = make_user(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    client.login(email)
    entry = make_contact(make_alumnus(TOTTORI), TOTTORI, follow_up_on=clock.today(), assignee_id=me)
    past = client.submit(f"/alumni/contacts/{entry}/snooze", {"follow_up_on": (clock.today() - timedelta(days=1)).isoformat()}, htmx=True)
    assert past.status_code == 422 and "today or a later day" in past.get_data(as_text=True)
    later = clock.today() + timedelta(days=30)
    response = client.submit(f"/alumni/contacts/{entry}/snooze", {"follow_up_on": later.isoformat()}, htmx=True)
    assert response.status_code == 200 and "crm:notice" in response.headers["HX-Trigger"]
    with app.app_context():
        assert db.session.get(ContactEntry, entry).follow_up_on == later


def test_reassign_within_the_office_only(app, client, make_user, make_alumnus, make_contact):
    me, email = make_user(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    colleague, _ = make_user(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    hyogo_staff, _ = make_user(Role.PREFECTURE_STAFF, prefecture=HYOGO)
    client.login(email)
    entry = make_contact(make_alumnus(TOTTORI), TOTTORI, follow_up_on=clock.today(), assignee_id=me)
    refused = client.submit(f"/alumni/contacts/{entry}/reassign", {"assignee": str(hyogo_staff)}, htmx=True)
    assert refused.status_code == 422
    with app.app_context():
        assert db.session.get(ContactEntry, entry).assignee_id == me
    response = client.submit(f"/alumni/contacts/{entry}/reassign", {"assignee": str(colleague)}, htmx=True)
    assert response.status_code == 200 and "assigned to" in response.headers["HX-Trigger"]
    with app.app_context():
        assert db.session.get(ContactEntry, entry).assignee_id == colleague


def test_another_prefectures_follow_up_cannot_be_snoozed_or_reassigned(app, tottori, make_alumnus, make_contact):
    entry = make_contact(make_alumnus(TOTTORI, HYOGO), HYOGO, follow_up_on=clock.today())
    assert tottori.submit(f"/alumni/contacts/{entry}/snooze", {"follow_up_on": clock.today().isoformat()}, htmx=True).status_code == 404
    assert tottori.submit(f"/alumni/contacts/{entry}/reassign", {"assignee": "1"}, htmx=True).status_code == 404


def test_stale_network_edit_keeps_what_the_user_typed(app, tottori):
    assert tottori.submit("/alumni/groups/new", {"name": "Tottori friends", "platform": "facebook"}).status_code == 303
    with app.app_context():
        from crm.alumni.models import AlumniGroup

        group = db.session.scalar(select(AlumniGroup).where(AlumniGroup.name == "Tottori friends"))
        group_id, version = group.id, group.version
    data = {"platform": "facebook", "version": str(version)}
    assert tottori.submit(f"/alumni/groups/{group_id}/edit", {**data, "name": "First rename"}).status_code == 303
    stale = tottori.submit(f"/alumni/groups/{group_id}/edit", {**data, "name": "Second rename"})
    html = stale.get_data(as_text=True)
    assert stale.status_code == 409 and 'value="First rename"' in html and "You entered: Second rename" in html
