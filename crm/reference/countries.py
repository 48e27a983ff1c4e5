"""Countries (ISO 3166-1 alpha-2) with English common names and Japanese names, from pycountry.

pycountry ships the Japanese names as the gettext domain 'iso3166-1'; English uses the common name
where ISO's official one is stiff ("Korea, Republic of" → "South Korea"). A few Japanese names are
replaced by the form Japanese government pages use.

Pickers list the countries most JET participants come from first, then every other country in the
order people read them: English by the Unicode Collation Algorithm (pyuca: Åland Islands under A,
not after Zimbabwe), Japanese by reading (あいうえお順; pykakasi reads the kanji, with a few
readings it gets wrong given here).
"""
from __future__ import annotations

import gettext
import re
from functools import cache

import pycountry
import pykakasi
from pyuca import Collator
from sqlalchemy import case

from crm.i18n import is_japanese

# The names Japanese ministries print, where pycountry's translation differs.
JAPANESE_OVERRIDES = {"TW": "台湾", "KR": "韓国", "KP": "北朝鮮", "AU": "オーストラリア", "TZ": "タンザニア",
                      "GE": "ジョージア", "VA": "バチカン"}
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


# Where most JET participants come from, most first (CLAIR's participant figures).
MOST_PARTICIPANTS = ("US", "GB", "CA", "AU", "NZ", "IE", "ZA", "JM", "PH", "SG", "IN", "TT", "CN", "KR")

# Readings pykakasi gets wrong in country names (米領 is not こめりょう, 諸島 not しょしま).
READINGS = {"米領": "べいりょう", "英領": "えいりょう", "仏領": "ふつりょう", "諸島": "しょとう", "日本": "にほん"}


def country_choices() -> list[tuple[str, str]]:
    """(code, name) for select fields: the countries most participants come from, then the rest
    in reading order of the current language."""
    return list(_sorted_choices(is_japanese()))


@cache
def _kakasi() -> pykakasi.kakasi:
    return pykakasi.kakasi()


def reading(name: str) -> str:
    """A Japanese name's reading in hiragana, as a sort key: kana as read, kanji through pykakasi."""
    for word, kana in READINGS.items():
        name = name.replace(word, kana)
    hiragana = "".join(part["hira"] for part in _kakasi().convert(name))
    # ゔ comes after ん in Unicode: read as う. Spaces, brackets and dots do not sort.
    hiragana = re.sub(r"[\s()（）・、,.]", "", hiragana.replace("ゔ", "う"))
    # A long-vowel mark sorts as the vowel it lengthens (アルーバ is あるうば, before アルゼンチン).
    return re.sub(r"(.)ー", lambda match: match[1] + _VOWELS.get(match[1], ""), hiragana)


# Each hiragana's vowel, for the long-vowel mark.
_VOWELS = {kana: vowel for vowel, row in zip("あいうえお", (
    "あかさたなはまやらわがざだばぱぁゃゎ", "いきしちにひみりぎじぢびぴぃ", "うくすつぬふむゆるぐずづぶぷぅゅっ",
    "えけせてねへめれげぜでべぺぇ", "おこそとのほもよろをごぞどぼぽぉょ")) for kana in row}


@cache
def _collator() -> Collator:
    return Collator()


def sort_key(name: str, japanese: bool):
    """How people order names in that language."""
    return reading(name) if japanese else _collator().sort_key(name)


def in_name_order(column):
    """An SQL expression that orders a column of country codes by the names shown in the current
    language (sorting by the code put 米国 (US) near the end of a Japanese list)."""
    positions = _positions(is_japanese())
    return case(positions, value=column, else_=len(positions))


@cache
def _positions(japanese: bool) -> dict[str, int]:
    names = sorted(_table(), key=lambda code: sort_key(country_name(code, japanese), japanese))
    return {code: index for index, code in enumerate(names)}


@cache
def _sorted_choices(japanese: bool) -> tuple[tuple[str, str], ...]:
    # Built once per language: every list and form page offers all ~250 countries.
    first = [(code, country_name(code, japanese)) for code in MOST_PARTICIPANTS]
    rest = [(code, country_name(code, japanese)) for code in _table() if code not in MOST_PARTICIPANTS]
    return tuple(first + sorted(rest, key=lambda pair: sort_key(pair[1], japanese)))
