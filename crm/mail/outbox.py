"""The outbox: letters are queued as rows in the caller's transaction and sent by a worker.

A worker claims a few due rows at a time with a lease (status `sending`, `lease_until`, its own
`lease_token`): PostgreSQL picks them with FOR UPDATE SKIP LOCKED, SQLite in one UPDATE … RETURNING
inside its write lock, so two workers never hold the same row. Each message is marked `sent` in its
own transaction right after the server took it. A worker killed with SIGKILL leaves its claimed rows
`sending`; once their lease has run out any worker claims them again. What it loses is knowledge of
the one message in flight, which the server may already have accepted: that one, and only that
one, can go out twice (with the same Message-ID)."""
from __future__ import annotations

import collections
import logging
import os
import secrets
import ssl
import threading
import time
from collections.abc import Iterable
from datetime import timedelta
from itertools import islice

import dkim
from flask import Flask, current_app, has_app_context
from sqlalchemy import and_, func, or_, select, update

from crm.db import insert_many, utcnow
from crm.extensions import db
from crm.mail import letters as letters_module
from crm.mail.letters import Letter
from crm.mail.models import STATUSES, MailAddress, OutboxMessage
from crm.mail.signals import sent as sent_signal
from crm.mail.transport import Connection, Refusal, ServerDown, SmtpSettings

log = logging.getLogger("crm.mail")
QUEUE_CHUNK = 2000


def setting(name: str):
    return current_app.config[name]


def base_url() -> str:
    """Where links in messages point (CRM_BASE_URL), without a trailing slash."""
    return setting("BASE_URL").rstrip("/")


def _sender_domain() -> str:
    return letters_module.sender_address(setting("MAIL_FROM")).domain


def bounce_domain() -> str:
    return setting("BOUNCE_DOMAIN") or _sender_domain()


def unsubscribe_address(token: str) -> str:
    """The List-Unsubscribe mailto's address for a room's token (read back by `outbox bounces`)."""
    return f"unsubscribe+{token}@{bounce_domain()}"


def return_path(bounce_token: str) -> str:
    """The message's own return path (VERP): a bounce names the message it is about."""
    return f"bounce+{bounce_token}@{bounce_domain()}"


# --- queueing -------------------------------------------------------------------------------

def queue(letters: Iterable[Letter]) -> int:
    """Add the letters to the outbox in the caller's transaction (the caller commits) → how many
    were queued: letters to hard-bounced addresses are left out."""
    session = db.session
    session.flush()
    connection = session.connection()
    table = OutboxMessage.__table__
    now = utcnow()
    domain = _sender_domain()
    queued = 0
    letters = iter(letters)
    while chunk := list(islice(letters, QUEUE_CHUNK)):
        lowered = {letter.to.lower() for letter in chunk}
        bounced = set(connection.execute(
            select(MailAddress.address).where(MailAddress.address.in_(lowered), MailAddress.hard_bounced_at.is_not(None))
        ).scalars())
        rows = []
        tokens = os.urandom(10 * len(chunk)).hex()  # one system call, not one per letter
        for index, letter in enumerate(chunk):
            if not isinstance(letter, Letter):
                raise TypeError(f"mail.queue takes Letters, not {type(letter).__name__}")
            if bounced and letter.to.lower() in bounced:
                continue
            token = tokens[20 * index:20 * index + 20]
            rows.append({
                "batch": letter.batch, "recipient_key": letter.recipient_key, "to_address": letter.to,
                "to_name": letter.to_name, "subject": letter.subject, "text_body": letter.text,
                "html_body": letter.html, "list_id": letter.list_id, "unsubscribe_url": letter.unsubscribe_url,
                "unsubscribe_mailto": letter.unsubscribe_mailto, "language": letter.language,
                "status": "queued", "attempts": 0, "next_attempt_at": letter.not_before or now,
                "lease_until": None, "lease_token": None, "last_error": None, "sent_at": None,
                "message_id": f"<{token}@{domain}>", "bounce_token": token, "created_at": now,
            })
        if not rows:
            continue
        insert_many(connection, table, rows, wide=True)
        queued += len(rows)
    return queued


def is_deliverable(address: str) -> bool:
    """False once the address has bounced hard (a permanent failure reported by a DSN)."""
    return db.session.scalar(select(MailAddress.id).where(
        MailAddress.address == address.strip().lower(), MailAddress.hard_bounced_at.is_not(None))) is None


def batch_progress(batch: str) -> dict[str, int]:
    """How many of the batch's messages are in each status (every status present, zero or not)."""
    counts = dict.fromkeys(STATUSES, 0)
    counts.update(db.session.execute(select(OutboxMessage.status, func.count()).where(OutboxMessage.batch == batch)
                                     .group_by(OutboxMessage.status)).all())
    return counts


# --- sending --------------------------------------------------------------------------------

class Throttle:
    """At most `per_minute` messages in any 60 seconds (0: no limit)."""

    def __init__(self, per_minute: int, clock=time.monotonic, sleep=time.sleep):
        self.per_minute, self.clock, self.sleep = per_minute, clock, sleep
        self.times: collections.deque[float] = collections.deque(maxlen=per_minute or 1)

    def wait(self) -> None:
        if not self.per_minute:
            return
        if len(self.times) == self.per_minute:
            delay = self.times[0] + 60 - self.clock()
            if delay > 0:
                self.sleep(delay)
        self.times.append(self.clock())


def _claim(size: int, due_by) -> list:
    """Lease up to `size` messages due by `due_by` to this worker → their rows (committed)."""
    table = OutboxMessage.__table__
    now = utcnow()
    due = or_(and_(table.c.status == "queued", table.c.next_attempt_at <= due_by),
              and_(table.c.status == "sending", table.c.lease_until < now))  # a dead worker's lease
    chosen = select(table.c.id).where(due).order_by(table.c.next_attempt_at, table.c.id).limit(size)
    if db.session.get_bind().dialect.name == "postgresql":
        chosen = chosen.with_for_update(skip_locked=True)
    rows = db.session.execute(
        update(table).where(table.c.id.in_(chosen.scalar_subquery()))
        .values(status="sending", lease_token=secrets.token_hex(8),
                lease_until=now + timedelta(seconds=setting("MAIL_LEASE_SECONDS")), attempts=table.c.attempts + 1)
        .returning(*table.c)).all()
    db.session.commit()
    return sorted(rows, key=lambda row: (row.next_attempt_at, row.id))


def _finish(row, **values) -> bool:
    """Record what became of a leased message → whether the lease was still this worker's."""
    table = OutboxMessage.__table__
    result = db.session.execute(update(table).where(table.c.id == row.id, table.c.lease_token == row.lease_token)
                                .values(lease_until=None, lease_token=None, **values))
    db.session.commit()
    if result.rowcount != 1:  # the lease ran out before the server answered: raise CRM_MAIL_LEASE_SECONDS
        log.warning("outbox message %s: lease lost before it was recorded (%s); another worker may send it again",
                    row.id, values.get("status"))
    return result.rowcount == 1


def _release(rows) -> None:
    """Give back leased messages not tried (the server is down): due again, the attempt not counted."""
    table = OutboxMessage.__table__
    for row in rows:
        db.session.execute(update(table).where(table.c.id == row.id, table.c.lease_token == row.lease_token)
                           .values(status="queued", lease_until=None, lease_token=None, attempts=table.c.attempts - 1))
    db.session.commit()


def _signer():
    key_file, selector, domain = (setting(name) for name in ("DKIM_KEY_FILE", "DKIM_SELECTOR", "DKIM_DOMAIN"))
    if not (key_file and selector and domain):
        return None
    with open(key_file, "rb") as file:
        key = file.read()
    headers = [b"from", b"to", b"subject", b"date", b"message-id", b"mime-version", b"content-type",
               b"list-id", b"list-unsubscribe", b"list-unsubscribe-post"]

    def sign(data: bytes) -> bytes:
        return dkim.sign(data, selector.encode(), domain.encode(), key, include_headers=headers) + data

    return sign


def message_bytes(row, sign=None) -> bytes:
    data = letters_module.build(row, setting("MAIL_FROM"), utcnow()).as_bytes()
    return sign(data) if sign else data


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(setting("MAIL_RETRY_SECONDS") * 2 ** max(attempts - 1, 0), 6 * 3600))


def deliver_due(app: Flask | None = None, stop: threading.Event | None = None) -> collections.Counter:
    """Send every message that is due, once (what `outbox run --once` does) → counts of what
    became of them: sent, retry, failed, waiting (the server was down: left queued)."""
    stop = stop or threading.Event()
    if has_app_context() and (app is None or current_app._get_current_object() is app):
        # in the caller's context and session (whatever it has pending is committed with the first claim)
        return _deliver(stop)
    with app.app_context():
        return _deliver(stop)


def _deliver(stop: threading.Event) -> collections.Counter:
    counts: collections.Counter = collections.Counter()
    url = setting("SMTP_URL")
    if not url:
        raise RuntimeError("CRM_SMTP_URL is not set: no SMTP server to send through")
    connection = Connection(SmtpSettings.from_url(url), ssl.create_default_context(cafile=setting("SMTP_CA_FILE")))
    per_minute = setting("MAIL_PER_MINUTE")
    throttle = Throttle(per_minute)
    # As many as can surely be sent within half the lease at the throttled rate.
    size = max(1, min(setting("MAIL_CLAIM_SIZE"), per_minute * setting("MAIL_LEASE_SECONDS") // 120 if per_minute else 10**6))
    sign = _signer()
    started = utcnow()  # a message put back for a retry during this pass waits for the next one
    try:
        while not stop.is_set():
            rows = _claim(size, started)
            if not rows:
                break
            for index, row in enumerate(rows):
                if stop.is_set():
                    _release(rows[index:])
                    return counts
                throttle.wait()
                try:
                    connection.send(return_path(row.bounce_token), row.to_address, message_bytes(row, sign))
                except ServerDown as error:
                    log.warning("SMTP server unreachable (%s): %d messages wait", error, len(rows) - index)
                    _release(rows[index:])
                    counts["waiting"] += len(rows) - index
                    return counts
                except Refusal as error:
                    if error.permanent or row.attempts >= setting("MAIL_MAX_ATTEMPTS"):
                        _finish(row, status="failed", last_error=str(error)[:2000])
                        counts["failed"] += 1
                    else:
                        _finish(row, status="queued", last_error=str(error)[:2000],
                                next_attempt_at=utcnow() + _backoff(row.attempts))
                        counts["retry"] += 1
                    continue
                _finish(row, status="sent", sent_at=utcnow(), last_error=None, text_body=None, html_body=None)
                counts["sent"] += 1
                try:
                    sent_signal.send(row)
                    db.session.commit()
                except Exception:  # a receiver's failure must not make the message look unsent
                    db.session.rollback()
                    log.exception("a receiver of mail.sent failed for message %s", row.id)
    finally:
        connection.close()
    return counts


def run(app: Flask, stop: threading.Event, poll_seconds: float = 5.0) -> None:
    """Send what is due, again and again, until `stop` is set; wait longer while the server is down."""
    delay = poll_seconds
    while not stop.is_set():
        counts = deliver_due(app, stop)
        if counts:
            log.info("outbox: %s", dict(counts))
        if counts.get("waiting"):
            delay = min(delay * 2, 300)
        else:
            delay = poll_seconds
        stop.wait(delay if not counts.get("sent") else 0)
