"""The 47 prefectures (JIS X 0401 codes), kept as a table so records can point at them."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import Enum, String
from sqlalchemy.orm import Mapped, mapped_column

from crm.extensions import db
from crm.i18n import LabelledEnum, is_japanese

# A prefecture's id is its JIS code, Hokkaido 1 to Okinawa 47.
JIS_CODES = range(1, 48)


class Region(LabelledEnum):
    HOKKAIDO = "hokkaido", _l("Hokkaido")
    TOHOKU = "tohoku", _l("Tohoku")
    KANTO = "kanto", _l("Kanto")
    CHUBU = "chubu", _l("Chubu")
    KINKI = "kinki", _l("Kinki")
    CHUGOKU = "chugoku", _l("Chugoku")
    SHIKOKU = "shikoku", _l("Shikoku")
    KYUSHU_OKINAWA = "kyushu_okinawa", _l("Kyushu-Okinawa")


class Prefecture(db.Model):
    __tablename__ = "prefectures"

    # The JIS X 0401 code itself (1–47), so URLs and the CLI can say `--prefecture 31`.
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    name_en: Mapped[str] = mapped_column(String(40))
    name_ja: Mapped[str] = mapped_column(String(10))
    region: Mapped[Region] = mapped_column(
        Enum(Region, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])
    )

    @property
    def code(self) -> str:
        return f"{self.id:02d}"

    @property
    def name(self) -> str:
        return self.name_ja if is_japanese() else self.name_en

    def __str__(self) -> str:
        return self.name
