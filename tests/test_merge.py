"""Merging two alumni moves everything that references the merged record, whichever domain's table
it is in, and happens only after a confirmation; deleting a person takes every reference with them."""
from datetime import date, datetime, timezone

import pytest
from sqlalchemy import delete, func, select

from crm.alumni import operations
from crm.alumni.models import AlumniGroup, Alumnus, alumni_group_members
from crm.associations.models import Member, ProgramAlumnus
from crm.auth.models import Role
from crm.extensions import db
from crm.privacy.models import PrivacyRequest, RequestKind
from crm.references import referencing_columns
from crm.retention.models import Anonymisation, ErasureRequest
from crm.selfservice import operations as selfservice
from crm.selfservice.models import PersonalLink
from tests.conftest import TOTTORI


@pytest.fixture
def tottori(signed_in):
    return signed_in(Role.PREFECTURE_STAFF, prefecture=TOTTORI)


def _merge(app, survivor: int, other: int) -> None:
    with app.app_context():
        operations.merge(db.session.get(Alumnus, survivor), db.session.get(Alumnus, other))
        db.session.commit()


def _link(app, program: int, alumnus: int) -> None:
    with app.app_context():
        db.session.add(ProgramAlumnus(program_id=program, alumnus_id=alumnus))
        db.session.commit()


def _in_app(app, change):
    def run(alumnus_id: int) -> None:
        with app.app_context():
            change(db.session.get(Alumnus, alumnus_id))
            db.session.commit()
    return run


@pytest.fixture
def row_makers(app, make_alumnus, make_contact, make_activity, make_ambassador, make_association, make_program):
    """One way to give an alumnus a row in each table that references alumni ("table.column")."""
    def join_network(alumnus):
        group = AlumniGroup(prefecture_id=TOTTORI, name="World Tottori Fan Club", platform="fan_club")
        db.session.add(group)
        db.session.flush()
        operations.join_group(group, alumnus)

    def subscribe(alumnus):
        from crm.outreach import operations as outreach
        from crm.outreach.models import MailingList

        fan_club = db.session.scalar(select(MailingList).where(MailingList.name == "World Tottori Fan Club"))
        if fan_club is None:
            fan_club = MailingList(prefecture_id=TOTTORI, name="World Tottori Fan Club")
            db.session.add(fan_club)
            db.session.flush()
        outreach.subscribe(fan_club, alumnus=alumnus)

    program = make_program(make_association(TOTTORI))
    return {
        "placements.alumnus_id": lambda alumnus: None,  # every alumnus is created with one
        "contact_entries.alumnus_id": lambda alumnus: make_contact(alumnus, TOTTORI),
        "alumni_tags.alumnus_id": _in_app(app, lambda alumnus: operations.add_tag([alumnus], "Trade")),
        "alumni_group_members.alumnus_id": _in_app(app, join_network),
        "program_alumni.alumnus_id": lambda alumnus: _link(app, program, alumnus),
        "ambassadors.alumnus_id": lambda alumnus: make_ambassador(alumnus),
        "ambassador_activities.alumnus_id": lambda alumnus: make_activity(alumnus),
        "erasure_requests.alumnus_id": _in_app(app, lambda alumnus: db.session.add(
            ErasureRequest(alumnus_id=alumnus.id, prefecture_id=TOTTORI, requested_on=date(2026, 11, 30)))),
        "anonymisations.alumnus_id": _in_app(app, lambda alumnus: db.session.add(Anonymisation(alumnus_id=alumnus.id, rule="erasure"))),
        "privacy_requests.alumnus_id": _in_app(app, lambda alumnus: db.session.add(PrivacyRequest(
            prefecture_id=TOTTORI, alumnus_id=alumnus.id, kind=RequestKind.DISCLOSURE, received_on=date(2026, 11, 2),
            due_on=date(2026, 12, 2), identity_verified_by="passport", requester_contact="a@example.org"))),
        "subscriptions.alumnus_id": _in_app(app, subscribe),
        "personal_links.alumnus_id": _in_app(app, lambda alumnus: selfservice.issue_link(alumnus)),
        "self_updates.alumnus_id": _in_app(app, lambda alumnus: selfservice.confirm(alumnus)),
    }


def _references(app) -> set[str]:
    with app.app_context():
        return {f"{column.table.name}.{column.key}" for column in referencing_columns(Alumnus.__table__)}


def test_every_table_that_references_an_alumnus_moves_to_the_survivor(app, make_alumnus, row_makers):
    # A new foreign key to alumni fails here until the test gives it a row: then the merge below
    # shows whether its rows move (they do, by construction, unless a rule says otherwise).
    assert _references(app) == set(row_makers)
    survivor, other = make_alumnus(TOTTORI), make_alumnus(TOTTORI, family="Smyth")
    for make_row in row_makers.values():
        make_row(other)
    _merge(app, survivor, other)
    with app.app_context():
        for column in referencing_columns(Alumnus.__table__):
            on_other = db.session.scalar(select(func.count()).select_from(column.table).where(column == other))
            on_survivor = db.session.scalar(select(func.count()).select_from(column.table).where(column == survivor))
            assert (column.table.name, on_other) == (column.table.name, 0)
            assert on_survivor >= 1, column.table.name


# Tables whose rows are people: whatever references one must say what becomes of it when they go.
PEOPLE = (Alumnus, Member)


def _count(column, record_id) -> int:
    return db.session.scalar(select(func.count()).select_from(column.table).where(column == record_id))


def test_every_reference_to_a_person_says_what_happens_when_the_person_is_deleted(app):
    # The schema carries deletion (and the erasure of a person), as it carries a merge: a new table
    # that references a person fails here until its foreign key cascades or, if optional, clears.
    with app.app_context():
        undecided = [f"{column.table.name}.{column.key}" for person in PEOPLE for column in referencing_columns(person.__table__)
                     if not any(key.column.table is person.__table__ and (key.ondelete == "CASCADE" or (key.ondelete == "SET NULL" and column.nullable))
                                for key in column.foreign_keys)]
    assert undecided == []


def test_deleting_an_alumnus_leaves_no_row_that_references_them(app, make_alumnus, row_makers):
    assert _references(app) == set(row_makers)
    alumnus, bystander = make_alumnus(TOTTORI), make_alumnus(TOTTORI, family="Smyth")
    for make_row in row_makers.values():
        make_row(alumnus)
        make_row(bystander)
    with app.app_context():
        db.session.execute(delete(Alumnus).where(Alumnus.id == alumnus))
        db.session.commit()
        for column in referencing_columns(Alumnus.__table__):
            assert (column.table.name, _count(column, alumnus)) == (column.table.name, 0)
            assert _count(column, bystander) >= 1, column.table.name


def test_deleting_an_association_member_leaves_no_row_that_references_them(app, make_association, make_member, make_fee):
    from crm.outreach import operations as outreach
    from crm.outreach.models import MailingList

    association = make_association(TOTTORI)
    member = make_member(association)
    make_fee(member)
    with app.app_context():
        newsletter = MailingList(association_id=association, name="TIA newsletter")
        db.session.add(newsletter)
        db.session.flush()
        outreach.subscribe(newsletter, member=db.session.get(Member, member))
        db.session.add(PersonalLink(token_hash="0" * 64, member_id=member, expires_at=datetime(2099, 1, 1, tzinfo=timezone.utc)))
        selfservice.confirm_member(db.session.get(Member, member))
        db.session.commit()
        assert sorted(column.table.name for column in referencing_columns(Member.__table__)) == \
            ["membership_fees", "personal_links", "self_updates", "subscriptions"], \
            "a new table references association members: give the member a row in it here"
        db.session.execute(delete(Member).where(Member.id == member))
        db.session.commit()
        assert all(_count(column, member) == 0 for column in referencing_columns(Member.__table__))


def test_a_merge_keeps_program_participations_once(app, make_alumnus, make_association, make_program):
    association = make_association(TOTTORI)
    both, only_other = make_program(association, title="同窓会"), make_program(association, title="防災訓練")
    survivor, other = make_alumnus(TOTTORI), make_alumnus(TOTTORI, family="Smyth")
    for program, alumnus in ((both, survivor), (both, other), (only_other, other)):
        _link(app, program, alumnus)
    _merge(app, survivor, other)
    with app.app_context():
        links = db.session.execute(select(ProgramAlumnus.program_id, ProgramAlumnus.alumnus_id).order_by(ProgramAlumnus.program_id)).all()
    assert links == [(both, survivor), (only_other, survivor)]


def test_a_merge_keeps_shared_tags_and_networks_once(app, make_alumnus):
    survivor, other = make_alumnus(TOTTORI), make_alumnus(TOTTORI, family="Smyth")
    with app.app_context():
        group = AlumniGroup(prefecture_id=TOTTORI, name="Fan club", platform="fan_club")
        db.session.add(group)
        db.session.flush()
        for alumnus_id in (survivor, other):
            alumnus = db.session.get(Alumnus, alumnus_id)
            operations.add_tag([alumnus], "Trade")
            operations.join_group(group, alumnus)
        operations.add_tag([db.session.get(Alumnus, other)], "Tourism")
        db.session.commit()
        group_id = group.id
    _merge(app, survivor, other)
    with app.app_context():
        kept = db.session.get(Alumnus, survivor)
        assert sorted(tag.name for tag in kept.tags) == ["Tourism", "Trade"]
        members = db.session.scalars(select(alumni_group_members.c.alumnus_id).where(alumni_group_members.c.group_id == group_id))
        assert list(members) == [survivor]


def test_the_merge_page_shows_the_moved_programs_and_a_merge_needs_its_confirmation(app, tottori, make_alumnus,
                                                                                    make_association, make_program):
    survivor, other = make_alumnus(TOTTORI), make_alumnus(TOTTORI, family="Smyth")
    program = make_program(make_association(TOTTORI), title="同窓会")
    _link(app, program, other)
    comparison = tottori.get(f"/alumni/{survivor}/merge?other={other}").text
    assert 'name="confirm"' in comparison and "program participations" in comparison
    unconfirmed = tottori.submit(f"/alumni/{survivor}/merge", {"other": str(other), "survivor": str(survivor)})
    assert unconfirmed.status_code == 422 and "same person" in unconfirmed.text
    with app.app_context():
        assert db.session.get(Alumnus, other).archived_at is None
    confirmed = tottori.submit(f"/alumni/{survivor}/merge", {"other": str(other), "survivor": str(survivor), "confirm": "y"})
    assert confirmed.status_code == 303
    assert "同窓会" in tottori.get(f"/alumni/{survivor}").text


def test_a_record_cannot_be_compared_with_itself(tottori, make_alumnus):
    alumnus = make_alumnus(TOTTORI)
    assert tottori.get(f"/alumni/{alumnus}/merge?other={alumnus}").status_code == 302


# --- Katakana in the Latin name fields ---------------------------------------------------------------

def test_katakana_in_the_latin_name_fields_is_refused_and_points_to_the_katakana_field(app, tottori, make_alumnus):
    data = {"family_name": "スミス", "given_name": "ジョン", "host_prefecture": str(TOTTORI), "position": "alt", "start_year": "2015"}
    for family, given in (("スミス", "ジョン"), ("Smith", "じょん"), ("ｽﾐｽ", "John")):
        refused = tottori.submit("/alumni/new", {**data, "family_name": family, "given_name": given})
        assert refused.status_code == 422 and "Write this name in Latin letters" in refused.text
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Alumnus)) == 0
    alumnus = make_alumnus(TOTTORI)
    section = {"profile-family_name": "スミス", "profile-given_name": "John", "profile-version": "1"}
    assert tottori.submit(f"/alumni/{alumnus}/sections/profile", section, htmx=True).status_code == 422
    # A name spelt in kanji is a spelling, not a reading: kept as written.
    assert tottori.submit("/alumni/new", {**data, "family_name": "髙橋", "given_name": "John"}).status_code == 303


def test_a_record_holding_katakana_in_its_latin_fields_and_john_smith_find_each_other(app, tottori, make_alumnus):
    # Stored before the forms refused it (or by a script): the kana is read as the name's reading.
    written_in_kana = make_alumnus(TOTTORI, family="スミス", given="ジョン", start_year=2012)
    john_smith = make_alumnus(TOTTORI, family="Smith", given="John", start_year=2018)
    assert f"other={written_in_kana}" in tottori.get(f"/alumni/{john_smith}/merge").text
    assert f"other={john_smith}" in tottori.get(f"/alumni/{written_in_kana}/merge").text
    data = {"family_name": "Smith", "given_name": "John", "host_prefecture": str(TOTTORI), "position": "alt", "start_year": "2020",
            "email": "someone@example.org"}
    warned = tottori.submit("/alumni/new", data)
    assert warned.status_code == 422 and "スミス" in warned.text
