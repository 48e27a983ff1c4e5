"""Dates and years as Japanese offices write them: 和暦 (令和5年4月1日, R5.4.1, H31, 平成30年度, 令和元年),
full-width digits, and Excel's serial day numbers."""
from __future__ import annotations

import datetime
import re
import unicodedata

# The first year of each era (its 元年), by name and by the letter used in short forms.
ERAS = {"明治": 1868, "大正": 1912, "昭和": 1926, "平成": 1989, "令和": 2019,
        "M": 1868, "T": 1912, "S": 1926, "H": 1989, "R": 2019}
_ERA = "明治|大正|昭和|平成|令和|[MTSHR]"
_NUMBER = r"(\d{1,2}|元)"
_ERA_DATE = re.compile(rf"({_ERA})\s*{_NUMBER}\s*[年.\-/]\s*(\d{{1,2}})\s*[月.\-/]\s*(\d{{1,2}})\s*日?")
_ERA_YEAR = re.compile(rf"({_ERA})\s*{_NUMBER}\s*(?:年度|年)?")
_YEAR = re.compile(r"(?:19|20|21)\d{2}")
_GREGORIAN_YEAR = re.compile(r"((?:19|20|21)\d{2})\s*(?:年度|年)?")
_ANY_YEAR = re.compile(rf"(?:{_ERA_YEAR.pattern})|{_YEAR.pattern}")
# Excel counts days from 1899-12-30 (its 1900 leap-year bug included); serials of plausible dates only.
_EXCEL_EPOCH = datetime.date(1899, 12, 30)
_SERIAL = re.compile(r"\d{5}(?:\.\d+)?")
_SERIALS = range(20000, 80000)  # 1954 … 2119


def _folded(value: str) -> str:
    return unicodedata.normalize("NFKC", value).strip().upper()


def _year(era: str, number: str) -> int:
    return ERAS[era] + (1 if number == "元" else int(number)) - 1


def era_date(value: str) -> datetime.date | None:
    """令和5年4月1日, R5.4.1, H31/4/30 → the date; None when it is not an era date (or no such day)."""
    match = _ERA_DATE.fullmatch(_folded(value))
    if not match:
        return None
    era, number, month, day = match.groups()
    try:
        return datetime.date(_year(era, number), int(month), int(day))
    except ValueError:
        return None


def serial_date(value) -> datetime.date | None:
    """An Excel serial day number (a number cell, or its text) → the date, within plausible years."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        if not _SERIAL.fullmatch(value.strip()):
            return None
        value = float(value)
    if isinstance(value, int | float) and int(value) in _SERIALS:
        return _EXCEL_EPOCH + datetime.timedelta(days=int(value))
    return None


def year_text(value: str) -> str:
    """H31, 平成30年度, 令和元年, ２０１８年 → "2019", "2018", "2019", "2018"; anything else as it was."""
    folded = _folded(value)
    if match := _ERA_YEAR.fullmatch(folded):
        return str(_year(*match.groups()))
    if match := _GREGORIAN_YEAR.fullmatch(folded):
        return match.group(1)
    return value


def years_in(value: str) -> list[str]:
    """The years a period names, in order: "2015-2018", "H27〜H30", "平成27年度～令和元年度"."""
    found = []
    for match in _ANY_YEAR.finditer(_folded(value)):
        era, number = match.group(1), match.group(2)
        found.append(str(_year(era, number)) if era else match.group())
    return found
