"""Numbers as people read them, one style per language: counts grouped by thousands, money in yen
with a real minus sign (−¥1,083,000,000), percentages at the precision they were computed at (one decimal).

Templates use these as filters (`count`, `yen`, `percent`); tables give numeric cells the `number`
class, which right-aligns them in tabular figures.
"""
from __future__ import annotations

from functools import cache
from numbers import Number

from babel.numbers import NumberPattern, parse_pattern
from flask import has_request_context
from flask_babel import get_locale

from crm.config import Defaults

MINUS = "\N{MINUS SIGN}"


def _locale():
    return get_locale() if has_request_context() else "en"


@cache
def _pattern(digits: int) -> NumberPattern:
    # Parsed once: a list formats a figure per row.
    return parse_pattern("#,##0" + ("." + "0" * digits if digits else ""))


@cache
def _plain_thousands(locale: str) -> bool:
    """Does this locale group whole numbers as Python's "{:,}" does (en, ja: 1,234,567)?"""
    return _pattern(0).apply(1234567, locale) == "1,234,567"


@cache
def _plain_in_every_language() -> bool:
    """Do all the app's languages (a request's locale is one of them: crm.i18n.select_locale) group
    whole numbers as "{:,}" does? Then a whole number needs no locale at all."""
    return all(_plain_thousands(language) for language in Defaults.LANGUAGES)


def _grouped(magnitude: float | int, digits: int = 0) -> str:
    # Whole numbers the quick way where it reads the same: a national table shows about a thousand
    # figures, and Babel's pattern costs a fifth of a millisecond each (looking up the request's
    # locale, a hundredth).
    if not digits and type(magnitude) is int and _plain_in_every_language():
        return f"{magnitude:,}"
    locale = _locale()
    if not digits and type(magnitude) is int and _plain_thousands(str(locale)):
        return f"{magnitude:,}"
    return _pattern(digits).apply(magnitude, locale)


def _sign(value: float | int, signed: bool) -> str:
    if value < 0:
        return MINUS
    return "+" if signed and value > 0 else ""


def count(value: float | int, signed: bool = False, digits: int = 0) -> str:
    """1,083 · −12 · +3 (signed: a change)."""
    return _sign(value, signed) + _grouped(abs(value), digits)


def yen(value: int, signed: bool = False) -> str:
    """¥1,083,000,000 · −¥1,083,000,000 · +¥5,000 (signed: a change)."""
    return f"{_sign(value, signed)}¥{_grouped(abs(value), 0)}"


def percent(value: float | int, signed: bool = False, digits: int = 1) -> str:
    """66.3% for 66.3 (a value already in percent): the app computes percentages to one decimal
    (55 of 83 is 66.3%), and shows them so — never padded to "66.30"."""
    return f"{_sign(value, signed)}{_grouped(abs(value), digits)}%"


FILTERS = {"count": count, "yen": yen, "percent": percent}


def figure(value, yen=False, signed=False, percent=False):  # noqa: A002 — the names the report templates use
    """A figure of a report table: "—" for no data, a number in its unit (yen, percent or a count),
    anything else (a hidden figure, crm.disclosure.Suppressed) as itself, for the template to render
    ("<10", "X"). A Python function, not a Jinja macro: a national table shows about a thousand
    figures, and a macro call costs several times a function call."""
    if value is None:
        return "\N{EM DASH}"
    if isinstance(value, Number):
        return FILTERS["yen" if yen else "percent" if percent else "count"](value, signed)
    return value
