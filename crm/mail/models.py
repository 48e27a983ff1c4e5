"""The outbox (one row per message to one recipient: the delivery log) and what is known of each
address (hard bounces, soft bounce count)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from crm.db import UTCDateTime
from crm.extensions import db

STATUSES = ("queued", "sending", "sent", "failed", "bounced")


class OutboxMessage(db.Model):
    """One message to one recipient. `queued` until due (`next_attempt_at`), `sending` while a worker
    holds its lease (`lease_until`), then `sent`, `failed` (permanent refusal, or out of attempts) or
    `bounced` (a DSN came back). The bodies are dropped once the message has left: the row stays as
    the log."""

    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_messages_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    batch: Mapped[str | None] = mapped_column(String(100), index=True)
    recipient_key: Mapped[str | None] = mapped_column(String(100))
    to_address: Mapped[str] = mapped_column(String(320))
    to_name: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(Text)
    text_body: Mapped[str | None] = mapped_column(Text)
    html_body: Mapped[str | None] = mapped_column(Text)
    list_id: Mapped[str | None] = mapped_column(String(200))
    unsubscribe_url: Mapped[str | None] = mapped_column(String(2000))
    unsubscribe_mailto: Mapped[str | None] = mapped_column(String(400))
    language: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10))
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_token: Mapped[str | None] = mapped_column(String(32))
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Given at queueing, so a message sent again (a worker killed in flight) carries the same one.
    message_id: Mapped[str] = mapped_column(String(255))
    # The per-message part of the return path (VERP): bounce+<token>@domain.
    bounce_token: Mapped[str] = mapped_column(String(40), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())


class MailAddress(db.Model):
    """An address the outbox has heard back about: a hard bounce keeps it out of later `queue()`."""

    __tablename__ = "mail_addresses"

    id: Mapped[int] = mapped_column(primary_key=True)
    address: Mapped[str] = mapped_column(String(320), unique=True)  # lower-cased
    hard_bounced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    soft_bounces: Mapped[int] = mapped_column(Integer, default=0)
    last_bounce: Mapped[str | None] = mapped_column(Text)  # the DSN's status and diagnostic
    last_bounce_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
