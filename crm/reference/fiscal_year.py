"""Japanese fiscal years (年度): April to March, labelled FY2025 in English and 令和7年度 in Japanese.

Every domain decides "which 年度 is this date in" through `fiscal_year_of`, so reports, fees and
investment rows can never disagree about 31 March and 1 April.
"""
from __future__ import annotations

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


def english_label(fiscal_year: int) -> str:
    return f"FY{fiscal_year}"


def label(fiscal_year: int) -> str:
    """The label in the current locale."""
    return japanese_label(fiscal_year) if is_japanese() else english_label(fiscal_year)
