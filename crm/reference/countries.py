"""Countries (ISO 3166-1 alpha-2) with English common names and Japanese names, from pycountry.

pycountry ships the Japanese names as the gettext domain 'iso3166-1'; English uses the common name
where ISO's official one is stiff ("Korea, Republic of" → "South Korea"). A few Japanese names are
replaced by the form Japanese government pages use.
"""
from __future__ import annotations

import gettext
from functools import cache

import pycountry

from crm.i18n import is_japanese

# The names Japanese ministries print, where pycountry's translation differs.
JAPANESE_OVERRIDES = {"TW": "台湾", "KR": "韓国", "KP": "北朝鮮", "AU": "オーストラリア"}
ENGLISH_OVERRIDES = {"TW": "Taiwan"}


@cache
def _table() -> dict[str, tuple[str, str]]:
    """alpha-2 code → (English name, Japanese name)."""
    japanese = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["ja"])
    table = {}
    for country in pycountry.countries:
        english = ENGLISH_OVERRIDES.get(country.alpha_2) or getattr(country, "common_name", None) or country.name
        table[country.alpha_2] = (english, JAPANESE_OVERRIDES.get(country.alpha_2) or japanese.gettext(country.name))
    return table


def is_country(code: str | None) -> bool:
    return bool(code) and code.upper() in _table()


def country_name(code: str | None, japanese: bool | None = None) -> str:
    """The country's name in the current locale (or the one asked for); the code itself if unknown."""
    if not code:
        return ""
    names = _table().get(code.upper())
    if names is None:
        return code
    if japanese is None:
        japanese = is_japanese()
    return names[1] if japanese else names[0]


def country_choices() -> list[tuple[str, str]]:
    """(code, name) sorted by the name in the current locale, for select fields."""
    return list(_sorted_choices(is_japanese()))


@cache
def _sorted_choices(japanese: bool) -> tuple[tuple[str, str], ...]:
    # Built once per language: every list and form page offers all ~250 countries.
    return tuple(sorted(((code, country_name(code, japanese)) for code in _table()), key=lambda pair: pair[1]))
