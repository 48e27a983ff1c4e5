"""Personal links and the self-updates made through them.

A link's token is shown once (in the mail) and stored only as its SHA-256: the database alone never
opens anyone's record. A link belongs to one person (an alumnus, or an association member), ends
after SELF_SERVICE_LINK_DAYS and can be revoked.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.alumni.models import Alumnus
from crm.associations.models import Member
from crm.audit import Audited
from crm.auth.models import User
from crm.db import UTCDateTime, utcnow
from crm.extensions import db


class PersonalLink(Audited, db.Model):
    __tablename__ = "personal_links"
    __audit_exclude__ = frozenset({"token_hash"})
    __table_args__ = (
        CheckConstraint("(alumnus_id IS NULL) <> (member_id IS NULL)", name="one_person"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    alumnus_id: Mapped[int | None] = mapped_column(ForeignKey("alumni.id", ondelete="CASCADE"), index=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("association_members.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The staff member who sent it, or None: the person asked for it on the request page.
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    alumnus: Mapped[Alumnus | None] = relationship()
    member: Mapped[Member | None] = relationship()
    created_by: Mapped[User | None] = relationship()


class SelfUpdate(db.Model):
    """One change a person made through their link: what it was, with the values before, so staff can
    see it in their feed and undo it. (The audit trail has it too, with the person as actor.)"""

    __tablename__ = "self_updates"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The person: an alumnus, or an association member (whose association's staff see it).
    alumnus_id: Mapped[int | None] = mapped_column(ForeignKey("alumni.id", ondelete="CASCADE"), index=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("association_members.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # details | confirm | activity | subscription
    # {field: {"old": …, "new": …}} for details; the activity reported for an activity.
    changes: Mapped[dict | None] = mapped_column(JSON)
    activity_id: Mapped[int | None] = mapped_column(ForeignKey("ambassador_activities.id", ondelete="SET NULL"))
    # The activity's prefecture (an activity is that prefecture's alone); None: the shared record.
    prefecture_id: Mapped[int | None] = mapped_column(ForeignKey("prefectures.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    undone_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    alumnus: Mapped[Alumnus | None] = relationship(lazy="joined")
    member: Mapped[Member | None] = relationship(lazy="joined")
