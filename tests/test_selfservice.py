"""Self-service by personal link: tokens, the request page, what a person may change, the staff feed."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from crm import disclosure
from crm.alumni.models import Alumnus
from crm.ambassadors.models import Activity, ActivityStatus
from crm.audit import AuditEntry
from crm.auth.models import Role, User
from crm.db import utcnow
from crm.extensions import db
from crm.mail import OutboxMessage, deliver_due
from crm.selfservice import operations
from crm.selfservice.models import PersonalLink, SelfUpdate
from tests.conftest import HYOGO, TOTTORI, fragment

OSAKA = 27


@pytest.fixture
def outbox(app):
    """The letters in the mail room's outbox (crm/mail), oldest first, as dicts."""

    class Outbox:
        def rows(self):
            with app.app_context():
                return [{"to": m.to_address, "text": m.text_body, "batch": m.batch, "recipient_key": m.recipient_key,
                         "subject": m.subject} for m in db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))]

        def __len__(self):
            return len(self.rows())

        def __getitem__(self, index):
            return self.rows()[index]

        def __iter__(self):
            return iter(self.rows())

    return Outbox()


@pytest.fixture
def link_for(app):
    """Factory: a fresh personal link for an alumnus → its token."""

    def make(alumnus_id: int) -> str:
        with app.app_context():
            token = operations.issue_link(db.session.get(Alumnus, alumnus_id))
            db.session.commit()
            return token

    return make


def _token_in(letter) -> str:
    return re.search(r"/me/([A-Za-z0-9_-]+)", letter["text"]).group(1)


def _main(html: str) -> str:
    return re.sub(r'name="csrf_token"[^>]*|"X-CSRFToken": "[^"]*"', "", html)


# --- The request page ------------------------------------------------------------------------------

def test_request_page_answers_the_same_whether_the_address_is_known(client, make_alumnus, outbox):
    make_alumnus(TOTTORI, email="known@example.org")
    known = client.submit("/me", {"email": "Known@Example.org"})
    unknown = client.submit("/me", {"email": "nobody@example.org"})
    assert known.status_code == unknown.status_code == 200
    assert _main(known.get_data(as_text=True)) == _main(unknown.get_data(as_text=True))
    assert len(outbox) == 1 and outbox[0]["to"] == "known@example.org" and outbox[0]["batch"] == "selfservice.link"


def test_a_mailed_link_opens_the_record_and_only_its_hash_is_stored(app, client, make_alumnus, outbox):
    alumnus = make_alumnus(TOTTORI, family="Lovelace", email="ada@example.org")
    client.submit("/me", {"email": "ada@example.org"})
    token = _token_in(outbox[0])
    assert len(token) >= 43  # 32 random bytes
    with app.app_context():
        link = db.session.scalar(select(PersonalLink))
        assert link.alumnus_id == alumnus and link.token_hash == operations.token_hash(token) and token not in link.token_hash
        assert timedelta(days=13) < link.expires_at - utcnow() <= timedelta(days=14)
        assert not db.session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.changes.cast(db.String).contains(token)))
    assert "LOVELACE" in client.get(f"/me/{token}").get_data(as_text=True) or "Lovelace" in client.get(f"/me/{token}").get_data(as_text=True)


def test_requests_are_limited_per_address_and_per_client(client, make_alumnus, outbox):
    for _ in range(3):
        assert client.submit("/me", {"email": "same@example.org"}).status_code == 200
    assert client.submit("/me", {"email": "same@example.org"}).status_code == 429
    for number in range(6):
        client.submit("/me", {"email": f"other{number}@example.org"})
    assert client.submit("/me", {"email": "fresh@example.org"}).status_code == 429


# --- Hostile tokens --------------------------------------------------------------------------------

def test_forged_expired_and_revoked_tokens_open_and_change_nothing(app, client, make_alumnus, link_for):
    alumnus = make_alumnus(TOTTORI, email="a@example.org", employer="Old Co")
    revoked = link_for(alumnus)
    with app.app_context():
        operations.revoke_links(db.session.get(Alumnus, alumnus))
        db.session.commit()
    expired = link_for(alumnus)
    with app.app_context():
        db.session.scalar(select(PersonalLink).where(PersonalLink.token_hash == operations.token_hash(expired))).expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    assert client.get("/me/").status_code == 404
    for token in ("forged-" + "x" * 40, expired, revoked, "a" * 500):
        assert client.get(f"/me/{token}").status_code == 404
        assert client.submit(f"/me/{token}/details", {"employer": "Hacked", "version": "1"}).status_code == 404
        assert client.submit(f"/me/{token}/confirm").status_code == 404
    with app.app_context():
        record = db.session.get(Alumnus, alumnus)
        assert record.employer == "Old Co" and record.confirmed_on is None


def test_a_link_revoked_by_staff_cannot_be_replayed(app, client, signed_in, make_alumnus, link_for):
    alumnus = make_alumnus(TOTTORI, email="a@example.org")
    token = link_for(alumnus)
    assert client.get(f"/me/{token}").status_code == 200
    staff = signed_in()
    assert staff.submit(f"/self-service/alumni/{alumnus}/links/revoke").status_code == 303
    staff.submit("/logout")
    assert client.get(f"/me/{token}").status_code == 404
    assert client.submit(f"/me/{token}/confirm").status_code == 404


def test_a_link_shows_nothing_about_anyone_else_and_changes_only_its_person(app, client, make_alumnus, make_activity, link_for):
    mine = make_alumnus(TOTTORI, family="Mine", email="mine@example.org")
    other = make_alumnus(TOTTORI, family="Otherperson", email="other@example.org", employer="Other Co")
    make_activity(other, description="Secret activity of someone else")
    token = link_for(mine)
    page = client.get(f"/me/{token}").get_data(as_text=True)
    assert "OTHERPERSON" not in page.upper() and "other@example.org" not in page and "Secret activity" not in page
    # An owner in the form is ignored: the link's person is the one changed.
    with app.app_context():
        version = db.session.get(Alumnus, mine).version
    response = client.submit(f"/me/{token}/details", {"employer": "New Co", "alumnus_id": str(other), "id": str(other),
                                                      "cease_use": "y", "version": str(version)})
    assert response.status_code == 303
    with app.app_context():
        assert db.session.get(Alumnus, mine).employer == "New Co" and not db.session.get(Alumnus, mine).cease_use
        assert db.session.get(Alumnus, other).employer == "Other Co"


def test_a_stale_details_form_is_refused_with_409(app, client, make_alumnus, link_for):
    alumnus = make_alumnus(TOTTORI, email="a@example.org")
    token = link_for(alumnus)
    assert client.submit(f"/me/{token}/details", {"employer": "X", "version": "0"}).status_code == 409


# --- What a person does through the link -----------------------------------------------------------

def test_corrections_and_confirmation_are_audited_with_the_person_as_actor(app, client, make_alumnus, link_for):
    alumnus = make_alumnus(TOTTORI, email="a@example.org", employer="Old Co")
    token = link_for(alumnus)
    with app.app_context():
        version = db.session.get(Alumnus, alumnus).version
    client.submit(f"/me/{token}/details", {"email": "a@example.org", "employer": "New Co", "job_title": "CEO", "version": str(version)})
    client.submit(f"/me/{token}/confirm")
    with app.app_context():
        record = db.session.get(Alumnus, alumnus)
        assert record.employer == "New Co" and record.job_title == "CEO" and record.confirmed_on is not None
        entries = db.session.scalars(select(AuditEntry).where(AuditEntry.record_type == "alumni", AuditEntry.action == "update")
                                     .order_by(AuditEntry.id)).all()
        assert {entry.actor for entry in entries} == {f"alumnus:{alumnus}"}
        assert all(entry.actor_id is None for entry in entries)
        assert entries[0].changes["employer"] == {"old": "Old Co", "new": "New Co"}


def test_a_reported_activity_is_unverified_the_persons_own_and_for_a_prefecture_they_served_in(app, client, make_alumnus, link_for):
    alumnus = make_alumnus(TOTTORI, HYOGO, email="a@example.org")
    other = make_alumnus(TOTTORI, family="Else")
    token = link_for(alumnus)
    values = {"occurred_on": "2025-05-01", "kind": "tourism", "country": "US", "prefecture_id": str(HYOGO),
              "description": "<script>alert(1)</script> **bold**", "people_reached": "120",
              # Hostile extras: never applied.
              "status": "verified", "alumnus_id": str(other), "reviewed_by_id": "1", "self_reported": "", "fiscal_year": "1990"}
    assert client.submit(f"/me/{token}/activities", values).status_code == 303
    # A prefecture the person never served in is not a choice.
    assert client.submit(f"/me/{token}/activities", {**values, "prefecture_id": str(OSAKA)}).status_code == 422
    with app.app_context():
        activity = db.session.scalar(select(Activity))
        assert db.session.scalar(select(func.count()).select_from(Activity)) == 1
        assert (activity.alumnus_id, activity.prefecture_id, activity.status, activity.self_reported) == (alumnus, HYOGO, ActivityStatus.REPORTED, True)
        assert activity.reviewed_by_id is None and activity.fiscal_year == 2025 and activity.people_reached == 120
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.record_type == "ambassador_activities"))
        assert entry.actor == f"alumnus:{alumnus}"
        with pytest.raises(PermissionError):
            operations.report_activity(db.session.get(Alumnus, alumnus), OSAKA, {"occurred_on": activity.occurred_on, "kind": "tourism", "description": "x"})
    page = client.get(f"/me/{token}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page


# --- Staff ----------------------------------------------------------------------------------------

def _self_update(app, client, token, alumnus, **values):
    with app.app_context():
        version = db.session.get(Alumnus, alumnus).version
    client.submit(f"/me/{token}/details", {"email": "a@example.org", **values, "version": str(version)})


def test_staff_see_the_feed_of_their_prefecture_and_undo_a_self_update(app, client, signed_in, make_alumnus, make_user, link_for):
    alumnus = make_alumnus(TOTTORI, email="a@example.org", employer="Old Co")
    token = link_for(alumnus)
    _self_update(app, client, token, alumnus, employer="Wrong Co")
    staff = signed_in()
    feed = staff.htmx_get("/self-service/feed").get_data(as_text=True)
    assert fragment(feed) and "Wrong Co" in feed
    assert not fragment(staff.get("/self-service/feed").get_data(as_text=True))
    assert "self-service/feed" in staff.get("/").get_data(as_text=True)
    with app.app_context():
        update_id = db.session.scalar(select(SelfUpdate.id))
    # Another prefecture does not see it or reach it.
    hyogo = app.test_client()
    hyogo.login(make_user(Role.PREFECTURE_STAFF, prefecture=HYOGO)[1])
    assert "Wrong Co" not in hyogo.htmx_get("/self-service/feed").get_data(as_text=True)
    assert hyogo.submit(f"/self-service/updates/{update_id}/undo").status_code == 404
    response = staff.submit(f"/self-service/updates/{update_id}/undo", htmx=True)
    assert response.status_code == 200 and "HX-Trigger" in response.headers
    with app.app_context():
        assert db.session.get(Alumnus, alumnus).employer == "Old Co"
        assert db.session.get(SelfUpdate, update_id).undone_at is not None
        undo_entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "update").order_by(AuditEntry.id.desc()))
        assert undo_entry.actor_id is not None and undo_entry.changes["employer"] == {"old": "Wrong Co", "new": "Old Co"}
        assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "self_update_undone")) is not None
    # Twice is refused, as is an undo over a newer change.
    assert staff.submit(f"/self-service/updates/{update_id}/undo", htmx=True).status_code == 409
    _self_update(app, client, token, alumnus, employer="Second Co")
    _self_update(app, client, token, alumnus, employer="Third Co")
    with app.app_context():
        second = db.session.scalars(select(SelfUpdate.id).order_by(SelfUpdate.id)).all()[1]
    assert staff.submit(f"/self-service/updates/{second}/undo", htmx=True).status_code == 409
    with app.app_context():
        assert db.session.get(Alumnus, alumnus).employer == "Third Co"


def test_staff_send_a_link_from_the_alumnus_page(app, signed_in, make_alumnus, outbox):
    alumnus = make_alumnus(TOTTORI, email="a@example.org")
    staff = signed_in()
    assert "self-service/alumni" in staff.get(f"/alumni/{alumnus}").get_data(as_text=True)
    response = staff.submit(f"/self-service/alumni/{alumnus}/links", htmx=True)
    assert response.status_code == 200 and fragment(response.get_data(as_text=True))
    assert len(outbox) == 1 and outbox[0]["recipient_key"] == f"alumnus:{alumnus}"
    with app.app_context():
        link = db.session.scalar(select(PersonalLink))
        assert link.created_by_id is not None
        assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "link_sent")).record_id == str(alumnus)


def test_the_annual_confirmation_goes_to_the_prefectures_alumni_with_email_and_not_ceased(app, signed_in, make_alumnus, outbox):
    make_alumnus(TOTTORI, family="One", email="one@example.org")
    make_alumnus(TOTTORI, HYOGO, family="Two", email="two@example.org")
    make_alumnus(TOTTORI, family="Nomail")
    make_alumnus(TOTTORI, family="Ceased", email="ceased@example.org", cease_use=True)
    make_alumnus(HYOGO, family="Hyogo", email="hyogo@example.org")
    staff = signed_in()
    assert staff.submit("/self-service/confirmation").status_code == 303
    assert sorted(letter["to"] for letter in outbox) == ["one@example.org", "two@example.org"]
    assert all(letter["batch"].startswith(f"selfservice.confirm:{TOTTORI}") for letter in outbox)
    assert len({_token_in(letter) for letter in outbox}) == 2
    with app.app_context():
        assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "confirm_mailing")).details["letters"] == 2


def test_registry_currency_is_a_protected_share(app, make_alumnus, link_for, client):
    ids = [make_alumnus(TOTTORI, family=f"P{n}", email=f"p{n}@example.org") for n in range(30)]
    for alumnus in ids[:12]:
        client.submit(f"/me/{link_for(alumnus)}/confirm")
    with app.app_context():
        assert operations.currency_of(TOTTORI) == (12, 30)
        assert operations.protected_share(12, 30) == 40.0
        assert disclosure.is_suppressed(operations.protected_share(5, 30))
        assert disclosure.is_suppressed(operations.protected_share(25, 30))  # 5 not current: the complement
        assert operations.protected_share(0, 0) is None


def test_the_national_dashboard_shows_currency_per_prefecture(app, signed_in):
    reviewer = signed_in(Role.MINISTRY_REVIEWER)
    assert "self-service/currency" in reviewer.get("/reports/national").get_data(as_text=True)
    table = reviewer.htmx_get("/self-service/currency").get_data(as_text=True)
    assert fragment(table) and "Tottori" in table or "鳥取" in table


def test_the_link_is_mailed_by_the_outbox_worker_with_the_configured_base_url(app, client, make_alumnus, smtp_sink, monkeypatch):
    make_alumnus(TOTTORI, given="Ada", email="ada@example.org")
    # A forged Host header does not end up in the mail: links come from CRM_BASE_URL. (The session
    # cookie is the test host's, so CSRF is off for this one request from "another host".)
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", False)
    assert client.post("/me", data={"email": "ada@example.org"}, headers={"Host": "evil.example"}).status_code == 200
    assert smtp_sink.messages == []  # nothing sent on the request path
    deliver_due(app)
    (message,) = smtp_sink.messages
    body = message.get_body(("plain",)).get_content()
    assert message["To"].addresses[0].addr_spec == "ada@example.org"
    assert "evil.example" not in body and f"{app.config['BASE_URL']}/me/" in body


def _subscribed(app, alumnus_id: int, name: str, prefecture: int = TOTTORI) -> int:
    from crm.outreach import operations as outreach
    from crm.outreach.models import MailingList

    with app.app_context():
        mailing_list = MailingList(prefecture_id=prefecture, name=name, purpose_en=f"News of {name}", purpose_ja=f"{name}のお知らせ")
        db.session.add(mailing_list)
        db.session.flush()
        subscription = outreach.subscribe(mailing_list, alumnus=db.session.get(Alumnus, alumnus_id))
        db.session.commit()
        return subscription.id


def test_a_person_unsubscribes_from_their_own_list_only(app, client, make_alumnus, link_for, signed_in):
    from crm.outreach.models import ConsentEvent, Subscription, SubscriptionStatus

    alumnus = make_alumnus(TOTTORI, email="a@example.org")
    other = make_alumnus(TOTTORI, family="Else", email="else@example.org")
    mine, theirs = _subscribed(app, alumnus, "World Tottori Fan Club"), _subscribed(app, other, "Other list")
    token = link_for(alumnus)
    page = client.get(f"/me/{token}").get_data(as_text=True)
    assert "World Tottori Fan Club" in page and "News of World Tottori Fan Club" in page and "Other list" not in page
    assert client.submit(f"/me/{token}/subscriptions/{theirs}", {"subscribed": "0"}).status_code == 404
    assert client.submit(f"/me/{token}/subscriptions/{mine}", {"subscribed": "0"}).status_code == 303
    with app.app_context():
        assert db.session.get(Subscription, mine).status == SubscriptionStatus.UNSUBSCRIBED
        assert db.session.get(Subscription, theirs).status == SubscriptionStatus.SUBSCRIBED
        assert db.session.scalar(select(func.count()).select_from(ConsentEvent).where(ConsentEvent.subscription_id == mine)) == 2
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.record_type == "subscriptions", AuditEntry.action == "update").order_by(AuditEntry.id.desc()))
        assert entry.actor == f"alumnus:{alumnus}"
        update = db.session.scalar(select(SelfUpdate).where(SelfUpdate.kind == "subscription"))
    # Staff see it, and cannot undo a person's consent decision.
    staff = signed_in()
    assert "World Tottori Fan Club" in staff.htmx_get("/self-service/feed").get_data(as_text=True)
    assert staff.submit(f"/self-service/updates/{update.id}/undo", htmx=True).status_code == 409


def test_the_worker_queues_the_letter_without_a_request(app, make_alumnus, outbox):
    """The request page only enqueues; the task (run by `flask --app crm worker`) needs no request."""
    make_alumnus(TOTTORI, email="worker@example.org")
    with app.app_context():
        operations.run_link_request("worker@example.org")
        operations.run_link_request("nobody@example.org")
    (letter,) = outbox
    assert letter["to"] == "worker@example.org" and f"{app.config['BASE_URL']}/me/" in letter["text"]


# --- Invitations (RSVP) through the link --------------------------------------------------------------

def _invited(app, alumnus_id: int, list_name: str, program_id: int) -> tuple[int, int]:
    """A subscription of the alumnus to a new list and a send from it inviting to the program → (subscription, send)."""
    from crm.outreach import operations as outreach
    from crm.outreach.models import MailingList

    subscription = _subscribed(app, alumnus_id, list_name)
    with app.app_context():
        from crm.outreach.models import Subscription

        mailing_list = db.session.get(Subscription, subscription).mailing_list
        send = outreach.create_send(db.session.get(MailingList, mailing_list.id), None,
                                    {"subject_ja": "招待", "body_ja": "どうぞ"}, program_id=program_id)
        db.session.commit()
        return subscription, send.id


def test_a_person_answers_their_own_pending_invitations_only(app, client, make_alumnus, make_association, make_program, link_for):
    from datetime import date

    from crm import clock
    from crm.outreach.models import Rsvp, RsvpAnswer

    association = make_association()
    upcoming = make_program(association, title="Furusato festival", day=clock.today() + timedelta(days=30))
    past = make_program(association, title="Last year's fair", day=date(2020, 6, 1))
    someone_elses = make_program(association, title="Private dinner", day=clock.today() + timedelta(days=30))
    alumnus = make_alumnus(TOTTORI, email="a@example.org")
    other = make_alumnus(TOTTORI, family="Else", email="else@example.org")
    _, send = _invited(app, alumnus, "Festival list", upcoming)
    _, old_send = _invited(app, alumnus, "Fair list", past)
    _, theirs = _invited(app, other, "Dinner list", someone_elses)
    token = link_for(alumnus)
    page = client.get(f"/me/{token}").get_data(as_text=True)
    assert "Furusato festival" in page and "Private dinner" not in page and "Last year" not in page
    # Another person's invitation, a past program, a made-up answer: 404, nothing recorded.
    assert client.submit(f"/me/{token}/invitations/{theirs}", {"answer": "attend"}).status_code == 404
    assert client.submit(f"/me/{token}/invitations/{old_send}", {"answer": "attend"}).status_code == 404
    assert client.submit(f"/me/{token}/invitations/{send}", {"answer": "maybe"}).status_code == 404
    assert client.submit(f"/me/{token}/invitations/{send}", {"answer": "attend"}).status_code == 303
    assert client.submit(f"/me/{token}/invitations/{send}", {"answer": "decline"}).status_code == 303
    with app.app_context():
        (rsvp,) = db.session.scalars(select(Rsvp)).all()
        assert rsvp.send_id == send and rsvp.answer == RsvpAnswer.DECLINE
        entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "rsvp_answered")).all()
        assert len(entries) == 2 and {e.actor for e in entries} == {f"alumnus:{alumnus}"}
    assert "Will not attend" in client.get(f"/me/{token}").get_data(as_text=True)
    # Revoked: the link answers nothing more.
    with app.app_context():
        operations.revoke_links(db.session.get(Alumnus, alumnus))
        db.session.commit()
    assert client.submit(f"/me/{token}/invitations/{send}", {"answer": "attend"}).status_code == 404
    with app.app_context():
        assert db.session.scalar(select(Rsvp.answer)) == RsvpAnswer.DECLINE


# --- Hostile paths (the issue's list) -----------------------------------------------------------------

def test_a_link_replayed_after_revocation_reaches_no_route_and_changes_nothing(app, client, make_alumnus, link_for,
                                                                               make_association, make_program):
    from crm import clock
    from crm.outreach.models import Rsvp, Subscription, SubscriptionStatus

    alumnus = make_alumnus(TOTTORI, email="a@example.org", employer="Old Co")
    program = make_program(make_association(), day=clock.today() + timedelta(days=30))
    subscription, send = _invited(app, alumnus, "Festival list", program)
    token = link_for(alumnus)
    assert client.get(f"/me/{token}").status_code == 200
    with app.app_context():
        version = db.session.get(Alumnus, alumnus).version
        operations.revoke_links(db.session.get(Alumnus, alumnus))
        db.session.commit()
    activity = {"occurred_on": "2025-05-01", "kind": "tourism", "country": "US", "prefecture_id": str(TOTTORI), "description": "x"}
    for path, data in ((f"/me/{token}/details", {"employer": "Hacked", "version": str(version)}), (f"/me/{token}/confirm", {}),
                       (f"/me/{token}/activities", activity), (f"/me/{token}/subscriptions/{subscription}", {"subscribed": "0"}),
                       (f"/me/{token}/invitations/{send}", {"answer": "attend"})):
        assert client.submit(path, data).status_code == 404, path
    assert client.get(f"/me/{token}").status_code == 404
    with app.app_context():
        record = db.session.get(Alumnus, alumnus)
        assert record.employer == "Old Co" and record.confirmed_on is None
        assert db.session.get(Subscription, subscription).status == SubscriptionStatus.SUBSCRIBED
        assert db.session.scalar(select(func.count()).select_from(Activity)) == 0
        assert db.session.scalar(select(func.count()).select_from(Rsvp)) == 0
        assert db.session.scalar(select(func.count()).select_from(SelfUpdate)) == 0


@pytest.mark.parametrize("state", ["archived", "ceased"])
def test_a_link_of_a_person_archived_or_under_cease_of_use_opens_nothing(app, client, make_alumnus, link_for, state):
    alumnus = make_alumnus(TOTTORI, email="a@example.org", employer="Old Co")
    token = link_for(alumnus)
    with app.app_context():
        record = db.session.get(Alumnus, alumnus)
        if state == "archived":
            record.archived_at = utcnow()
        else:
            record.cease_use = True
        db.session.commit()
    assert client.get(f"/me/{token}").status_code == 404
    assert client.submit(f"/me/{token}/confirm").status_code == 404
    with app.app_context():
        assert db.session.get(Alumnus, alumnus).confirmed_on is None


def test_markup_in_self_updated_free_text_is_escaped_on_the_person_page_and_in_the_staff_feed(app, client, signed_in, make_alumnus, link_for):
    alumnus = make_alumnus(TOTTORI, email="a@example.org", employer="Old Co")
    token = link_for(alumnus)
    _self_update(app, client, token, alumnus, employer='<img src=x onerror="alert(1)"> **Bold Co**', job_title="[click](javascript:alert(1))")
    with app.app_context():
        assert db.session.get(Alumnus, alumnus).employer.startswith("<img")  # kept as typed, escaped when shown
    staff = signed_in()
    for page in (client.get(f"/me/{token}").get_data(as_text=True), staff.htmx_get("/self-service/feed").get_data(as_text=True)):
        assert "<img src=x" not in page and "&lt;img src=x" in page
        assert "<strong>Bold Co" not in page and 'href="javascript:' not in page


def test_a_self_reported_activity_never_reaches_a_prefecture_never_served_in_even_through_its_feed(app, client, signed_in, make_alumnus,
                                                                                                      make_user, link_for):
    alumnus = make_alumnus(TOTTORI, email="a@example.org")
    token = link_for(alumnus)
    values = {"occurred_on": "2025-05-01", "kind": "tourism", "country": "US", "description": "Fair in Ohio"}
    for prefecture in (OSAKA, HYOGO, 0, "x"):
        assert client.submit(f"/me/{token}/activities", {**values, "prefecture_id": str(prefecture)}).status_code == 422
    assert client.submit(f"/me/{token}/activities", {**values, "prefecture_id": str(TOTTORI)}).status_code == 303
    staff_ids = [make_user(Role.PREFECTURE_STAFF, prefecture=prefecture)[0] for prefecture in (TOTTORI, OSAKA, HYOGO)]
    with app.app_context():
        assert db.session.scalars(select(Activity.prefecture_id)).all() == [TOTTORI]
        assert db.session.scalars(select(SelfUpdate.prefecture_id)).all() == [TOTTORI]
        tottori, osaka, hyogo = (db.session.get(User, staff) for staff in staff_ids)
        assert [u.kind for u in operations.feed(tottori)] == ["activity"]
        assert operations.feed(osaka) == [] and operations.feed(hyogo) == []
    assert "Fair in Ohio" in signed_in().get("/ambassadors/activities").get_data(as_text=True)
    osaka = app.test_client()
    osaka.login(make_user(Role.PREFECTURE_STAFF, prefecture=OSAKA)[1])
    listing = osaka.get("/ambassadors/activities")
    assert listing.status_code == 200 and "Fair in Ohio" not in listing.get_data(as_text=True)


# --- Association members through a personal link -------------------------------------------------------

def _member_subscribed(app, member_id: int, association: int, name: str) -> int:
    from crm.associations.models import Member
    from crm.outreach import operations as outreach
    from crm.outreach.models import MailingList

    with app.app_context():
        mailing_list = MailingList(association_id=association, name=name, purpose_en=f"News of {name}", purpose_ja=f"{name}のお知らせ")
        db.session.add(mailing_list)
        db.session.flush()
        subscription = outreach.subscribe(mailing_list, member=db.session.get(Member, member_id))
        db.session.commit()
        return subscription.id


@pytest.fixture
def member_link(app):
    def make(member_id: int) -> str:
        from crm.associations.models import Member

        with app.app_context():
            token = operations.issue_link(db.session.get(Member, member_id))
            db.session.commit()
            return token

    return make


def test_a_member_asks_for_a_link_on_the_same_page_with_the_same_answer(client, make_association, make_member, outbox):
    association = make_association()
    member = make_member(association, email="member@example.org")
    make_member(association, name="Left member", email="left@example.org", status="left")
    known = client.submit("/me", {"email": "Member@Example.org"})
    left = client.submit("/me", {"email": "left@example.org"})
    unknown = client.submit("/me", {"email": "nobody@example.org"})
    assert known.status_code == left.status_code == unknown.status_code == 200
    assert _main(known.get_data(as_text=True)) == _main(unknown.get_data(as_text=True)) == _main(left.get_data(as_text=True))
    (letter,) = outbox
    assert letter["to"] == "member@example.org" and letter["recipient_key"] == f"member:{member}" and "/me/" in letter["text"]
    assert client.get(f"/me/{_token_in(letter)}").status_code == 200


def test_a_member_sees_and_corrects_only_their_own_record(app, client, make_association, make_member, member_link):
    from crm.associations.models import Member, MemberStatus

    association, other_association = make_association(), make_association(name="兵庫県国際交流協会")
    member = make_member(association, name="Yamamoto Yumi", email="y@example.org", phone="0857-00-0000", address="Tottori 1-1")
    other = make_member(association, name="Otherperson Taro", email="other@example.org")
    elsewhere = make_member(other_association, name="Elsewhere Hanako", email="else@example.org")
    mine = _member_subscribed(app, member, association, "TIA newsletter")
    theirs = _member_subscribed(app, other, association, "TIA newsletter 2")
    token = member_link(member)
    page = client.get(f"/me/{token}").get_data(as_text=True)
    assert "Yamamoto Yumi" in page and "Tottori 1-1" in page and "TIA newsletter" in page
    assert "Otherperson" not in page and "Elsewhere" not in page and "other@example.org" not in page and "TIA newsletter 2" not in page
    assert "Report an activity" not in page
    assert client.submit(f"/me/{token}/activities", {"occurred_on": "2025-05-01", "kind": "tourism", "description": "x"}).status_code == 404
    with app.app_context():
        version = db.session.get(Member, member).version
        before = db.session.scalar(select(func.max(AuditEntry.id)))
    # Hostile extras name another member, another association, a status: never applied.
    response = client.submit(f"/me/{token}/details", {
        "email": "new@example.org", "phone": "0857-11-1111", "postal_code": "680-0011", "address": "<b>Tottori</b> 2-2",
        "preferred_language": "en", "version": str(version), "id": str(other), "member_id": str(other),
        "association_id": str(other_association), "status": "left", "name": "Renamed", "consent_to_contact": ""})
    assert response.status_code == 303
    assert client.submit(f"/me/{token}/details", {"email": "x@example.org", "version": str(version)}).status_code == 409
    assert client.submit(f"/me/{token}/confirm").status_code == 303
    assert client.submit(f"/me/{token}/subscriptions/{theirs}", {"subscribed": "0"}).status_code == 404
    assert client.submit(f"/me/{token}/subscriptions/{mine}", {"subscribed": "0"}).status_code == 303
    with app.app_context():
        record = db.session.get(Member, member)
        assert (record.email, record.phone, record.postal_code, record.address, record.preferred_language) == (
            "new@example.org", "0857-11-1111", "680-0011", "<b>Tottori</b> 2-2", "en")
        assert (record.name, record.association_id, record.status, record.consent_to_contact) == (
            "Yamamoto Yumi", association, MemberStatus.ACTIVE, True)
        assert db.session.get(Member, other).email == "other@example.org" and db.session.get(Member, elsewhere).name == "Elsewhere Hanako"
        entries = db.session.scalars(select(AuditEntry).where(AuditEntry.record_type.in_(("association_members", "subscriptions")),
                                                               AuditEntry.action.in_(("update", "member_confirmed")),
                                                               AuditEntry.id > before)).all()
        assert entries and {entry.actor for entry in entries} == {f"member:{member}"}
        assert sorted(u.kind for u in db.session.scalars(select(SelfUpdate).where(SelfUpdate.member_id == member))) == [
            "confirm", "details", "subscription"]
    page = client.get(f"/me/{token}").get_data(as_text=True)
    assert "&lt;b&gt;Tottori" in page and "You last confirmed them on" in page


def test_association_staff_send_and_revoke_a_members_link_and_see_their_self_updates(app, client, signed_in, make_association,
                                                                                     make_member, make_user, outbox):
    from crm.associations.models import Member

    association, other_association = make_association(), make_association(name="兵庫県国際交流協会")
    member = make_member(association, name="Yamamoto Yumi", email="y@example.org")
    staff = signed_in(Role.ASSOCIATION_STAFF, association=association)
    assert "self-service/members/" in staff.get(f"/associations/members/{member}").get_data(as_text=True)
    assert staff.submit(f"/self-service/members/{member}/links").status_code == 303
    (letter,) = outbox
    token = _token_in(letter)
    with app.app_context():
        version = db.session.get(Member, member).version
    anonymous = app.test_client()
    anonymous.submit(f"/me/{token}/details", {"email": "y@example.org", "phone": "0857-22-2222", "version": str(version)})
    feed = staff.htmx_get("/self-service/members/feed").get_data(as_text=True)
    assert fragment(feed) and "Yamamoto Yumi" in feed and "0857-22-2222" in feed
    assert "self-service/members/feed" in staff.get("/").get_data(as_text=True)
    # Another association's staff see nothing of it and reach no link of this member.
    elsewhere = app.test_client()
    elsewhere.login(make_user(Role.ASSOCIATION_STAFF, association=other_association)[1])
    assert "Yamamoto" not in elsewhere.htmx_get("/self-service/members/feed").get_data(as_text=True)
    assert elsewhere.submit(f"/self-service/members/{member}/links").status_code == 404
    assert elsewhere.submit(f"/self-service/members/{member}/links/revoke").status_code == 404
    assert anonymous.get(f"/me/{token}").status_code == 200
    # The alumni feed never lists members' updates.
    admin_id, _ = make_user(Role.ADMIN)
    with app.app_context():
        admin = db.session.get(User, admin_id)
        assert operations.feed(admin) == [] and [u.member_id for u in operations.feed(admin, members=True)] == [member]
    assert staff.submit(f"/self-service/members/{member}/links/revoke").status_code == 303
    assert anonymous.get(f"/me/{token}").status_code == 404
    assert anonymous.submit(f"/me/{token}/confirm").status_code == 404
    with app.app_context():
        actions = set(db.session.scalars(select(AuditEntry.action).where(AuditEntry.record_type == "association_members")))
        assert {"link_sent", "link_revoked"} <= actions


def test_a_link_of_a_member_who_left_opens_nothing(app, client, make_association, make_member, member_link):
    from crm.associations.models import Member, MemberStatus

    member = make_member(make_association(), email="y@example.org")
    token = member_link(member)
    assert client.get(f"/me/{token}").status_code == 200
    with app.app_context():
        db.session.get(Member, member).status = MemberStatus.LEFT
        db.session.commit()
    assert client.get(f"/me/{token}").status_code == 404
    assert client.submit(f"/me/{token}/confirm").status_code == 404


def _member_self_update(app, client, token, member, **values) -> int:
    """A member corrects their details through their link → the self-update's id."""
    from crm.associations.models import Member

    with app.app_context():
        record = db.session.get(Member, member)
        version, email = record.version, record.email
    assert client.submit(f"/me/{token}/details", {"email": email, **values, "version": str(version)}).status_code == 303
    with app.app_context():
        return db.session.scalar(select(func.max(SelfUpdate.id)).where(SelfUpdate.member_id == member))


def _notice(response) -> str:
    import json

    return json.loads(response.headers["HX-Trigger"])["crm:notice"]["message"]


def test_association_staff_undo_a_members_self_update_of_their_own_association_only(app, client, signed_in, make_association,
                                                                                    make_member, make_user, make_alumnus,
                                                                                    link_for, member_link):
    from crm.associations.models import Member

    association, other_association = make_association(), make_association(name="兵庫県国際交流協会")
    member = make_member(association, name="Yamamoto Yumi", email="y@example.org", phone="0857-00-0000", address="Tottori 1-1")
    anonymous = app.test_client()
    update = _member_self_update(app, anonymous, member_link(member), member, phone="0857-99-9999", address="Wrong 9-9")
    alumnus = make_alumnus(TOTTORI, email="a@example.org", employer="Old Co")
    _self_update(app, anonymous, link_for(alumnus), alumnus, employer="Wrong Co")
    with app.app_context():
        alumnus_update = db.session.scalar(select(SelfUpdate.id).where(SelfUpdate.alumnus_id == alumnus))
    url = f"/self-service/updates/{update}/undo"
    # Another association's staff, and the prefecture's staff (who keep no member's details here): 404.
    for role, place in ((Role.ASSOCIATION_STAFF, {"association": other_association}), (Role.PREFECTURE_STAFF, {"prefecture": TOTTORI})):
        outsider = app.test_client()
        outsider.login(make_user(role, **place)[1])
        assert outsider.submit(url, htmx=True).status_code == 404
    staff = signed_in(Role.ASSOCIATION_STAFF, association=association)
    # Nor do association staff undo an alumnus's self-update; and a request without the CSRF token is refused.
    assert staff.submit(f"/self-service/updates/{alumnus_update}/undo", htmx=True).status_code == 404
    assert staff.post(url, headers={"HX-Request": "true"}).status_code == 400
    with app.app_context():
        record = db.session.get(Member, member)
        assert (record.phone, record.address) == ("0857-99-9999", "Wrong 9-9")
        assert db.session.get(SelfUpdate, update).undone_at is None
        assert db.session.get(Alumnus, alumnus).employer == "Wrong Co"
    feed = staff.htmx_get("/self-service/members/feed").get_data(as_text=True)
    assert f'hx-post="{url}"' in feed
    response = staff.submit(url, htmx=True)
    assert response.status_code == 200 and _notice(response) == "The self-update is undone."
    body = response.get_data(as_text=True)
    assert fragment(body) and 'id="member-self-updates"' in body and "undone" in body and f'hx-post="{url}"' not in body
    with app.app_context():
        record = db.session.get(Member, member)
        assert (record.phone, record.address) == ("0857-00-0000", "Tottori 1-1")
        entry = db.session.get(SelfUpdate, update)
        assert entry.undone_at is not None and entry.undone_by_id is not None
        change = db.session.scalar(select(AuditEntry).where(AuditEntry.record_type == "association_members", AuditEntry.action == "update")
                                   .order_by(AuditEntry.id.desc()))
        assert change.actor_id == entry.undone_by_id and change.changes["phone"] == {"old": "0857-99-9999", "new": "0857-00-0000"}
        event = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "self_update_undone").order_by(AuditEntry.id.desc()))
        assert event.record_id == str(update) and event.details == {"kind": "details", "member": member}
    # Undone already: refused, with a message that says so.
    again = staff.submit(url, htmx=True)
    assert again.status_code == 409 and "undone already" in _notice(again)


def test_a_members_self_update_changed_since_or_a_subscription_is_not_undone(app, client, signed_in, make_association, make_member,
                                                                           member_link):
    from crm.associations.models import Member
    from crm.outreach.models import Subscription, SubscriptionStatus

    association = make_association()
    member = make_member(association, name="Yamamoto Yumi", email="y@example.org", phone="0857-00-0000")
    mine = _member_subscribed(app, member, association, "TIA newsletter")
    token = member_link(member)
    first = _member_self_update(app, client, token, member, phone="0857-11-1111")
    _member_self_update(app, client, token, member, phone="0857-22-2222")
    assert client.submit(f"/me/{token}/subscriptions/{mine}", {"subscribed": "0"}).status_code == 303
    assert client.submit(f"/me/{token}/confirm").status_code == 303
    with app.app_context():
        unsubscribed, confirmed = (db.session.scalar(select(SelfUpdate.id).where(SelfUpdate.member_id == member, SelfUpdate.kind == kind))
                                   for kind in ("subscription", "confirm"))
    staff = signed_in(Role.ASSOCIATION_STAFF, association=association)
    stale = staff.submit(f"/self-service/updates/{first}/undo", htmx=True)
    assert stale.status_code == 409 and _notice(stale) == "This cannot be undone: the record has changed since."
    assert fragment(stale.get_data(as_text=True))
    consent = staff.submit(f"/self-service/updates/{unsubscribed}/undo", htmx=True)
    assert consent.status_code == 409 and "consent decision" in _notice(consent)
    with app.app_context():
        assert db.session.get(Member, member).phone == "0857-22-2222"
        assert db.session.get(Subscription, mine).status == SubscriptionStatus.UNSUBSCRIBED
        assert db.session.scalar(select(func.count()).select_from(SelfUpdate).where(SelfUpdate.undone_at.is_not(None))) == 0
    # Without htmx: the message is flashed and the feed's page follows (303). A member's confirmation,
    # undone, no longer counts as their last one.
    response = staff.submit(f"/self-service/updates/{confirmed}/undo")
    assert response.status_code == 303 and response.headers["Location"].endswith("/self-service/members/feed")
    assert "The self-update is undone." in staff.get("/self-service/members/feed").get_data(as_text=True)
    assert "You last confirmed them on" not in client.get(f"/me/{token}").get_data(as_text=True)
    refused = staff.submit(f"/self-service/updates/{first}/undo")
    assert refused.status_code == 303
    assert "the record has changed since" in staff.get("/self-service/members/feed").get_data(as_text=True)


def test_an_administrator_undoes_a_members_self_update_of_any_association(app, client, signed_in, make_association, make_member,
                                                                          member_link):
    from crm.associations.models import Member

    member = make_member(make_association(), email="y@example.org", postal_code="680-0001")
    update = _member_self_update(app, client, member_link(member), member, postal_code="680-9999")
    admin = signed_in(Role.ADMIN)
    assert "680-9999" in admin.htmx_get("/self-service/members/feed").get_data(as_text=True)
    assert admin.submit(f"/self-service/updates/{update}/undo", htmx=True).status_code == 200
    with app.app_context():
        assert db.session.get(Member, member).postal_code == "680-0001"
