"""The iCalendar feed of an association's programs (RFC 5545, through the icalendar library).

Times are written in Asia/Tokyo with a VTIMEZONE, so every client shows them as the office planned
them. The feed carries what a public events calendar would: title, venue, times and status — no
participants, money or notes.
"""
from __future__ import annotations

from datetime import timedelta

from icalendar import Calendar, Event
from sqlalchemy import select

from crm import clock
from crm.associations.models import Association, Program, ProgramStatus
from crm.db import utcnow
from crm.extensions import db

# Calendar clients need past events only for a while; a year back keeps the feed small.
HISTORY = timedelta(days=366)
STATUS = {ProgramStatus.PLANNED: "TENTATIVE", ProgramStatus.HELD: "CONFIRMED", ProgramStatus.CANCELLED: "CANCELLED"}


def ical(association: Association) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", "-//Furusato CRM//Association programs//JA")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", association.name_ja)
    calendar.add("x-wr-timezone", "Asia/Tokyo")
    stamp = utcnow()
    programs = db.session.scalars(
        select(Program)
        .where(Program.association_id == association.id, Program.ends_at >= stamp - HISTORY)
        .order_by(Program.starts_at, Program.id)
    )
    for program in programs:
        event = Event()
        event.add("uid", f"program-{program.id}@furusato-crm")
        event.add("dtstamp", stamp)
        event.add("summary", program.title_ja if not program.title_en else f"{program.title_ja} / {program.title_en}")
        event.add("dtstart", program.starts_at.astimezone(clock.TOKYO))
        event.add("dtend", program.ends_at.astimezone(clock.TOKYO))
        event.add("status", STATUS[program.status])
        event.add("categories", [program.kind.value])
        if program.venue:
            event.add("location", program.venue)
        event.add("sequence", program.version)
        calendar.add_component(event)
    calendar.add_missing_timezones()
    return calendar.to_ical()
