"""Exchange associations. Association staff accounts are bound to exactly one of these."""
from __future__ import annotations

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.audit import Audited
from crm.extensions import db
from crm.i18n import is_japanese
from crm.reference.models import Prefecture


class Association(Audited, db.Model):
    __tablename__ = "associations"

    id: Mapped[int] = mapped_column(primary_key=True)
    prefecture_id: Mapped[int] = mapped_column(ForeignKey("prefectures.id"), index=True)
    name_ja: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))

    prefecture: Mapped[Prefecture] = relationship(lazy="joined")

    @property
    def name(self) -> str:
        return self.name_ja if is_japanese() else self.name_en

    def __str__(self) -> str:
        return self.name
