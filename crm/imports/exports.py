"""Exports: any filtered alumni list and the contact log, streamed as CSV (UTF-8 with BOM or CP932),
XLSX with typed cells, or vCard (alumni).

The file with Japanese headers is for people: countries, sectors and Japanese levels read as names
(国名, 分野), which the import also reads back. The file with English headers keeps the codes.
The export page says which filter applies and how many records it holds.

Rows come from the same scoped queries as the lists (`crm.alumni.operations.alumni_query`, which
starts from `listable()`: never another prefecture's people, never anyone whose use has ceased), and
contact entries from `scoped(ContactEntry)`: only the user's own prefecture's log. Every export is
recorded in the audit trail with its filter and row count once the last row is written.
"""
from __future__ import annotations

from collections.abc import Iterator

from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from crm import audit
from crm.access import editable_placements, scoped
from crm.alumni import operations as alumni_operations
from crm.alumni.models import Alumnus, ContactEntry, JapaneseLevel, Placement, Position, Sector, Tag
from crm.db import request_int, write_intent
from crm.extensions import db
from crm.glossary import term
from crm.i18n import is_japanese
from crm.reference import fiscal_year
from crm.reference.countries import country_name
from crm.reference.models import Prefecture
from crm.imports.targets import TARGETS, VCARD_EXTENSIONS, Target
from crm.formats.writers import cp932_unrepresentable, iter_csv, iter_vcards, xlsx_chunks

FORMATS_OF = {"alumni": ("csv", "csv-cp932", "xlsx", "vcard"), "contacts": ("csv", "csv-cp932", "xlsx")}
CHUNK = 1 << 16
ALUMNUS_EXPORT_FIELDS = [column.key for column in TARGETS["alumni"].columns if column.key not in ("full_name", "period")]


def alumni_records(filters: dict) -> Iterator[dict]:
    """One row per alumnus and placement, from the list's own filtered, scoped query. Read as plain
    rows, a thousand people and their placements at a time (no ORM objects: an export of the whole
    registry would spend most of its time building them)."""
    user = current_user._get_current_object()
    columns = [getattr(Alumnus, key) for key in ALUMNUS_EXPORT_FIELDS if hasattr(Alumnus, key)]
    keys = [column.key for column in columns]
    statement = (alumni_operations.filtered_alumni(filters).with_only_columns(Alumnus.id, *columns)
                 .order_by(Alumnus.family_name, Alumnus.given_name, Alumnus.id))
    for people in db.session.execute(statement.execution_options(yield_per=1000)).partitions():
        placements = _placements_of([person[0] for person in people], user)
        for alumnus_id, *values in people:
            base = dict(zip(keys, values, strict=True), alumnus_id=alumnus_id)
            base["sector"] = base["sector"].value if base.get("sector") else None
            base["japanese_level"] = base["japanese_level"].value if base.get("japanese_level") else None
            for placement in placements.get(alumnus_id) or [{}]:
                yield base | placement


def _placements_of(alumni: list[int], user) -> dict[int, list[dict]]:
    """The placements of these alumni that the user's exports carry, by alumnus, as the person's
    page lists them (by start year)."""
    japanese = is_japanese()
    statement = (
        select(Placement.alumnus_id, Placement.organisation, Placement.position, Placement.start_year, Placement.end_year,
               Prefecture.name_ja if japanese else Prefecture.name_en)
        .outerjoin(Prefecture, Prefecture.id == Placement.prefecture_id)
        .where(Placement.alumnus_id.in_(alumni), editable_placements(user))
        .order_by(Placement.alumnus_id, Placement.start_year)
    )
    placed: dict[int, list[dict]] = {}
    for alumnus_id, organisation, position, start_year, end_year, host_prefecture in db.session.execute(statement):
        placed.setdefault(alumnus_id, []).append({
            "organisation": organisation, "position": position.value.upper(), "start_year": start_year,
            "end_year": end_year, "host_prefecture": host_prefecture})
    return placed


def _contacts(filters: dict):
    statement = scoped(ContactEntry).join(Alumnus, Alumnus.id == ContactEntry.alumnus_id).where(Alumnus.cease_use.is_(False))
    if filters.get("alumnus"):
        statement = statement.where(ContactEntry.alumnus_id == request_int(filters["alumnus"]))
    return statement


def contact_records(filters: dict) -> Iterator[dict]:
    """The user's own prefecture's contact log, about people whose use has not ceased."""
    statement = (
        _contacts(filters)
        .options(selectinload(ContactEntry.alumnus), selectinload(ContactEntry.staff), selectinload(ContactEntry.assignee))
        .order_by(ContactEntry.contacted_on.desc(), ContactEntry.id.desc())
    )
    for entry in db.session.scalars(statement.execution_options(yield_per=1000)):
        yield {
            "alumnus_id": entry.alumnus_id, "contacted_on": entry.contacted_on, "family_name": entry.alumnus.family_name,
            "given_name": entry.alumnus.given_name, "email": entry.alumnus.email, "channel": str(entry.channel.label),
            "direction": str(entry.direction.label), "summary": entry.summary,
            "staff": entry.staff.display_name if entry.staff else None, "follow_up_on": entry.follow_up_on,
            "assignee": entry.assignee.display_name if entry.assignee else None, "done": entry.done_at is not None,
        }


RECORDS = {"alumni": alumni_records, "contacts": contact_records}


def _named(enumeration):
    def name(code):
        return str(enumeration(code).label) if code in enumeration._value2member_map_ else code
    return name


# Codes shown by name in the file for people (Japanese headers), by target and column.
def _japanese_country(code: str) -> str:
    return country_name(code, japanese=True)


NAMES = {"alumni": {"residence_country": _japanese_country, "sector": _named(Sector), "japanese_level": _named(JapaneseLevel)},
         "activities": {"country": _japanese_country}}


def _headed(target: Target, records: Iterator[dict], japanese: bool) -> tuple[list[str], Iterator[dict]]:
    columns = [column for column in target.columns if column.key not in ("full_name", "period")]
    headers = [target.header(column, japanese) for column in columns]
    names = NAMES.get(target.name, {}) if japanese else {}
    shown = [names.get(column.key) for column in columns]

    def rows():
        for record in records:
            yield [value if name is None or value in (None, "") else name(value)
                   for name, value in zip(shown, (record.get(column.key) for column in columns))]

    return headers, rows()


def _tag_name(tag: str) -> str:
    tag_id = request_int(tag)
    found = db.session.get(Tag, tag_id) if tag_id is not None else None
    return found.name if found else tag


FILTER_LABELS = {
    "q": _l("Search"), "country": term("country_of_residence"), "sector": term("sector"), "position": _l("Position"),
    "year_from": _l("Placed from"), "year_to": _l("Placed until"), "tag": _l("Tag"), "consent": _l("Consent"),
    "ambassador": _l("Hometown ambassador"), "status": _l("Status"), "alumnus": _l("Alumnus"), "fy": _l("Fiscal year"),
}
SHOWN_VALUES = {
    "country": country_name, "sector": _named(Sector), "position": _named(Position), "fy": lambda year: fiscal_year.label(int(year)) if str(year).isdigit() else year,
    "tag": _tag_name,
}


def applied_filter(filters: dict) -> list[tuple[str, str]]:
    """(label, value) of each filter the export applies, as the page shows it."""
    return [(str(FILTER_LABELS[key]), str(SHOWN_VALUES.get(key, str)(value)))
            for key, value in filters.items() if value not in (None, "") and key in FILTER_LABELS]


def record_count(target_name: str, filters: dict) -> int:
    """How many records the export holds (alumni: people, one row per placement in the file)."""
    if target_name in ("alumni", "contacts"):  # counted in SQL; the other targets' records are few
        statement = alumni_operations.filtered_alumni(filters) if target_name == "alumni" else _contacts(filters)
        return db.session.scalar(select(func.count()).select_from(statement.subquery()))
    return sum(1 for _ in RECORDS[target_name](filters))


def cp932_changes(target_name: str, filters: dict, limit: int = 200) -> list[tuple[str, str]]:
    """The values a CP932 export would change, and how they will appear (the confirmation step)."""
    def values():
        for record in RECORDS[target_name](filters):
            yield from record.values()

    return cp932_unrepresentable(values())[:limit]


def _card(record: dict) -> dict:
    return {
        "family_name": record.get("family_name"), "given_name": record.get("given_name"),
        "family_name_kana": record.get("name_katakana"),
        "emails": [address for address in (record.get("email"), record.get("email_secondary")) if address],
        "phones": [record["phone"]] if record.get("phone") else [],
        "organisation": record.get("employer"), "title": record.get("job_title"), "url": record.get("linkedin_url"),
        "city": record.get("city"), "country": record.get("residence_country"),
        "x_fields": {name: [str(record[key])] for key, name in VCARD_EXTENSIONS.items() if record.get(key) not in (None, "")},
    }


class Tally:
    """What an export wrote: its rows, and whose data left (breach response asks "who exported this
    person's data", crm.privacy)."""

    def __init__(self):
        self.rows = 0
        self.people: set[int] = set()


def body(target_name: str, fmt: str, filters: dict, tally: Tally) -> Iterator[bytes]:
    """The export's file as byte chunks, counted in `tally` as its rows go out."""
    target = TARGETS[target_name]

    def counted():
        for record in RECORDS[target_name](filters):
            tally.rows += 1
            if record.get("alumnus_id") is not None:  # members and programs name no alumnus
                tally.people.add(record["alumnus_id"])
            yield record

    if fmt == "vcard":
        yield from iter_vcards(_card(record) for record in counted())
    elif fmt == "xlsx":
        headers, rows = _headed(target, counted(), is_japanese())
        yield from xlsx_chunks(rows, headers, str(target.label), CHUNK)
    else:
        headers, rows = _headed(target, counted(), is_japanese())
        yield from iter_csv(rows, headers, encoding="cp932" if fmt == "csv-cp932" else "utf-8-sig")


def record_export(target_name: str, fmt: str, filters: dict, rows: int, people, **details) -> None:
    """The audit entry of an export: its filter, rows and the alumni it held."""
    recorded_filter = {key: value for key, value in filters.items() if value}
    audit.record_event("export", target_name, None, format=fmt, filter=recorded_filter, rows=rows,
                       **({"people": sorted(people)} if people else {}), **details)


def stream(target_name: str, fmt: str, filters: dict, tally: Tally | None = None) -> Iterator[bytes]:
    """The export as byte chunks; the audit entry is written once the last row has gone out."""
    tally = tally or Tally()
    # An export only reads: never hold a write transaction (the audit entry gets its own).
    token = write_intent.set(False)
    try:
        yield from body(target_name, fmt, filters, tally)
    finally:
        db.session.rollback()
        record_export(target_name, fmt, filters, tally.rows, tally.people)
        write_intent.reset(token)


def export_to_file(target_name: str, fmt: str, filters: dict, path) -> int:
    """CLI: write an export to `path`; → rows written."""
    tally = Tally()
    with open(path, "wb") as out:
        for chunk in stream(target_name, fmt, filters, tally):
            out.write(chunk)
    return tally.rows
