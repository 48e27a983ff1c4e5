"""Mailing lists, subscriptions and their consent history, sends and RSVP answers.

Design choices (see README, "Outreach"):
- Consent is per list: a list has one owner (a prefecture XOR an exchange association), so consent
  given to Tottori's fan club is never consent to Hyogo's list.
- A subscription is a person (an alumnus, an association member, or, for a public sign-up, an
  address with a name) on one list. Its history is the append-only `consent_events`: when, how, by
  whom and the wording shown.
- Unsubscribe and RSVP links carry an HMAC of (purpose, subscription, send): nothing per recipient is
  stored for them, so queueing 20,000 letters writes the outbox and nothing else.
"""
from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.alumni.models import Alumnus
from crm.associations.models import Association, Member, Program
from crm.audit import Audited
from crm.auth.models import User, enum_column
from crm.db import UTCDateTime, utcnow
from crm.extensions import db
from crm.i18n import LabelledEnum
from crm.reference.models import Prefecture

LANGUAGES = ("ja", "en")


class SubscriptionStatus(LabelledEnum):
    PENDING = "pending", _l("Awaiting confirmation")
    SUBSCRIBED = "subscribed", _l("Subscribed")
    UNSUBSCRIBED = "unsubscribed", _l("Unsubscribed")


class ConsentHow(LabelledEnum):
    FORM = "form", _l("Form")
    IMPORT = "import", _l("Import")
    PAPER = "paper", _l("Paper")
    SELF_SIGNUP = "self_signup", _l("Self sign-up")
    MIGRATION = "migration", _l("Migrated newsletter consent")
    UNSUBSCRIBE_LINK = "unsubscribe_link", _l("Unsubscribe link")
    UNSUBSCRIBE_MAIL = "unsubscribe_mail", _l("Unsubscribe mail")
    STAFF = "staff", _l("Staff")


class ConsentAction(LabelledEnum):
    SUBSCRIBED = "subscribed", _l("Subscribed")
    REQUESTED = "requested", _l("Asked to subscribe")
    UNSUBSCRIBED = "unsubscribed", _l("Unsubscribed")


class SendStatus(LabelledEnum):
    SCHEDULED = "scheduled", _l("Scheduled")
    QUEUED = "queued", _l("Queued")


class RsvpAnswer(LabelledEnum):
    ATTEND = "attend", _l("Will attend")
    DECLINE = "decline", _l("Will not attend")


class MailingList(Audited, db.Model):
    __tablename__ = "mailing_lists"
    __table_args__ = (
        CheckConstraint("(prefecture_id IS NULL) <> (association_id IS NULL)", name="one_owner"),
        # One default list per prefecture: where the old newsletter flag went, and where staff add people.
        Index("ux_mailing_lists_default", "prefecture_id", unique=True,
              sqlite_where=text("is_default"), postgresql_where=text("is_default")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    prefecture_id: Mapped[int | None] = mapped_column(ForeignKey("prefectures.id"), index=True)
    association_id: Mapped[int | None] = mapped_column(ForeignKey("associations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    purpose_ja: Mapped[str] = mapped_column(Text, default="")
    purpose_en: Mapped[str] = mapped_column(Text, default="")
    public_signup: Mapped[bool] = mapped_column(default=False, server_default="0")
    public_archive: Mapped[bool] = mapped_column(default=False, server_default="0")
    is_default: Mapped[bool] = mapped_column(default=False, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    prefecture: Mapped[Prefecture | None] = relationship(lazy="joined")
    association: Mapped[Association | None] = relationship(lazy="joined")

    __mapper_args__ = {"version_id_col": version}

    @property
    def owner(self) -> str:
        return str(self.prefecture.name if self.prefecture else self.association.name)

    def purpose(self, language: str) -> str:
        return (self.purpose_en if language == "en" else self.purpose_ja) or self.purpose_ja or self.purpose_en

    def __str__(self) -> str:
        return self.name


class Subscription(Audited, db.Model):
    __tablename__ = "subscriptions"
    __table_args__ = (
        CheckConstraint("alumnus_id IS NULL OR member_id IS NULL", name="one_person"),
        CheckConstraint("alumnus_id IS NOT NULL OR member_id IS NOT NULL OR email IS NOT NULL", name="someone"),
        UniqueConstraint("list_id", "alumnus_id", name="uq_subscriptions_list_alumnus"),
        UniqueConstraint("list_id", "member_id", name="uq_subscriptions_list_member"),
        UniqueConstraint("list_id", "email", name="uq_subscriptions_list_email"),
        Index("ix_subscriptions_list_status", "list_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("mailing_lists.id", ondelete="CASCADE"))
    alumnus_id: Mapped[int | None] = mapped_column(ForeignKey("alumni.id", ondelete="CASCADE"), index=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("association_members.id", ondelete="CASCADE"), index=True)
    # A public sign-up from someone the CRM has no record of: the address and name they gave.
    email: Mapped[str | None] = mapped_column(String(254))
    name: Mapped[str | None] = mapped_column(String(200))
    language: Mapped[str | None] = mapped_column(String(2))
    status: Mapped[SubscriptionStatus] = mapped_column(enum_column(SubscriptionStatus))
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    mailing_list: Mapped[MailingList] = relationship(lazy="joined")
    alumnus: Mapped[Alumnus | None] = relationship(lazy="joined")
    member: Mapped[Member | None] = relationship(lazy="joined")

    __mapper_args__ = {"version_id_col": version}

    @property
    def address(self) -> str | None:
        person = self.alumnus or self.member
        return person.email if person is not None else self.email

    @property
    def display_name(self) -> str:
        if self.alumnus is not None:
            return f"{self.alumnus.given_name} {self.alumnus.family_name}"
        if self.member is not None:
            return self.member.name
        return self.name or ""

    @property
    def preferred_language(self) -> str:
        person = self.alumnus or self.member
        value = person.preferred_language if person is not None else self.language
        return value if value in LANGUAGES else "ja"

    @property
    def ceased(self) -> bool:
        return bool(self.alumnus is not None and self.alumnus.cease_use)


class ConsentEvent(db.Model):
    """One step of a subscription's consent: append-only."""

    __tablename__ = "consent_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscriptions.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    action: Mapped[ConsentAction] = mapped_column(enum_column(ConsentAction))
    how: Mapped[ConsentHow] = mapped_column(enum_column(ConsentHow))
    by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    wording: Mapped[str] = mapped_column(Text, default="")
    # The send whose unsubscribe link was used (a replayed link finds this and changes nothing).
    send_id: Mapped[int | None] = mapped_column(ForeignKey("outreach_sends.id", ondelete="SET NULL"))

    by: Mapped[User | None] = relationship(lazy="joined")
    subscription: Mapped[Subscription] = relationship()


class Send(Audited, db.Model):
    """One newsletter to one list (narrowed by the alumni list's filters), queued now or later."""

    __tablename__ = "outreach_sends"

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("mailing_lists.id", ondelete="CASCADE"), index=True)
    subject_ja: Mapped[str] = mapped_column(String(200), default="")
    body_ja: Mapped[str] = mapped_column(Text, default="")
    subject_en: Mapped[str] = mapped_column(String(200), default="")
    body_en: Mapped[str] = mapped_column(Text, default="")
    filters: Mapped[str] = mapped_column(Text, default="")
    program_id: Mapped[int | None] = mapped_column(ForeignKey("association_programs.id", ondelete="SET NULL"))
    status: Mapped[SendStatus] = mapped_column(enum_column(SendStatus))
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    recipient_count: Mapped[int] = mapped_column(default=0)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    mailing_list: Mapped[MailingList] = relationship(lazy="joined")
    program: Mapped[Program | None] = relationship()
    created_by: Mapped[User | None] = relationship()

    @property
    def batch(self) -> str:
        return f"outreach.send:{self.id}"

    def subject(self, language: str) -> str:
        return (self.subject_en if language == "en" else self.subject_ja) or self.subject_ja or self.subject_en


class Rsvp(db.Model):
    """A recipient's answer to a send's invitation to a program."""

    __tablename__ = "outreach_rsvps"
    __table_args__ = (UniqueConstraint("send_id", "subscription_id", name="uq_outreach_rsvps_send_subscription"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    send_id: Mapped[int] = mapped_column(ForeignKey("outreach_sends.id", ondelete="CASCADE"))
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscriptions.id", ondelete="CASCADE"), index=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("association_programs.id", ondelete="CASCADE"), index=True)
    answer: Mapped[RsvpAnswer] = mapped_column(enum_column(RsvpAnswer))
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
