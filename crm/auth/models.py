"""Accounts. A role decides what kind of records a user reaches; a binding decides which ones."""
from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, String, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.audit import Audited
from crm.db import UTCDateTime, enum_column, utcnow
from crm.extensions import db
from crm.i18n import LabelledEnum
from crm.reference.models import Prefecture


class Role(LabelledEnum):
    ADMIN = "admin", _l("Administrator")
    PREFECTURE_STAFF = "prefecture_staff", _l("Prefecture staff")
    ASSOCIATION_STAFF = "association_staff", _l("Association staff")
    MINISTRY_REVIEWER = "ministry_reviewer", _l("Ministry reviewer")


class User(Audited, UserMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (
        # Exactly the binding the role needs, enforced by the database too.
        CheckConstraint(
            "(role = 'prefecture_staff' AND prefecture_id IS NOT NULL AND association_id IS NULL)"
            " OR (role = 'association_staff' AND association_id IS NOT NULL AND prefecture_id IS NULL)"
            " OR (role IN ('admin', 'ministry_reviewer') AND prefecture_id IS NULL AND association_id IS NULL)",
            name="role_binding",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(enum_column(Role))
    prefecture_id: Mapped[int | None] = mapped_column(ForeignKey("prefectures.id"), index=True)
    association_id: Mapped[int | None] = mapped_column(ForeignKey("associations.id"), index=True)
    locale: Mapped[str | None] = mapped_column(String(5))
    active: Mapped[bool] = mapped_column(default=True, server_default="1")
    # Part of the login cookie's user id: raising it ends every session this user has anywhere.
    session_version: Mapped[int] = mapped_column(default=1, server_default="1")
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, server_default=func.now())
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    prefecture: Mapped[Prefecture | None] = relationship(lazy="joined")
    # Named, not imported: accounts stand below the domains, and an association is one of them.
    association: Mapped["Association | None"] = relationship("Association", lazy="joined")

    __mapper_args__ = {"version_id_col": version}

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        return f"{self.id}.{self.session_version}"

    @property
    def binding(self):
        """The prefecture or association this account is bound to, if any."""
        return self.prefecture or self.association

    def __str__(self) -> str:
        return self.display_name or self.email
