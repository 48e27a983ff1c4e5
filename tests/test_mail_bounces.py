"""Bounces: RFC 3464 delivery status notifications as real servers write them (tests/data/dsn), read
from a Maildir or an mbox; a hard bounce marks the address and keeps it out of later sends."""
from __future__ import annotations

import mailbox
import shutil
from pathlib import Path

from sqlalchemy import select

from crm import mail
from crm.extensions import db

DSN = Path(__file__).parent / "data" / "dsn"
HARD_TOKEN, SOFT_TOKEN, FORWARDED_TOKEN = "0a1b2c3d4e5f60718293", "a0b1c2d3e4f506172839", "ffeeddccbbaa99887766"


def sent_messages():
    """Three sent messages whose return paths and Message-IDs the sample DSNs name."""
    mail.queue([mail.Letter("Gone.Alumnus@example.org", "鳥取だより", "Hello", batch="news"),
                mail.Letter("busy.member@example.net", "TIA newsletter", "Hello", batch="news"),
                mail.Letter("disabled.user@outlook.example.com", "Hyogo JET alumni news", "Hello", batch="news")])
    table = mail.OutboxMessage.__table__
    for address, token in (("Gone.Alumnus@example.org", HARD_TOKEN), ("busy.member@example.net", SOFT_TOKEN),
                           ("disabled.user@outlook.example.com", FORWARDED_TOKEN)):
        db.session.execute(table.update().where(table.c.to_address == address)
                           .values(status="sent", bounce_token=token, message_id=f"<{token}@furusato.invalid>"))
    db.session.commit()


def maildir_of(tmp_path) -> Path:
    box = mailbox.Maildir(tmp_path / "Maildir", create=True)
    for sample in sorted(DSN.glob("*.eml")):
        box.add(sample.read_bytes())
    return tmp_path / "Maildir"


def test_hard_bounces_mark_the_address_and_soft_ones_are_counted(app, app_context, tmp_path):
    sent_messages()
    heard = []
    with mail.bounced.connected_to(lambda address, hard: heard.append((address, hard))):
        result = app.test_cli_runner().invoke(args=["outbox", "bounces", "--maildir", str(maildir_of(tmp_path))])
    assert result.exit_code == 0, result.output
    assert "hard 2, soft 1, not a DSN 1" in result.output
    assert sorted(heard) == [("busy.member@example.net", False), ("disabled.user@outlook.example.com", True),
                             ("gone.alumnus@example.org", True)]

    db.session.rollback()
    addresses = {row.address: row for row in db.session.scalars(select(mail.MailAddress))}
    assert addresses["gone.alumnus@example.org"].hard_bounced_at is not None
    assert "5.1.1" in addresses["gone.alumnus@example.org"].last_bounce
    assert addresses["busy.member@example.net"].hard_bounced_at is None
    assert addresses["busy.member@example.net"].soft_bounces == 1
    assert "Mailbox full" in addresses["busy.member@example.net"].last_bounce
    assert mail.batch_progress("news") == {"queued": 0, "sending": 0, "sent": 1, "failed": 0, "bounced": 2}

    assert not mail.is_deliverable("gone.alumnus@example.org")
    assert mail.queue([mail.Letter("gone.alumnus@example.org", "Next issue", "Hello"),
                       mail.Letter("busy.member@example.net", "Next issue", "Hello")]) == 1


def test_a_maildir_read_twice_counts_each_bounce_once(app, app_context, tmp_path):
    sent_messages()
    maildir = maildir_of(tmp_path)
    runner = app.test_cli_runner()
    runner.invoke(args=["outbox", "bounces", "--maildir", str(maildir)])
    again = runner.invoke(args=["outbox", "bounces", "--maildir", str(maildir)])
    assert "hard 0, soft 0, not a DSN 0" in again.output
    db.session.rollback()
    assert db.session.scalar(select(mail.MailAddress.soft_bounces).where(mail.MailAddress.address == "busy.member@example.net")) == 1
    assert not list((maildir / "new").iterdir())


def test_an_mbox_of_bounces_is_read(app, app_context, tmp_path):
    sent_messages()
    box = mailbox.mbox(tmp_path / "bounces.mbox")
    for sample in sorted(DSN.glob("*.eml")):
        box.add(sample.read_bytes())
    box.close()
    result = app.test_cli_runner().invoke(args=["outbox", "bounces", "--mbox", str(tmp_path / "bounces.mbox")])
    assert "hard 2, soft 1, not a DSN 1" in result.output
    db.session.rollback()
    assert not mail.is_deliverable("disabled.user@outlook.example.com")


def test_the_command_wants_one_source(app, tmp_path):
    shutil.copy(DSN / "vacation-autoreply.eml", tmp_path / "x.eml")
    result = app.test_cli_runner().invoke(args=["outbox", "bounces"])
    assert result.exit_code == 2 and "--maildir" in result.output
