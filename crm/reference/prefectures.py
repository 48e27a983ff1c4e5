"""Builds the prefecture rows from pycountry's ISO 3166-2:JP data instead of typing 47 names.

pycountry holds English names and Japanese names without the 都道府県 suffix (東京, 大阪, 鳥取);
the suffix follows from the code: 01 北海道 already carries 道, 13 is 都, 26 and 27 are 府.
"""
from __future__ import annotations

import gettext
from functools import cache

import pycountry
from sqlalchemy import insert, select, update

from crm.i18n import is_japanese
from crm.reference.models import Prefecture, Region

# Region by JIS code range; the eight-region division used in government statistics.
REGION_BY_LAST_CODE = (
    (1, Region.HOKKAIDO),
    (7, Region.TOHOKU),
    (14, Region.KANTO),
    (23, Region.CHUBU),
    (30, Region.KINKI),
    (35, Region.CHUGOKU),
    (39, Region.SHIKOKU),
    (47, Region.KYUSHU_OKINAWA),
)
SUFFIX_BY_CODE = {1: "", 13: "都", 26: "府", 27: "府"}


def region_of(code: int) -> Region:
    for last_code, region in REGION_BY_LAST_CODE:
        if code <= last_code:
            return region
    raise ValueError(f"no prefecture has code {code}")


@cache
def prefecture_rows() -> tuple[dict, ...]:
    japanese = gettext.translation("iso3166-2", pycountry.LOCALES_DIR, languages=["ja"])
    rows = []
    for subdivision in pycountry.subdivisions.get(country_code="JP"):
        code = int(subdivision.code.removeprefix("JP-"))
        name_ja = japanese.gettext(subdivision.name) + SUFFIX_BY_CODE.get(code, "県")
        rows.append({"id": code, "name_en": subdivision.name, "name_ja": name_ja, "region": region_of(code)})
    rows.sort(key=lambda row: row["id"])
    if [row["id"] for row in rows] != list(range(1, 48)):
        raise RuntimeError("pycountry did not return the 47 prefectures JP-01…JP-47")
    return tuple(rows)


def prefecture_choices() -> tuple[tuple[int, str], ...]:
    """(id, "31 Tottori") pairs in code order and the current language, for select fields: from the
    fixed rows above (sync_prefectures keeps the table equal to them), not a query per form."""
    return _prefecture_choices(is_japanese())


@cache
def _prefecture_choices(japanese: bool) -> tuple[tuple[int, str], ...]:
    return tuple((row["id"], f"{row['id']:02d} {row['name_ja'] if japanese else row['name_en']}") for row in prefecture_rows())


def sync_prefectures(connection) -> None:
    """Insert or correct the 47 rows; safe to run on every migration or seed."""
    existing = set(connection.scalars(select(Prefecture.id)))
    for row in prefecture_rows():
        if row["id"] in existing:
            connection.execute(update(Prefecture).where(Prefecture.id == row["id"]).values(**row))
        else:
            connection.execute(insert(Prefecture).values(**row))
