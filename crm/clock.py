"""Japan time: offices work in it, so "now", "today" and date filters mean the Japanese calendar day
whatever the server's own zone (the 年度 of a day is crm.reference.fiscal_year's)."""
from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

TOKYO = ZoneInfo("Asia/Tokyo")


def now() -> datetime:
    return datetime.now(TOKYO)


def today() -> date:
    """The calendar day in Japan."""
    return now().date()


def start_of(day: date) -> datetime:
    """Midnight at the start of a Japanese calendar day, as an aware moment."""
    return datetime.combine(day, time.min, TOKYO)
