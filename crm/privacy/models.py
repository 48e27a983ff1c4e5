"""A formal request under the APPI's chapter for public bodies (行政機関等): disclosure (開示),
correction (訂正) or suspension of use (利用停止) of one person's data, received by a prefecture.

Design choices (see README):
- The deadline is stored (`due_on`), set by the operations layer whenever the received date or the
  extension changes, so "overdue" and "due this week" are one indexed comparison for every office.
- The request outlives the person's record: deleting the alumnus clears `alumnus_id` (the prefecture
  must still show it answered), it is not deleted with them.
"""
from __future__ import annotations

from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.alumni.models import Alumnus
from crm.audit import Audited
from crm.auth.models import User, enum_column
from crm.db import UTCDateTime, utcnow
from crm.extensions import db
from crm.i18n import LabelledEnum
from crm.reference.models import Prefecture

# APPI art. 83 and 94: a decision within 30 days of receipt, extendable by up to 30 more days.
ANSWER_DAYS = 30
MAX_EXTENSION_DAYS = 30


class RequestKind(LabelledEnum):
    DISCLOSURE = "disclosure", _l("Disclosure (開示)")
    CORRECTION = "correction", _l("Correction (訂正)")
    SUSPENSION = "suspension", _l("Suspension of use (利用停止)")


class RequestStatus(LabelledEnum):
    OPEN = "open", _l("Open")
    DECIDED = "decided", _l("Decided")
    WITHDRAWN = "withdrawn", _l("Withdrawn")


class Decision(LabelledEnum):
    GRANTED = "granted", _l("Granted")
    PARTLY_GRANTED = "partly_granted", _l("Partly granted")
    REFUSED = "refused", _l("Refused")


class PrivacyRequest(Audited, db.Model):
    __tablename__ = "privacy_requests"
    __table_args__ = (
        CheckConstraint(f"extension_days IS NULL OR (extension_days >= 1 AND extension_days <= {MAX_EXTENSION_DAYS})",
                        name="extension_within_limit"),
        # Open requests by deadline, per office: the home page's "due" panel and the overview.
        Index("ix_privacy_requests_prefecture_status_due", "prefecture_id", "status", "due_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    prefecture_id: Mapped[int] = mapped_column(ForeignKey("prefectures.id"))
    alumnus_id: Mapped[int | None] = mapped_column(ForeignKey("alumni.id", ondelete="SET NULL"), index=True)
    kind: Mapped[RequestKind] = mapped_column(enum_column(RequestKind, length=20))
    received_on: Mapped[date]
    identity_verified_by: Mapped[str] = mapped_column(String(200))
    requester_contact: Mapped[str] = mapped_column(String(300))
    due_on: Mapped[date]
    extension_days: Mapped[int | None]
    extension_reason: Mapped[str | None] = mapped_column(Text)
    extension_notified_on: Mapped[date | None]
    status: Mapped[RequestStatus] = mapped_column(enum_column(RequestStatus, length=20), default=RequestStatus.OPEN)
    decision: Mapped[Decision | None] = mapped_column(enum_column(Decision, length=20))
    decision_reason: Mapped[str | None] = mapped_column(Text)
    decided_on: Mapped[date | None]
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, server_default=func.now())
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    alumnus: Mapped[Alumnus | None] = relationship(lazy="joined")
    prefecture: Mapped[Prefecture] = relationship(lazy="joined")
    recorded_by: Mapped[User | None] = relationship()

    __mapper_args__ = {"version_id_col": version}
