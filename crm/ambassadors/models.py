"""Hometown ambassadors, activities by alumni, and what a prefecture invests in JET per 年度.

Design choices (see README):
- An activity stores its 年度 (`fiscal_year`) next to its date, set by the operations layer through
  `crm.reference.fiscal_year`, so reports group by an indexed integer on SQLite and PostgreSQL alike
  and 31 March / 1 April are decided in one place.
- Money is whole yen in BigInteger columns: no floating point, no currency conversion.
- Only verified activities count in reports; who verified or rejected, and when, is kept.
"""
from __future__ import annotations

from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.alumni.models import Alumnus, ContactEntry
from crm.audit import Audited
from crm.auth.models import User, enum_column
from crm.db import UTCDateTime, utcnow
from crm.extensions import db
from crm.glossary import term
from crm.i18n import LabelledEnum
from crm.reference.models import Prefecture


class ActivityKind(LabelledEnum):
    ARTICLE = "article", term("activity.article")
    POLICY_PROPOSAL = "policy_proposal", term("activity.policy_proposal")
    PROMOTION_EVENT = "promotion_event", term("activity.promotion_event")
    BUSINESS = "business", term("activity.business")
    TOURISM = "tourism", term("activity.tourism")
    INBOUND_VISITORS = "inbound_visitors", term("activity.inbound_visitors")
    FUNDRAISING = "fundraising", term("activity.fundraising")
    STUDENT_RECRUITMENT = "student_recruitment", term("activity.student_recruitment")
    FURUSATO_NOZEI = "furusato_nozei", term("activity.furusato_nozei")
    TEACHING = "teaching", term("activity.teaching")
    OTHER = "other", term("activity.other")


class ActivityStatus(LabelledEnum):
    REPORTED = "reported", _l("Reported")
    VERIFIED = "verified", _l("Verified")
    REJECTED = "rejected", _l("Rejected")


class Ambassador(Audited, db.Model):
    """An alumnus appointed Hometown Ambassador (ふるさと大使) of a prefecture for a term."""

    __tablename__ = "ambassadors"
    __table_args__ = (
        CheckConstraint("term_end_on IS NULL OR term_end_on >= term_start_on", name="term_in_order"),
        Index("ix_ambassadors_prefecture_term", "prefecture_id", "term_start_on", "term_end_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    alumnus_id: Mapped[int] = mapped_column(ForeignKey("alumni.id", ondelete="CASCADE"), index=True)
    prefecture_id: Mapped[int] = mapped_column(ForeignKey("prefectures.id"))
    title: Mapped[str] = mapped_column(String(200))
    region: Mapped[str | None] = mapped_column(String(200))
    term_start_on: Mapped[date]
    term_end_on: Mapped[date | None]
    # Staff decided not to renew: the term ends on term_end_on and the home queue stops asking.
    # Extending the term clears it.
    end_confirmed_on: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, server_default=func.now())
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    alumnus: Mapped[Alumnus] = relationship(lazy="joined")
    prefecture: Mapped[Prefecture] = relationship(lazy="joined")

    __mapper_args__ = {"version_id_col": version}


class Activity(Audited, db.Model):
    """Something an alumnus did for a prefecture, with its outcome figures and evidence."""

    __tablename__ = "ambassador_activities"
    __table_args__ = (
        Index("ix_activities_prefecture_year_status", "prefecture_id", "fiscal_year", "status"),
        Index("ix_activities_alumnus", "alumnus_id", "fiscal_year"),
        CheckConstraint(
            "people_reached >= 0 AND visitors_brought >= 0 AND economic_value_yen >= 0 AND funds_raised_yen >= 0"
            " AND media_items >= 0", name="figures_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    alumnus_id: Mapped[int] = mapped_column(ForeignKey("alumni.id", ondelete="CASCADE"))
    # The owning prefecture: the one whose staff logged it and whose report it counts in.
    prefecture_id: Mapped[int] = mapped_column(ForeignKey("prefectures.id"))
    occurred_on: Mapped[date]
    fiscal_year: Mapped[int]
    kind: Mapped[ActivityKind] = mapped_column(enum_column(ActivityKind))
    country: Mapped[str | None] = mapped_column(String(2))
    description: Mapped[str] = mapped_column(Text)
    people_reached: Mapped[int] = mapped_column(default=0, server_default="0")
    visitors_brought: Mapped[int] = mapped_column(default=0, server_default="0")
    economic_value_yen: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    economic_value_basis: Mapped[str | None] = mapped_column(String(500))
    funds_raised_yen: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    media_items: Mapped[int] = mapped_column(default=0, server_default="0")
    evidence_url: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[ActivityStatus] = mapped_column(enum_column(ActivityStatus, length=20), default=ActivityStatus.REPORTED)
    # Reported by the alumnus through their personal link (crm/selfservice), not logged by staff.
    self_reported: Mapped[bool] = mapped_column(default=False, server_default="0")
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, server_default=func.now())
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    alumnus: Mapped[Alumnus] = relationship(lazy="joined")
    reviewed_by: Mapped[User | None] = relationship(lazy="joined")

    __mapper_args__ = {"version_id_col": version}


class Investment(Audited, db.Model):
    """What a prefecture spent on JET in one 年度: participants hosted and yen."""

    __tablename__ = "jet_investments"
    __table_args__ = (
        UniqueConstraint("prefecture_id", "fiscal_year", name="uq_jet_investments_prefecture_year"),
        CheckConstraint(
            "alt_count >= 0 AND cir_count >= 0 AND sea_count >= 0 AND hosting_cost_yen >= 0"
            " AND programme_spending_yen >= 0", name="investment_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    prefecture_id: Mapped[int] = mapped_column(ForeignKey("prefectures.id"))
    fiscal_year: Mapped[int] = mapped_column(index=True)
    alt_count: Mapped[int] = mapped_column(default=0, server_default="0")
    cir_count: Mapped[int] = mapped_column(default=0, server_default="0")
    sea_count: Mapped[int] = mapped_column(default=0, server_default="0")
    hosting_cost_yen: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    programme_spending_yen: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}

    @property
    def participants(self) -> int:
        return self.alt_count + self.cir_count + self.sea_count

    @property
    def total_yen(self) -> int:
        return self.hosting_cost_yen + self.programme_spending_yen


# The report's "engaged this year" reads a prefecture's contact log by date: this index serves it
# (declared here, with the query that needs it, on the alumni domain's table).
Index("ix_contact_entries_prefecture_on_alumnus", ContactEntry.prefecture_id, ContactEntry.contacted_on, ContactEntry.alumnus_id)
