"""A person's request for deletion, and the mark an anonymised person carries (which makes a
repeated anonymisation a no-op and keeps the person out of later dry runs)."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, String, func
from sqlalchemy.orm import Mapped, mapped_column

from crm.audit import Audited
from crm.db import UTCDateTime, utcnow
from crm.extensions import db


class ErasureRequest(Audited, db.Model):
    """A person asked the prefecture (None: an administrator recorded it) to delete their data."""

    __tablename__ = "erasure_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    alumnus_id: Mapped[int] = mapped_column(ForeignKey("alumni.id", ondelete="CASCADE"), index=True)
    prefecture_id: Mapped[int | None] = mapped_column(ForeignKey("prefectures.id"))
    requested_on: Mapped[date]
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, server_default=func.now())


class Anonymisation(db.Model):
    """The person's personal columns were cleared on `at` under `rule`; the row itself stays, so the
    reports still count them."""

    __tablename__ = "anonymisations"

    alumnus_id: Mapped[int] = mapped_column(ForeignKey("alumni.id", ondelete="CASCADE"), primary_key=True)
    rule: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
