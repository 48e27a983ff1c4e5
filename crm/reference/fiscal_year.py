"""Japanese fiscal years (年度): April to March, labelled FY2025 in English and 令和7年度 in Japanese.

Every domain decides "which 年度 is this date in" through `fiscal_year_of`, so reports, fees and
investment rows can never disagree about 31 March and 1 April.
"""
from __future__ import annotations

import re
import unicodedata
from datetime import date

from flask import request

from crm import clock
from crm.db import request_int
from crm.i18n import is_japanese

# (first Gregorian year of the era, name). A 年度 is named after the era in force in the calendar
# year it starts: FY2019 (April 2019 – March 2020) is 令和元年度 although April 2019 was still Heisei,
# and FY1988 stays 昭和63年度 although Heisei began in January 1989. That is how ministries label them.
ERAS = (
    (2019, "令和"),
    (1989, "平成"),
    (1926, "昭和"),
    (1912, "大正"),
    (1868, "明治"),
)
FIRST_MONTH = 4
# What people type for an era: its name, its initial (R7, H31), and 元 for the first year.
ERA_INITIALS = {"R": "令和", "H": "平成", "S": "昭和", "T": "大正", "M": "明治"}
_TYPED = re.compile(r"^(?:FY)?(?P<era>令和|平成|昭和|大正|明治|[RHSTM])?(?P<number>\d{1,4}|元)(?:年度?)?$", re.IGNORECASE)


def fiscal_year_of(day: date) -> int:
    """The 年度 a date falls in, named by the Gregorian year in which it starts."""
    return day.year if day.month >= FIRST_MONTH else day.year - 1


def current() -> int:
    """The 年度 of today in Japan."""
    return fiscal_year_of(clock.today())


def requested() -> int:
    """The 年度 the request names (`?fy=2025`), or the current one for none, a non-number, or one
    outside 1989–2100 (a date of year 99999 cannot even be made)."""
    year = request_int(request.args.get("fy"))
    return year if year is not None and 1989 <= year <= 2100 else current()


def bounds(fiscal_year: int) -> tuple[date, date]:
    """First and last day of a 年度 (1 April – 31 March)."""
    return date(fiscal_year, FIRST_MONTH, 1), date(fiscal_year + 1, FIRST_MONTH - 1, 31)


def japanese_label(fiscal_year: int) -> str:
    for first_year, era in ERAS:
        if fiscal_year >= first_year:
            number = fiscal_year - first_year + 1
            return f"{era}{'元' if number == 1 else number}年度"
    raise ValueError(f"no era known for fiscal year {fiscal_year}")


def parse(text: str | None) -> int | None:
    """The 年度 someone typed, however they wrote it: 2025, FY2025, 令和7, 令和7年度, R7, 令和元;
    full-width digits too. A bare number of one or two digits is a year of the current era (staff
    say 7年度 for 令和7年度). None when it is no 年度 at all."""
    typed = unicodedata.normalize("NFKC", text or "").replace(" ", "").upper()
    match = _TYPED.match(typed)
    if not match:
        return None
    era, number = match["era"], match["number"]
    number = 1 if number == "元" else int(number)
    if era is None:
        if number >= 100:
            return number
        era = ERAS[0][1]
    era = ERA_INITIALS.get(era, era)
    first_year = next(first for first, name in ERAS if name == era)
    return first_year + number - 1 if number >= 1 else None


def english_label(fiscal_year: int) -> str:
    return f"FY{fiscal_year}"


def label(fiscal_year: int) -> str:
    """The label in the current locale."""
    return japanese_label(fiscal_year) if is_japanese() else english_label(fiscal_year)
