"""Exchange associations, their members and annual fees, and their programs with funding and partners.

Association staff accounts are bound to exactly one association; members, fees and programs are
reached only through their association (see crm/access.py).
"""
from __future__ import annotations

from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.audit import Audited
from crm.db import UTCDateTime, enum_column, utcnow
from crm.extensions import db
from crm.i18n import LabelledEnum, is_japanese
from crm.reference.models import Prefecture


class AssociationKind(LabelledEnum):
    PREFECTURAL = "prefectural", _l("Prefectural")
    DESIGNATED_CITY = "designated_city", _l("Designated city")
    MUNICIPAL = "municipal", _l("Municipal")


class MunicipalitySize(LabelledEnum):
    LARGE = "large", _l("Large")
    MEDIUM = "medium", _l("Medium")
    SMALL = "small", _l("Small")


class Secretariat(LabelledEnum):
    OWN_FACILITY = "own_facility", _l("Own facility")
    MUNICIPAL_DIVISION = "municipal_division", _l("Inside the municipal international division")


class Association(Audited, db.Model):
    __tablename__ = "associations"
    __audit_exclude__ = frozenset({"feed_token_hash"})
    __table_args__ = (
        CheckConstraint("staff_full_time >= 0 AND staff_on_loan >= 0 AND staff_volunteers >= 0", name="staff_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    prefecture_id: Mapped[int] = mapped_column(ForeignKey("prefectures.id"), index=True)
    name_ja: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    municipality: Mapped[str | None] = mapped_column(String(100))
    kind: Mapped[AssociationKind] = mapped_column(enum_column(AssociationKind), default=AssociationKind.PREFECTURAL, server_default="prefectural")
    # Officially recognised as a 地域国際化協会 (regional international exchange association).
    officially_recognised: Mapped[bool] = mapped_column(default=False, server_default="0")
    municipality_size: Mapped[MunicipalitySize | None] = mapped_column(enum_column(MunicipalitySize))
    secretariat: Mapped[Secretariat] = mapped_column(enum_column(Secretariat), default=Secretariat.OWN_FACILITY, server_default="own_facility")
    staff_full_time: Mapped[int] = mapped_column(default=0, server_default="0")
    staff_on_loan: Mapped[int] = mapped_column(default=0, server_default="0")
    staff_volunteers: Mapped[int] = mapped_column(default=0, server_default="0")
    contact: Mapped[str | None] = mapped_column(String(300))
    website: Mapped[str | None] = mapped_column(String(300))
    founded_year: Mapped[int | None] = mapped_column(Integer)
    # SHA-256 of the calendar feed token; the token itself is shown once and never stored.
    feed_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    prefecture: Mapped[Prefecture] = relationship(lazy="joined")

    __mapper_args__ = {"version_id_col": version}

    @property
    def name(self) -> str:
        return self.name_ja if is_japanese() else self.name_en

    def __str__(self) -> str:
        return self.name


class MemberKind(LabelledEnum):
    INDIVIDUAL = "individual", _l("Individual")
    BUSINESS = "business", _l("Business")
    SCHOOL = "school", _l("School")
    NPO = "npo", _l("NPO")


class MemberType(LabelledEnum):
    REGULAR = "regular", _l("Regular member")
    SUPPORTING = "supporting", _l("Supporting member")
    STUDENT = "student", _l("Student member")
    HONORARY = "honorary", _l("Honorary member")


class MemberStatus(LabelledEnum):
    ACTIVE = "active", _l("Active")
    LAPSED = "lapsed", _l("Lapsed")
    LEFT = "left", _l("Left")


class Member(Audited, db.Model):
    """A person or organisation that belongs to an association (personal data)."""

    __tablename__ = "association_members"

    id: Mapped[int] = mapped_column(primary_key=True)
    association_id: Mapped[int] = mapped_column(ForeignKey("associations.id"), index=True)
    kind: Mapped[MemberKind] = mapped_column(enum_column(MemberKind))
    member_type: Mapped[MemberType] = mapped_column(enum_column(MemberType))
    name: Mapped[str] = mapped_column(String(200))
    name_kana: Mapped[str | None] = mapped_column(String(200))
    joined_on: Mapped[date | None]
    status: Mapped[MemberStatus] = mapped_column(enum_column(MemberStatus), default=MemberStatus.ACTIVE)
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    postal_code: Mapped[str | None] = mapped_column(String(10))
    address: Mapped[str | None] = mapped_column(String(300))
    consent_to_contact: Mapped[bool] = mapped_column(default=False)
    # Newsletters reach members in Japanese unless they ask for English (most members are residents).
    preferred_language: Mapped[str] = mapped_column(String(2), default="ja", server_default="ja")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    association: Mapped[Association] = relationship(lazy="joined")

    __mapper_args__ = {"version_id_col": version}

    def __str__(self) -> str:
        return self.name


class PaymentMethod(LabelledEnum):
    CASH = "cash", _l("Cash")
    BANK_TRANSFER = "bank_transfer", _l("Bank transfer")
    POSTAL_TRANSFER = "postal_transfer", _l("Postal transfer")
    OTHER = "other", _l("Other")


class MembershipFee(Audited, db.Model):
    """One member's annual fee for one 年度 (April–March)."""

    __tablename__ = "membership_fees"
    __table_args__ = (
        UniqueConstraint("member_id", "fiscal_year", name="one_fee_per_year"),
        CheckConstraint("amount_due >= 0", name="amount_due_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("association_members.id", ondelete="CASCADE"), index=True)
    fiscal_year: Mapped[int] = mapped_column(index=True)
    amount_due: Mapped[int]
    paid_on: Mapped[date | None]
    method: Mapped[PaymentMethod | None] = mapped_column(enum_column(PaymentMethod))
    receipt_number: Mapped[str | None] = mapped_column(String(40))
    note: Mapped[str | None] = mapped_column(String(300))
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    member: Mapped[Member] = relationship(lazy="joined")

    __mapper_args__ = {"version_id_col": version}

    @property
    def paid(self) -> bool:
        return self.paid_on is not None


class ProgramKind(LabelledEnum):
    JAPANESE_CLASSES = "japanese_classes", _l("Japanese classes for foreign residents")
    CULTURAL_EVENT = "cultural_event", _l("Cultural event")
    HOMESTAY = "homestay", _l("Homestay")
    SCHOOL_VISIT = "school_visit", _l("School visit")
    DISASTER_PREPAREDNESS = "disaster_preparedness", _l("Disaster preparedness for foreign residents")
    INTERNATIONAL_UNDERSTANDING = "international_understanding", _l("International understanding lecture")
    STUDY_IN_JAPAN = "study_in_japan", _l("Study in Japan information session")
    PRE_DEPARTURE = "pre_departure", _l("Pre-departure orientation")
    ALUMNI_REUNION = "alumni_reunion", _l("Alumni reunion")
    OTHER = "other", _l("Other")


class ProgramStatus(LabelledEnum):
    PLANNED = "planned", _l("Planned")
    HELD = "held", _l("Held")
    CANCELLED = "cancelled", _l("Cancelled")


class Program(Audited, db.Model):
    __tablename__ = "association_programs"
    __table_args__ = (
        CheckConstraint("ends_at >= starts_at", name="ends_after_start"),
        CheckConstraint(
            "budget >= 0 AND (actual_cost IS NULL OR actual_cost >= 0) AND participants_japanese >= 0"
            " AND participants_foreign >= 0 AND volunteers >= 0",
            name="figures_not_negative",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    association_id: Mapped[int] = mapped_column(ForeignKey("associations.id"), index=True)
    title_ja: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[ProgramKind] = mapped_column(enum_column(ProgramKind))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    venue: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[ProgramStatus] = mapped_column(enum_column(ProgramStatus), default=ProgramStatus.PLANNED)
    budget: Mapped[int] = mapped_column(default=0)
    actual_cost: Mapped[int | None]
    participants_japanese: Mapped[int] = mapped_column(default=0)
    participants_foreign: Mapped[int] = mapped_column(default=0)
    volunteers: Mapped[int] = mapped_column(default=0)
    outcome_notes: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    association: Mapped[Association] = relationship(lazy="joined")
    funding_lines: Mapped[list[FundingLine]] = relationship(
        back_populates="program", cascade="all, delete-orphan", order_by="FundingLine.id"
    )
    partners: Mapped[list[ProgramPartner]] = relationship(
        back_populates="program", cascade="all, delete-orphan", order_by="ProgramPartner.id"
    )
    alumni_links: Mapped[list[ProgramAlumnus]] = relationship(
        back_populates="program", cascade="all, delete-orphan", order_by="ProgramAlumnus.id"
    )

    __mapper_args__ = {"version_id_col": version}

    @property
    def title(self) -> str:
        return self.title_ja if is_japanese() or not self.title_en else self.title_en

    @property
    def participants(self) -> int:
        return self.participants_japanese + self.participants_foreign

    @property
    def funded(self) -> int:
        return sum(line.amount for line in self.funding_lines)

    def __str__(self) -> str:
        return self.title


class FundingSource(LabelledEnum):
    MUNICIPAL_GRANT = "municipal_grant", _l("Municipal grant")
    MEMBERSHIP_FEES = "membership_fees", _l("Membership fees")
    PRIVATE_GRANT = "private_grant", _l("Private foundation grant")
    COMMISSIONED = "commissioned", _l("Commissioned project")
    SPONSORSHIP = "sponsorship", _l("Sponsorship")
    OTHER = "other", _l("Other")


# The self-sufficiency measure: money the association raised itself vs. money from government.
SELF_RAISED = frozenset({FundingSource.MEMBERSHIP_FEES, FundingSource.PRIVATE_GRANT, FundingSource.SPONSORSHIP})
GOVERNMENT = frozenset({FundingSource.MUNICIPAL_GRANT, FundingSource.COMMISSIONED})


class FundingLine(Audited, db.Model):
    __tablename__ = "program_funding_lines"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("source <> 'private_grant' OR grantor IS NOT NULL", name="private_grant_names_grantor"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("association_programs.id", ondelete="CASCADE"), index=True)
    source: Mapped[FundingSource] = mapped_column(enum_column(FundingSource))
    grantor: Mapped[str | None] = mapped_column(String(200))
    amount: Mapped[int]

    program: Mapped[Program] = relationship(back_populates="funding_lines")


class PartnerKind(LabelledEnum):
    SCHOOL = "school", _l("School")
    BUSINESS = "business", _l("Business")
    NPO = "npo", _l("NPO")
    UNIVERSITY = "university", _l("University")


class ProgramPartner(Audited, db.Model):
    __tablename__ = "program_partners"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("association_programs.id", ondelete="CASCADE"), index=True)
    kind: Mapped[PartnerKind] = mapped_column(enum_column(PartnerKind))
    name: Mapped[str] = mapped_column(String(200))

    program: Mapped[Program] = relationship(back_populates="partners")


class ProgramAlumnus(Audited, db.Model):
    """A JET alumnus involved in a program: a link into the alumni registry.

    The link is personal data of the alumnus (who took part in what), so it follows the alumni scope,
    not the association's: only users who reach the alumnus (crm.access.scoped(Alumnus): the staff of
    a prefecture the alumnus served in, and administrators) see who it is. Association staff see only
    how many alumni are linked (see crm.associations.operations.linked_alumni).
    """

    __tablename__ = "program_alumni"
    __table_args__ = (UniqueConstraint("program_id", "alumnus_id", name="uq_program_alumni_program_alumnus"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("association_programs.id", ondelete="CASCADE"), index=True)
    alumnus_id: Mapped[int] = mapped_column(ForeignKey("alumni.id", ondelete="CASCADE"), index=True)
    linked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, server_default=func.now())

    program: Mapped[Program] = relationship(back_populates="alumni_links")
