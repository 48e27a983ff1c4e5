"""Outreach: consent per list, the migrated newsletter flag, subscribers, composing, the signed public
links (unsubscribe, RSVP, sign-up confirmation), access, and the hostile paths."""
from pathlib import Path

import pytest
from flask_migrate import upgrade
from sqlalchemy import func, select, text

from crm.alumni.models import Alumnus
from crm.auth.models import Role
from crm.extensions import db
from crm.outreach import operations
from crm.outreach.models import ConsentAction, ConsentEvent, ConsentHow, MailingList, Rsvp, Subscription, SubscriptionStatus
from tests.conftest import HYOGO, TOTTORI, fragment
from tests.test_database import empty_database  # noqa: F401  (the fixture)

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def make_list(app):
    def make(prefecture: int | None = TOTTORI, association: int | None = None, name: str = "World Tottori Fan Club", **fields):
        with app.app_context():
            mailing_list = MailingList(prefecture_id=None if association else prefecture, association_id=association, name=name,
                                       purpose_ja="鳥取県からのお知らせ", purpose_en="News from Tottori", **fields)
            db.session.add(mailing_list)
            db.session.commit()
            return mailing_list.id

    return make


def _subscribe(app, list_id, alumnus_id, **kwargs):
    with app.app_context():
        subscription = operations.subscribe(db.session.get(MailingList, list_id), alumnus=db.session.get(Alumnus, alumnus_id), **kwargs)
        db.session.commit()
        return subscription.id if subscription else None


def _send(app, list_id, **values):
    with app.app_context():
        send = operations.create_send(db.session.get(MailingList, list_id), None,
                                      {"subject_ja": "鳥取便り", "body_ja": "こんにちは", "subject_en": "Tottori news",
                                       "body_en": "Hello", **values})
        db.session.commit()
        return send.id


# --- The migration of the one newsletter flag -----------------------------------------------------

def test_newsletter_flag_becomes_a_subscription_to_each_placed_prefectures_default_list(empty_database):  # noqa: F811
    directory = str(ROOT / "migrations")
    with empty_database.app_context():
        upgrade(directory=directory, revision="0020")
        db.session.remove()
        connection = db.engine.connect()
        for number, (flag, ceased, citizenship) in enumerate([(True, False, "US"), (True, True, "US"), (False, False, "JP")], 1):
            connection.execute(text(
                "INSERT INTO alumni (id, family_name, given_name, email, citizenship, contact_consent, newsletter_consent, cease_use, "
                "latin_key, version, created_at, updated_at) VALUES (:id, 'Smith', 'Ann', :email, :c, :f, :f, :ceased, 'smith ann', 1, "
                "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"), {"id": number, "email": f"a{number}@example.org", "c": citizenship,
                                                          "f": flag, "ceased": ceased})
            for prefecture in (TOTTORI, HYOGO):
                connection.execute(text("INSERT INTO placements (alumnus_id, prefecture_id, position, start_year, version) "
                                        "VALUES (:a, :p, 'alt', 2015, 1)"), {"a": number, "p": prefecture})
        connection.commit()
        connection.close()
        upgrade(directory=directory)
        rows = db.session.execute(text(
            "SELECT l.prefecture_id, l.is_default, s.alumnus_id, s.status, e.how FROM subscriptions s JOIN mailing_lists l ON l.id = s.list_id "
            "JOIN consent_events e ON e.subscription_id = s.id ORDER BY l.prefecture_id")).all()
        assert [(r[0], bool(r[1]), r[2], r[3], r[4]) for r in rows] == [
            (HYOGO, True, 1, "subscribed", "migration"), (TOTTORI, True, 1, "subscribed", "migration")]
        assert "newsletter_consent" not in db.session.execute(text("SELECT * FROM alumni")).keys()
        languages = dict(db.session.execute(text("SELECT id, preferred_language FROM alumni")).all())
        assert languages == {1: "en", 2: "en", 3: "ja"}
        db.session.remove()


# --- Consent per list ------------------------------------------------------------------------------

def test_consent_to_tottori_is_not_consent_to_hyogo(app, make_list, make_alumnus):
    tottori, hyogo = make_list(TOTTORI), make_list(HYOGO, name="Hyogo JET alumni news")
    person = make_alumnus(TOTTORI, HYOGO, email="ann@example.org")
    _subscribe(app, tottori, person, how=ConsentHow.PAPER, wording="鳥取県のお知らせを受け取ります")
    with app.app_context():
        assert operations.recipient_count(db.session.get(MailingList, tottori)) == 1
        assert operations.recipient_count(db.session.get(MailingList, hyogo)) == 0
        event = db.session.scalar(select(ConsentEvent))
        assert (event.action, event.how, event.wording) == (ConsentAction.SUBSCRIBED, ConsentHow.PAPER, "鳥取県のお知らせを受け取ります")


def test_a_person_whose_use_has_ceased_is_never_subscribed_or_sent_anything(app, make_list, make_alumnus):
    list_id = make_list()
    ceased = make_alumnus(TOTTORI, email="ceased@example.org", cease_use=True)
    assert _subscribe(app, list_id, ceased) is None
    later = make_alumnus(TOTTORI, family="Later", email="later@example.org")
    _subscribe(app, list_id, later)
    with app.app_context():
        db.session.get(Alumnus, later).cease_use = True
        db.session.commit()
        assert operations.recipients(db.session.get(MailingList, list_id)) == []


def test_staff_add_the_alumni_list_selection_and_see_the_history(app, signed_in, make_list, make_alumnus):
    client = signed_in(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    list_id = make_list()
    ann, ceased = make_alumnus(TOTTORI, given="Ann", email="ann@example.org"), make_alumnus(TOTTORI, given="Cy", cease_use=True)
    page = client.submit("/outreach/selection", {"ids": [str(ann), str(ceased)]})
    assert page.status_code == 200 and "World Tottori Fan Club" in page.text
    response = client.submit(f"/outreach/lists/{list_id}/subscribers", {"ids": [str(ann), str(ceased)], "how": "paper",
                                                                        "wording": "紙の申込書"})
    assert response.status_code == 303
    shown = client.get(f"/outreach/lists/{list_id}")
    assert "Ann Smith" in shown.text and "Cy Smith" not in shown.text
    with app.app_context():
        subscription = db.session.scalar(select(Subscription))
        event = db.session.scalar(select(ConsentEvent))
        assert (event.how, event.wording, event.by.role) == (ConsentHow.PAPER, "紙の申込書", Role.PREFECTURE_STAFF)
    on_record = client.get(f"/outreach/alumni/{ann}/subscriptions", headers={"HX-Request": "true"})
    assert fragment(on_record.text) and "World Tottori Fan Club" in on_record.text and "Subscribed" in on_record.text
    assert not fragment(client.get(f"/outreach/alumni/{ann}/subscriptions").text)
    removed = client.submit(f"/outreach/subscriptions/{subscription.id}/remove", htmx=True)
    assert removed.status_code == 200 and fragment(removed.text) and "<tr" in removed.text
    history = client.get(f"/outreach/subscriptions/{subscription.id}/history")
    assert "紙の申込書" in history.text and not fragment(history.text)
    assert fragment(client.get(f"/outreach/subscriptions/{subscription.id}/history", headers={"HX-Request": "true"}).text)


def test_staff_cannot_reach_another_prefectures_list(app, signed_in, make_list, make_alumnus):
    hyogo = make_list(HYOGO, name="Hyogo JET alumni news")
    client = signed_in(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    assert client.get(f"/outreach/lists/{hyogo}").status_code == 404
    assert client.submit(f"/outreach/lists/{hyogo}/compose", {"action": "send", "subject_ja": "x", "body_ja": "y"}).status_code == 404
    mine = make_alumnus(TOTTORI)
    assert client.submit(f"/outreach/lists/{hyogo}/subscribers", {"ids": [str(mine)]}).status_code == 404
    theirs = make_alumnus(HYOGO, family="Hyogo")
    assert client.get(f"/outreach/alumni/{theirs}/subscriptions").status_code == 404
    assert "Hyogo" not in client.get("/outreach/lists").text


def test_association_staff_see_their_associations_lists_only(app, signed_in, make_association, make_list):
    mine, theirs = make_association(), make_association(name="兵庫県国際交流協会", prefecture=HYOGO)
    own, other = make_list(association=mine, name="TIA members"), make_list(association=theirs, name="HIA members")
    client = signed_in(Role.ASSOCIATION_STAFF, association=mine)
    assert client.get(f"/outreach/lists/{own}").status_code == 200
    assert client.get(f"/outreach/lists/{other}").status_code == 404
    assert client.submit("/outreach/lists/new", {"name": "Mine", "purpose_ja": "会報", "association_id": str(theirs),
                                                 "prefecture_id": str(HYOGO)}).status_code == 303
    with app.app_context():
        created = db.session.scalar(select(MailingList).where(MailingList.name == "Mine"))
        assert (created.association_id, created.prefecture_id) == (mine, None)


def test_the_ministry_sees_counts_per_prefecture_only(app, signed_in, make_list, make_alumnus):
    list_id = make_list()
    for number in range(3):
        _subscribe(app, list_id, make_alumnus(TOTTORI, given=f"P{number}"))
    client = signed_in(Role.MINISTRY_REVIEWER)
    page = client.get("/outreach/counts")
    assert page.status_code == 200 and "&lt;10" in page.text and "鳥取県" in page.text or "Tottori" in page.text
    assert client.get(f"/outreach/lists/{list_id}").status_code == 403


# --- Composing ------------------------------------------------------------------------------------

def test_markdown_html_is_sanitised():
    html = operations.render_markdown('Hi <script>alert(1)</script> [x](javascript:alert(1)) <img src=x onerror=alert(1)> **bold**')
    assert "<script" not in html and "javascript:" not in html and "onerror" not in html and "<strong>bold</strong>" in html


def test_each_recipient_gets_their_language_with_the_other_at_the_top(app, make_list, make_alumnus):
    list_id = make_list()
    ann = make_alumnus(TOTTORI, given="Ann", email="ann@example.org", preferred_language="en")
    taro = make_alumnus(TOTTORI, family="山田", given="太郎", email="taro@example.org", preferred_language="ja")
    _subscribe(app, list_id, ann), _subscribe(app, list_id, taro)
    send_id = _send(app, list_id, body_en="**Autumn** festival")
    with app.test_request_context():
        from crm.outreach.models import Send
        send = db.session.get(Send, send_id)
        english, japanese = sorted((operations.compose(send, r) for r in operations.recipients(send.mailing_list)),
                                   key=lambda m: m.language)
        assert english.subject == "Tottori news" and english.text.startswith("日本語版") and "Dear Ann Smith," in english.text
        assert "<strong>Autumn</strong>" in english.html and "/outreach/u/" in english.unsubscribe_url
        assert japanese.subject == "鳥取便り" and japanese.text.startswith("English version") and "太郎" in japanese.text


def test_preview_as_a_chosen_recipient_and_the_count_before_sending(app, signed_in, make_list, make_alumnus):
    client = signed_in(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    list_id = make_list()
    ann = make_alumnus(TOTTORI, given="Ann", email="ann@example.org", preferred_language="en", residence_country="US")
    make_alumnus(TOTTORI, given="Bo", email="bo@example.org", residence_country="GB")
    _subscribe(app, list_id, ann)
    with app.app_context():
        subscription = db.session.scalar(select(Subscription.id))
    page = client.get(f"/outreach/lists/{list_id}/compose")
    assert "No open or click tracking" in page.text and "1 recipient" in page.text
    count = client.submit(f"/outreach/lists/{list_id}/compose", {"action": "count", "country": "GB"}, htmx=True)
    assert "0 recipients" in count.text
    preview = client.submit(f"/outreach/lists/{list_id}/compose", {"action": "preview", "preview_as": str(subscription),
                                                                   "subject_ja": "便り", "body_ja": "本文", "subject_en": "News",
                                                                   "body_en": "Body <script>x</script>"})
    assert preview.status_code == 200 and "Dear Ann Smith," in preview.text and "<script>x" not in preview.text
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(operations.Send)) == 0


def test_header_injection_through_the_subject_is_refused(app, signed_in, make_list):
    client = signed_in(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    list_id = make_list()
    response = client.submit(f"/outreach/lists/{list_id}/compose", {"action": "send", "subject_ja": "便り\r\nBcc: all@example.org",
                                                                    "body_ja": "本文"})
    assert response.status_code == 422 and "本文" in response.text
    with pytest.raises(ValueError):
        operations.validate_subject("a\nBcc: x@example.org")


@pytest.mark.parametrize("moment", ["0001-01-01T00:00", "9999-12-31T23:59", "2020-01-01T09:00", "soon"])
def test_a_send_is_scheduled_within_the_coming_year_or_refused_with_the_text_kept(app, signed_in, make_list, moment):
    client = signed_in(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    list_id = make_list()
    response = client.submit(f"/outreach/lists/{list_id}/compose", {"action": "send", "subject_ja": "便り", "body_ja": "本文の下書き",
                                                                    "scheduled_at": moment})
    assert response.status_code == 422 and "within the coming year" in response.text and "本文の下書き" in response.text
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(operations.Send)) == 0


# --- Signed links ----------------------------------------------------------------------------------

def test_one_click_unsubscribe_needs_no_sign_in_and_a_replay_changes_nothing(app, client, make_list, make_alumnus):
    list_id = make_list()
    subscription = _subscribe(app, list_id, make_alumnus(TOTTORI, email="ann@example.org", preferred_language="en"))
    send_id = _send(app, list_id)
    with app.test_request_context():
        token = operations.sign("u", subscription, send_id)
    page = client.get(f"/outreach/u/{token}")
    assert page.status_code == 200 and 'lang="en"' in page.text
    with app.app_context():
        assert db.session.get(Subscription, subscription).status == SubscriptionStatus.SUBSCRIBED
    response = client.post(f"/outreach/u/{token}", data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    with app.app_context():
        assert db.session.get(Subscription, subscription).status == SubscriptionStatus.UNSUBSCRIBED
        assert db.session.scalar(select(ConsentEvent.how).where(ConsentEvent.action == ConsentAction.UNSUBSCRIBED)) == ConsentHow.UNSUBSCRIBE_LINK
    assert client.submit(f"/outreach/u/{token}/resubscribe").status_code == 200
    with app.app_context():
        assert db.session.get(Subscription, subscription).status == SubscriptionStatus.SUBSCRIBED
    assert client.post(f"/outreach/u/{token}").status_code == 404
    with app.app_context():
        assert db.session.get(Subscription, subscription).status == SubscriptionStatus.SUBSCRIBED


def test_forged_unsubscribe_and_rsvp_tokens_are_404_and_change_nothing(app, client, make_list, make_alumnus):
    list_id = make_list()
    subscription = _subscribe(app, list_id, make_alumnus(TOTTORI))
    send_id = _send(app, list_id)
    with app.test_request_context():
        genuine = operations.sign("u", subscription, send_id)
    payload, signature = genuine.split(".")
    for token in (payload + "." + signature[:-2] + "AA", "dTox", genuine + "x", "u:1:1.abc"):
        assert client.post(f"/outreach/u/{token}").status_code == 404
        assert client.submit(f"/outreach/rsvp/{token}").status_code == 404
    with app.app_context():
        assert db.session.get(Subscription, subscription).status == SubscriptionStatus.SUBSCRIBED
        assert db.session.scalar(select(func.count()).select_from(ConsentEvent)) == 1


def test_rsvp_links_count_on_the_program_page(app, client, signed_in, make_association, make_program, make_list, make_member):
    association = make_association()
    program = make_program(association)
    list_id = make_list(association=association, name="TIA newsletter")
    member = make_member(association, email="m@example.org")
    with app.app_context():
        from crm.associations.models import Member
        subscription = operations.subscribe(db.session.get(MailingList, list_id), member=db.session.get(Member, member)).id
        send = operations.create_send(db.session.get(MailingList, list_id), None, {"subject_ja": "招待", "body_ja": "どうぞ"},
                                      program_id=program)
        db.session.commit()
        send_id = send.id
    with app.test_request_context():
        token = operations.sign("r", subscription, send_id, "attend")
    assert client.get(f"/outreach/rsvp/{token}").status_code == 200
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Rsvp)) == 0
    assert client.submit(f"/outreach/rsvp/{token}").status_code == 200
    staff = signed_in(Role.ASSOCIATION_STAFF, association=association)
    assert "Will attend: 1" in staff.get(f"/outreach/programs/{program}/rsvps").text


def test_public_archive_shows_past_newsletters_only_when_published(app, client, make_list):
    public, private = make_list(public_archive=True), make_list(name="Private list")
    sent = _send(app, public, subject_ja="秋の鳥取", body_ja="紅葉 <script>x</script>")
    hidden = _send(app, private)
    assert "秋の鳥取" in client.get(f"/outreach/lists/{public}/archive").text
    shown = client.get(f"/outreach/archive/{sent}?lang=ja")
    assert "紅葉" in shown.text and "<script>x" not in shown.text
    assert client.get(f"/outreach/lists/{private}/archive").status_code == 404
    assert client.get(f"/outreach/archive/{hidden}").status_code == 404


# --- End to end through a real SMTP server ------------------------------------------------------------

def test_a_bilingual_send_arrives_in_each_language_and_the_header_unsubscribes(app, client, signed_in, smtp_sink, make_list,
                                                                            make_alumnus):
    from email.utils import parseaddr

    from crm import mail

    list_id = make_list()
    ann = make_alumnus(TOTTORI, given="Ann", email="ann@example.org", preferred_language="en")
    taro = make_alumnus(TOTTORI, family="山田", given="太郎", email="taro@example.org", preferred_language="ja")
    ceased = make_alumnus(TOTTORI, given="Cy", email="cy@example.org")
    for person in (ann, taro, ceased):
        _subscribe(app, list_id, person)
    with app.app_context():
        db.session.get(Alumnus, ceased).cease_use = True
        db.session.commit()
    staff = signed_in(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    response = staff.submit(f"/outreach/lists/{list_id}/compose", {
        "action": "send", "subject_ja": "鳥取便り 秋号", "body_ja": "紅葉の**季節**です", "subject_en": "Tottori news, autumn",
        "body_en": "It is **autumn** <script>alert(1)</script>"})
    assert response.status_code == 303
    with app.app_context():
        from crm.outreach.models import Send
        send = db.session.scalar(select(Send))
        assert send.recipient_count == 2 and mail.batch_progress(send.batch).get("queued") == 2
        send_id = send.id
        mail.deliver_due(app)
    by_address = {parseaddr(message["To"])[1]: message for message in smtp_sink.messages}
    assert set(by_address) == {"ann@example.org", "taro@example.org"}
    english, japanese = by_address["ann@example.org"], by_address["taro@example.org"]
    assert english["Subject"] == "Tottori news, autumn" and japanese["Subject"] == "鳥取便り 秋号"
    assert "=?utf-8?" in japanese.as_string().lower() or "=?UTF-8?" in japanese.as_string()
    text_part, html_part = english.get_body(("plain",)), english.get_body(("html",))
    assert text_part is not None and html_part is not None
    assert "Dear Ann Smith," in text_part.get_content() and "日本語版" in text_part.get_content()
    assert "<strong>autumn</strong>" in html_part.get_content() and "<script" not in html_part.get_content()
    assert "太郎" in japanese.get_body(("plain",)).get_content()
    assert english["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click" and english["List-Id"]
    url = next(part.strip("<> ") for part in english["List-Unsubscribe"].split(",") if "/outreach/u/" in part)
    path = "/" + url.split("/", 3)[3]
    assert client.post(path, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    with app.app_context():
        statuses = dict(db.session.execute(select(Subscription.alumnus_id, Subscription.status)).all())
        assert statuses[ann] == SubscriptionStatus.UNSUBSCRIBED and statuses[taro] == SubscriptionStatus.SUBSCRIBED
    log = staff.get(f"/outreach/sends/{send_id}")
    assert "ann@example.org" in log.text and "No open or click tracking" in log.text
    with app.app_context():
        from crm.audit import AuditEntry
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "outreach_send"))
        assert entry.details["recipients"] == 2


def test_test_send_goes_to_the_sender_only(app, signed_in, smtp_sink, make_list, make_alumnus):
    from crm import mail

    list_id = make_list()
    _subscribe(app, list_id, make_alumnus(TOTTORI, email="ann@example.org"))
    staff = signed_in(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    response = staff.submit(f"/outreach/lists/{list_id}/compose", {"action": "test", "subject_ja": "便り", "body_ja": "本文"})
    assert response.status_code == 200
    mail.deliver_due(app)
    with app.app_context():
        from crm.auth.models import User
        own = db.session.scalar(select(User.email).where(User.role == Role.PREFECTURE_STAFF))
    assert [message["To"].addresses[0].addr_spec for message in smtp_sink.messages] == [own]
    assert smtp_sink.messages[0]["Subject"].startswith("[TEST]")


def test_public_sign_up_is_double_opt_in_with_the_same_answer_for_any_address(app, client, smtp_sink, make_list, make_alumnus):
    from crm import mail

    list_id = make_list(public_signup=True)
    _subscribe(app, list_id, make_alumnus(TOTTORI, email="known@example.org"))
    answers = [client.submit(f"/outreach/lists/{list_id}/signup", {"email": address, "name": "Ann", "language": "en"})
               for address in ("known@example.org", "new@example.org")]
    assert answers[0].status_code == answers[1].status_code == 200
    assert answers[0].text.replace("known", "new") == answers[1].text or answers[0].text == answers[1].text
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Subscription).where(Subscription.email == "new@example.org")) == 0
    mail.deliver_due(app)
    confirmation = next(m for m in smtp_sink.messages if m["To"].addresses[0].addr_spec == "new@example.org")
    link = next(word for word in confirmation.get_body(("plain",)).get_content().split() if "/outreach/confirm/" in word)
    path = "/" + link.split("/", 3)[3]
    assert client.get(path).status_code == 200
    assert client.submit(path).status_code == 200
    with app.app_context():
        subscription = db.session.scalar(select(Subscription).where(Subscription.email == "new@example.org"))
        assert subscription.status == SubscriptionStatus.SUBSCRIBED and subscription.language == "en"
        assert db.session.scalar(select(ConsentEvent.how).where(ConsentEvent.subscription_id == subscription.id)) == ConsentHow.SELF_SIGNUP


# --- Command line and demo data -------------------------------------------------------------------------

def test_mailing_lists_and_send_commands(app, make_list, make_alumnus, tmp_path):
    list_id = make_list()
    _subscribe(app, list_id, make_alumnus(TOTTORI, email="ann@example.org"))
    runner = app.test_cli_runner()
    listed = runner.invoke(args=["mailing", "lists"])
    assert listed.exit_code == 0 and listed.output.startswith(f"{list_id}\t") and "World Tottori Fan Club\t1" in listed.output
    body, empty = tmp_path / "body.md", tmp_path / "empty.md"
    body.write_text("# 鳥取便り\n\n砂丘の**秋**", encoding="utf-8")
    empty.write_text("  \n", encoding="utf-8")
    sent = runner.invoke(args=["mailing", "send", "--list", str(list_id), "--subject", "鳥取便り", "--body", str(body)])
    assert sent.exit_code == 0 and sent.output.strip() == "1"
    unknown = runner.invoke(args=["mailing", "send", "--list", "999", "--subject", "x", "--body", str(body)])
    assert unknown.exit_code == 1 and "No mailing list with id 999" in unknown.output
    blank = runner.invoke(args=["mailing", "send", "--list", str(list_id), "--subject", "x", "--body", str(empty)])
    assert blank.exit_code == 1 and "empty" in blank.output
    with app.app_context():
        from crm import mail
        assert db.session.scalar(select(func.count()).select_from(mail.OutboxMessage)) == 1


def test_seed_demo_makes_the_fan_club_hyogo_and_tia_lists_once(app):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    with app.app_context():
        lists = {m.name: m for m in db.session.scalars(select(MailingList))}
        assert {"World Tottori Fan Club", "Hyogo JET alumni news", "TIA会報 (TIA member newsletter)"} <= set(lists)
        fan_club = lists["World Tottori Fan Club"]
        subscriptions = list(db.session.scalars(select(Subscription).where(Subscription.list_id == fan_club.id)))
        assert any(s.status == SubscriptionStatus.UNSUBSCRIBED for s in subscriptions)
        assert any(s.ceased for s in subscriptions)
        recipients = operations.recipients(fan_club)
        assert {r.language for r in recipients} == {"ja", "en"}
        assert all(not s.ceased for s in subscriptions if s.id in {r.subscription_id for r in recipients})


def test_a_scheduled_send_waits_in_the_outbox_until_its_time(app, signed_in, make_list, make_alumnus):
    from datetime import datetime, timedelta, timezone

    from crm import clock, mail

    list_id = make_list()
    _subscribe(app, list_id, make_alumnus(TOTTORI, email="ann@example.org"))
    staff = signed_in(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    # 09:00 Japan time on a day within the coming year (a send is scheduled at most a year ahead).
    day = clock.today() + timedelta(days=30)
    response = staff.submit(f"/outreach/lists/{list_id}/compose", {"action": "send", "subject_ja": "便り", "body_ja": "本文",
                                                                   "scheduled_at": f"{day.isoformat()}T09:00"})
    assert response.status_code == 303
    with app.app_context():
        message = db.session.scalar(select(mail.OutboxMessage))
        assert message.next_attempt_at.astimezone(timezone.utc) == datetime(day.year, day.month, day.day, 0, 0, tzinfo=timezone.utc)
    assert staff.submit(f"/outreach/lists/{list_id}/compose", {"action": "send", "subject_ja": "便り", "body_ja": "本文",
                                                               "scheduled_at": "next tuesday"}).status_code == 422


def test_the_disclosure_package_shows_the_prefectures_own_list_consent(app, signed_in, make_list, make_alumnus):
    from tests.test_privacy_disclosure import _request

    person = make_alumnus(TOTTORI, HYOGO, email="emily@example.org")
    _subscribe(app, make_list(TOTTORI), person, how=ConsentHow.PAPER, wording="鳥取県の申込書")
    _subscribe(app, make_list(HYOGO, name="Hyogo JET alumni news"), person, how=ConsentHow.FORM, wording="兵庫県のフォーム")
    client = signed_in(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    page = client.get(f"/privacy/requests/{_request(app, person, TOTTORI)}/package").text
    history = page[page.index("Consent and its history"):page.index("Contact log")]
    assert "World Tottori Fan Club" in history and "鳥取県の申込書" in history
    assert "Hyogo JET alumni news" not in page and "兵庫県のフォーム" not in page


def test_the_disclosure_package_lists_the_newsletters_of_the_prefectures_own_lists(app, signed_in, make_list, make_alumnus):
    from tests.test_privacy_disclosure import _request

    person = make_alumnus(TOTTORI, HYOGO, email="emily@example.org", preferred_language="ja")
    tottori_list, hyogo_list = make_list(TOTTORI), make_list(HYOGO, name="Hyogo JET alumni news")
    _subscribe(app, tottori_list, person)
    _subscribe(app, hyogo_list, person)
    for list_id, subject in ((tottori_list, "鳥取の冬便り"), (hyogo_list, "兵庫の冬便り")):
        with app.app_context():
            operations.queue_send(db.session.get(operations.Send, _send(app, list_id, subject_ja=subject)))
            db.session.commit()
    client = signed_in(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    request_id = _request(app, person, TOTTORI)
    page = client.get(f"/privacy/requests/{request_id}/package").text
    newsletters = page[page.index("<h2>Newsletters"):page.index("<h2>Contact log")]
    assert "World Tottori Fan Club" in newsletters and "鳥取の冬便り" in newsletters and "Queued" in newsletters
    assert "兵庫の冬便り" not in page
    sheet = client.get(f"/privacy/requests/{request_id}/package?format=csv")
    assert "鳥取の冬便り" in sheet.get_data(as_text=True) and "兵庫の冬便り" not in sheet.get_data(as_text=True)


def test_the_unsubscribe_mailto_unsubscribes_when_its_mail_is_read(app, smtp_sink, make_list, make_alumnus, tmp_path):
    """The List-Unsubscribe mailto of a received letter, answered as a mail client does (a real message
    file), read by `outbox bounces --maildir`: unsubscribed once, recorded; a forged or replayed one changes nothing."""
    import mailbox
    from email.utils import parseaddr

    from crm import mail

    list_id = make_list()
    ann = _subscribe(app, list_id, make_alumnus(TOTTORI, given="Ann", email="ann@example.org", preferred_language="en"))
    taro = _subscribe(app, list_id, make_alumnus(TOTTORI, given="Taro", email="taro@example.org"))
    send_id = _send(app, list_id)
    with app.app_context():
        operations.queue_send(db.session.get(operations.Send, send_id))
        db.session.commit()
        mail.deliver_due(app)
    letter = next(m for m in smtp_sink.messages if parseaddr(m["To"])[1] == "ann@example.org")
    mailto = next(part.strip("<> ") for part in letter["List-Unsubscribe"].split(",") if part.strip(" <").startswith("mailto:"))
    address = mailto.removeprefix("mailto:").split("?", 1)[0]
    assert address.startswith("unsubscribe+") and len(address.split("@")[0]) <= 64
    sample = (ROOT / "tests" / "data" / "unsubscribe" / "thunderbird-mailto.eml").read_text()
    forged = address.replace(address.split("@")[0][-4:], "0000")
    box = mailbox.Maildir(tmp_path / "Maildir", create=True)
    box.add(sample.replace("{address}", address).encode())
    box.add(sample.replace("{address}", forged).encode())
    runner = app.test_cli_runner()
    result = runner.invoke(args=["outbox", "bounces", "--maildir", str(tmp_path / "Maildir")])
    assert result.exit_code == 0, result.output
    assert "unsubscribed 1, unsubscribe refused 1" in result.output and "not a DSN 0" in result.output
    with app.app_context():
        assert db.session.get(Subscription, ann).status == SubscriptionStatus.UNSUBSCRIBED
        assert db.session.get(Subscription, taro).status == SubscriptionStatus.SUBSCRIBED
        event = db.session.scalar(select(ConsentEvent).where(ConsentEvent.action == ConsentAction.UNSUBSCRIBED))
        assert (event.subscription_id, event.how, event.send_id) == (ann, ConsentHow.UNSUBSCRIBE_MAIL, send_id)
    # The same mail again (an mbox this time): a replay changes nothing.
    replay = tmp_path / "replay.mbox"
    mbox = mailbox.mbox(replay)
    mbox.add(sample.replace("{address}", address).encode())
    mbox.close()
    again = runner.invoke(args=["outbox", "bounces", "--mbox", str(replay)])
    assert "unsubscribed 0, unsubscribe refused 1" in again.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ConsentEvent)
                                 .where(ConsentEvent.action == ConsentAction.UNSUBSCRIBED)) == 1


def test_confirmed_attendees_are_linked_as_program_participants_within_scope(app, client, signed_in, make_association,
                                                                             make_program, make_list, make_alumnus):
    """Alumni who answered "will attend" are linked from the program page (audited); the decliner is not;
    another prefecture's program is a 404 and links nothing (association staff: 403, tests/test_access_matrix.py)."""
    from crm.associations.models import ProgramAlumnus
    from crm.audit import AuditEntry

    tottori_program = make_program(make_association())
    hyogo_program = make_program(make_association(prefecture=HYOGO, name="兵庫県国際交流協会"))
    list_id = make_list()
    ann, ben, cy = (make_alumnus(TOTTORI, given=name, email=f"{name.lower()}@example.org") for name in ("Ann", "Ben", "Cy"))
    subscriptions = {person: _subscribe(app, list_id, person) for person in (ann, ben, cy)}
    with app.app_context():
        send = operations.create_send(db.session.get(MailingList, list_id), None, {"subject_ja": "招待", "body_ja": "どうぞ"},
                                      program_id=tottori_program)
        db.session.commit()
        send_id = send.id
    with app.test_request_context():
        tokens = [operations.sign("r", subscriptions[ann], send_id, "attend"), operations.sign("r", subscriptions[ben], send_id, "decline"),
                  operations.sign("r", subscriptions[cy], send_id, "attend")]
    for token in tokens:
        assert client.submit(f"/outreach/rsvp/{token}").status_code == 200
    with app.app_context():
        db.session.get(Alumnus, cy).cease_use = True
        db.session.commit()
    staff = signed_in(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    panel = staff.get(f"/outreach/programs/{tottori_program}/rsvps").text
    assert "Ann" in panel and "Ben" not in panel and "Link the confirmed attendees as participants" in panel
    assert staff.submit(f"/outreach/programs/{hyogo_program}/rsvps/link").status_code == 404
    response = staff.submit(f"/outreach/programs/{tottori_program}/rsvps/link")
    assert response.status_code == 303
    with app.app_context():
        links = db.session.scalars(select(ProgramAlumnus.alumnus_id).where(ProgramAlumnus.program_id == tottori_program)).all()
        assert links == [ann] and db.session.scalar(select(func.count()).select_from(ProgramAlumnus)) == 1
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "outreach_link_attendees"))
        assert entry.record_id == str(tottori_program) or entry.record_id == tottori_program
        assert entry.details["alumni"] == [ann]
    assert "Link the confirmed attendees" not in staff.get(f"/outreach/programs/{tottori_program}/rsvps").text


def test_staff_add_members_from_the_member_list_to_their_associations_list(app, signed_in, make_association, make_list,
                                                                           make_member):
    """Association staff select members on the member list and add them to their association's list; a
    member of another association is a 404 (outside scope) and, for staff reaching both, ignored."""
    tia, other = make_association(), make_association(name="米子国際交流協会")
    list_id = make_list(association=tia, name="TIA newsletter")
    other_list = make_list(association=other, name="Yonago news")
    yumi, ken = make_member(tia, email="yumi@example.org"), make_member(tia, name="佐藤 健", email="ken@example.org")
    stranger = make_member(other, name="他 会員", email="other@example.org")
    staff = signed_in(Role.ASSOCIATION_STAFF, association=tia)
    page = staff.get(f"/associations/{tia}/members").text
    assert 'form="member-selection"' in page and "Add the selected members to a mailing list" in page
    chooser = staff.submit("/outreach/member-selection", {"ids": [str(yumi), str(ken)]})
    assert chooser.status_code == 200 and "TIA newsletter" in chooser.text and "Yonago news" not in chooser.text
    assert staff.submit("/outreach/member-selection", {"ids": [str(stranger)]}).status_code == 404
    assert staff.submit(f"/outreach/lists/{list_id}/members", {"ids": [str(yumi), str(stranger)]}).status_code == 404
    assert staff.submit(f"/outreach/lists/{other_list}/members", {"ids": [str(yumi)]}).status_code == 404
    response = staff.submit(f"/outreach/lists/{list_id}/members", {"ids": [str(yumi), str(ken)], "how": "paper",
                                                                   "wording": "会報をメールで受け取ります"})
    assert response.status_code == 303
    with app.app_context():
        rows = db.session.execute(select(Subscription.member_id, Subscription.status).where(Subscription.list_id == list_id)).all()
        assert sorted(rows) == sorted([(yumi, SubscriptionStatus.SUBSCRIBED), (ken, SubscriptionStatus.SUBSCRIBED)])
        event = db.session.scalar(select(ConsentEvent).limit(1))
        assert (event.how, event.wording) == (ConsentHow.PAPER, "会報をメールで受け取ります")


def test_an_administrator_adding_another_associations_member_to_a_list_is_ignored(app, signed_in, make_association, make_list,
                                                                                  make_member):
    tia, other = make_association(), make_association(name="米子国際交流協会")
    list_id = make_list(association=tia, name="TIA newsletter")
    own, stranger = make_member(tia, email="own@example.org"), make_member(other, name="他 会員", email="other@example.org")
    staff = signed_in(Role.ADMIN)  # reaches both associations
    assert staff.submit(f"/outreach/lists/{list_id}/members", {"ids": [str(own), str(stranger)]}).status_code == 303
    with app.app_context():
        assert db.session.scalars(select(Subscription.member_id)).all() == [own]
    assert staff.submit(f"/outreach/lists/{list_id}/members", {"ids": [str(stranger)]}).status_code == 303
    with app.app_context():
        assert db.session.scalars(select(Subscription.member_id)).all() == [own]


def test_people_of_an_import_are_added_with_consent_given_by_import_and_its_wording(app, signed_in, make_list, make_alumnus):
    """The documented way for newsletter consent collected with an import file (README, "Outreach")."""
    list_id = make_list()
    ann = make_alumnus(TOTTORI, email="ann@example.org")
    staff = signed_in(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    assert '<option value="import">Import</option>' in staff.submit("/outreach/selection", {"ids": [str(ann)]}).text
    assert staff.submit(f"/outreach/lists/{list_id}/subscribers", {"ids": [str(ann)], "how": "import",
                                                                   "wording": "I agree to receive the fan club news"}).status_code == 303
    with app.app_context():
        event = db.session.scalar(select(ConsentEvent))
        assert (event.how, event.wording, event.by_id is not None) == (ConsentHow.IMPORT, "I agree to receive the fan club news", True)
