"""The mail room: letters queued in the outbox, sent by the worker to a real SMTP server (aiosmtpd),
and what arrived parsed with the standard email package."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from crm import mail
from crm.db import utcnow
from crm.extensions import db
from crm.mail.outbox import Throttle

LIST_ID = "world-tottori-fan-club.pref-31.furusato"


def newsletter(to="emily@example.org", **fields) -> mail.Letter:
    values = dict(to_name="エミリー・ジョーンズ", list_id=LIST_ID, unsubscribe_url="https://crm.example.jp/u/tok3n",
                  unsubscribe_mailto="mailto:unsubscribe@crm.example.jp?subject=tok3n", batch="outreach.send:42",
                  recipient_key="alumnus:17")
    values.update(fields)
    return mail.Letter(to, "鳥取だより 12月号 — News from Tottori", "こんにちは、エミリーさん。\n砂丘の冬です。",
                       "<p>こんにちは、<b>エミリー</b>さん。</p>", **values)


def queue(*letters) -> int:
    count = mail.queue(letters)
    db.session.commit()
    return count


def statuses() -> list[str]:
    return list(db.session.scalars(select(mail.OutboxMessage.status).order_by(mail.OutboxMessage.id)))


@pytest.mark.parametrize("field, value", [
    ("to", "emily@example.org\r\nBcc: everyone@example.org"), ("to", "not an address"),
    ("subject", "Hello\r\nBcc: everyone@example.org"), ("subject", "Hello\nX-Spam: yes"),
    ("to_name", "Emily\r\nBcc: everyone@example.org"), ("list_id", "fan club>\r\nBcc: x@example.org"),
    ("unsubscribe_url", "https://crm.example.jp/u/x>, <https://evil.example"), ("unsubscribe_url", "javascript:alert(1)"),
    ("unsubscribe_mailto", "mailto:x@example.org\r\nBcc: y@example.org"),
])
def test_a_header_cannot_be_injected_through_any_field(field, value):
    fields = {"to": "emily@example.org", "subject": "Hello", "text": "Hi"}
    fields[field] = value
    with pytest.raises(ValueError):
        mail.Letter(**fields)


def test_a_japanese_newsletter_arrives_with_every_header_and_both_parts(app_context, smtp_sink):
    assert queue(newsletter()) == 1
    assert mail.deliver_due()["sent"] == 1

    [message] = smtp_sink.messages
    [envelope] = smtp_sink.envelopes
    raw = envelope.content.decode("ascii")  # everything went out 7-bit: RFC 2047 headers, encoded bodies
    assert "=?utf-8?" in raw.split("\r\n\r\n", 1)[0]
    assert message["Subject"] == "鳥取だより 12月号 — News from Tottori"
    assert message["To"].addresses[0].display_name == "エミリー・ジョーンズ"
    assert message["To"].addresses[0].addr_spec == "emily@example.org"
    assert message["From"].addresses[0].addr_spec == "noreply@furusato.invalid"
    assert message["Message-ID"].startswith("<") and message["Message-ID"].endswith("@furusato.invalid>")
    assert message["Date"].datetime.tzinfo is not None
    assert message["List-Id"] == f"<{LIST_ID}>"
    assert message["List-Unsubscribe"] == ("<https://crm.example.jp/u/tok3n>, "
                                           "<mailto:unsubscribe@crm.example.jp?subject=tok3n>")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message.get_content_type() == "multipart/alternative"
    # canonical CRLF line ends inside the base64 part, as RFC 2045 wants for text
    assert message.get_body(("plain",)).get_content() == "こんにちは、エミリーさん。\r\n砂丘の冬です。\r\n"
    assert "<b>エミリー</b>" in message.get_body(("html",)).get_content()
    assert message.get_body(("plain",)).get_content_charset() == "utf-8"

    row = db.session.scalar(select(mail.OutboxMessage))
    assert envelope.mail_from == f"bounce+{row.bounce_token}@furusato.invalid"
    assert envelope.rcpt_tos == ["emily@example.org"]
    assert (row.status, row.attempts, row.message_id) == ("sent", 1, message["Message-ID"])
    assert row.sent_at is not None and row.text_body is None and row.html_body is None  # the log stays, the body goes
    assert mail.batch_progress("outreach.send:42") == {"queued": 0, "sending": 0, "sent": 1, "failed": 0, "bounced": 0}


def test_a_plain_text_letter_is_a_single_part(app_context, smtp_sink):
    queue(mail.Letter("kenji@example.jp", "Hello", "Plain only", language="en"))
    mail.deliver_due()
    [message] = smtp_sink.messages
    assert message.get_content_type() == "text/plain" and message["Content-Language"] == "en"
    assert message["List-Unsubscribe"] is None and message["List-Unsubscribe-Post"] is None


def test_sent_signal_names_the_message(app_context, smtp_sink):
    seen = []
    with mail.sent.connected_to(lambda row: seen.append((row.batch, row.recipient_key))):
        queue(newsletter())
        mail.deliver_due()
    assert seen == [("outreach.send:42", "alumnus:17")]


def test_a_hard_bounced_address_is_not_queued(app_context):
    db.session.add(mail.MailAddress(address="gone@example.org", hard_bounced_at=utcnow(), soft_bounces=0))
    db.session.add(mail.MailAddress(address="slow@example.org", soft_bounces=2))
    db.session.commit()
    assert not mail.is_deliverable("Gone@Example.org") and mail.is_deliverable("slow@example.org")
    assert mail.is_deliverable("new@example.org")
    assert queue(newsletter("GONE@example.org"), newsletter("slow@example.org"), newsletter("new@example.org")) == 2
    assert set(db.session.scalars(select(mail.OutboxMessage.to_address))) == {"slow@example.org", "new@example.org"}


def test_a_scheduled_letter_waits_for_its_time(app_context, smtp_sink):
    queue(newsletter(not_before=utcnow() + timedelta(hours=1)))
    assert mail.deliver_due()["sent"] == 0 and statuses() == ["queued"]
    db.session.execute(mail.OutboxMessage.__table__.update().values(next_attempt_at=utcnow()))
    db.session.commit()
    assert mail.deliver_due()["sent"] == 1


def test_a_temporary_refusal_is_retried_later_and_a_permanent_one_fails(app_context, smtp_sink):
    smtp_sink.refuse["busy@example.org"] = "450 4.2.1 Mailbox busy, try later"
    smtp_sink.refuse["nobody@example.org"] = "550 5.1.1 No such user"
    queue(newsletter("busy@example.org"), newsletter("nobody@example.org"), newsletter("emily@example.org"))
    counts = mail.deliver_due()
    assert (counts["sent"], counts["retry"], counts["failed"]) == (1, 1, 1)
    busy, nobody, emily = db.session.scalars(select(mail.OutboxMessage).order_by(mail.OutboxMessage.id))
    assert busy.status == "queued" and busy.attempts == 1 and "450" in busy.last_error
    assert busy.next_attempt_at > utcnow() + timedelta(seconds=50)
    assert nobody.status == "failed" and "550 5.1.1" in nobody.last_error
    assert emily.status == "sent"
    # due again: the server takes it this time
    del smtp_sink.refuse["busy@example.org"]
    db.session.execute(mail.OutboxMessage.__table__.update().where(mail.OutboxMessage.id == busy.id)
                       .values(next_attempt_at=utcnow()))
    db.session.commit()
    assert mail.deliver_due()["sent"] == 1
    assert [m["To"].addresses[0].addr_spec for m in smtp_sink.messages] == ["emily@example.org", "busy@example.org"]


def test_a_message_refused_too_often_fails(app, app_context, smtp_sink, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_MAX_ATTEMPTS", 2)
    monkeypatch.setitem(app.config, "MAIL_RETRY_SECONDS", 0)
    smtp_sink.refuse["busy@example.org"] = "421 4.7.0 Try again later"
    queue(newsletter("busy@example.org"))
    assert mail.deliver_due()["retry"] == 1
    assert mail.deliver_due()["failed"] == 1
    assert statuses() == ["failed"]


def test_when_the_server_is_down_nothing_is_lost_and_it_is_sent_later(app, app_context, smtp_sink, monkeypatch):
    from tests.conftest import free_port

    queue(newsletter("a@example.org"), newsletter("b@example.org"))
    monkeypatch.setitem(app.config, "SMTP_URL", f"smtp://127.0.0.1:{free_port()}")  # nobody listens there
    counts = mail.deliver_due()
    assert counts["waiting"] == 2 and not counts["sent"]
    rows = db.session.scalars(select(mail.OutboxMessage)).all()
    assert [(row.status, row.attempts) for row in rows] == [("queued", 0), ("queued", 0)]
    monkeypatch.setitem(app.config, "SMTP_URL", f"smtp://127.0.0.1:{smtp_sink.port}")
    assert mail.deliver_due()["sent"] == 2
    assert len(smtp_sink.messages) == 2


def test_a_lease_held_by_a_live_worker_is_left_alone_and_a_dead_ones_is_taken(app_context, smtp_sink):
    queue(newsletter("a@example.org"), newsletter("b@example.org"))
    table = mail.OutboxMessage.__table__
    db.session.execute(table.update().where(table.c.to_address == "a@example.org")
                       .values(status="sending", lease_token="other", lease_until=utcnow() + timedelta(minutes=5)))
    db.session.execute(table.update().where(table.c.to_address == "b@example.org")
                       .values(status="sending", lease_token="dead", lease_until=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert mail.deliver_due()["sent"] == 1
    assert [m["To"].addresses[0].addr_spec for m in smtp_sink.messages] == ["b@example.org"]


def test_the_throttle_allows_so_many_messages_a_minute():
    now, slept = [0.0], []
    throttle = Throttle(3, clock=lambda: now[0], sleep=lambda seconds: (slept.append(seconds), now.__setitem__(0, now[0] + seconds)))
    for _ in range(3):
        throttle.wait()
        now[0] += 1
    throttle.wait()
    assert slept == [57.0]
    unlimited = Throttle(0, sleep=lambda seconds: pytest.fail("no limit, no wait"))
    for _ in range(1000):
        unlimited.wait()


def test_queueing_thousands_is_one_bulk_insert_per_chunk(app_context):
    count = queue(*(newsletter(f"person{i}@example.org", recipient_key=f"alumnus:{i}") for i in range(5000)))
    assert count == 5000 and mail.batch_progress("outreach.send:42")["queued"] == 5000
    assert len(set(db.session.scalars(select(mail.OutboxMessage.message_id)))) == 5000


def test_base_url_is_the_configured_one(app, app_context, monkeypatch):
    monkeypatch.setitem(app.config, "BASE_URL", "https://crm.pref.tottori.lg.jp/")
    assert mail.base_url() == "https://crm.pref.tottori.lg.jp"


def test_outbox_run_once_and_status_from_the_command_line(app, app_context, smtp_sink):
    queue(newsletter("a@example.org"), newsletter("b@example.org"))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["outbox", "status"])
    assert "queued 2" in result.output
    result = runner.invoke(args=["outbox", "run", "--once"])
    assert result.exit_code == 0, result.output
    assert "sent 2" in result.output and len(smtp_sink.messages) == 2
    assert "sent 2" in runner.invoke(args=["outbox", "status"]).output


def test_the_task_queue_worker_sends_the_outbox_every_minute(app_context, smtp_sink):
    from crm import tasks

    assert tasks._PERIODIC["mail.deliver"] == {"minute": "*"}
    queue(newsletter())
    tasks.enqueue("mail.deliver")  # the queue's worker runs it on schedule; the tests' queue at once
    assert len(smtp_sink.messages) == 1 and statuses() == ["sent"]
