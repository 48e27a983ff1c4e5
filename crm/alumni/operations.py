"""Rules for alumni: listing and search, duplicates, edits, tags, archive, merge, contact log, networks.

Lists, searches, exports and mailings start from `listable()`: the user's scope minus people whose
use has ceased (利用停止). Single records still open by id, so legal requests can be answered.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import exists, false, func, inspect, literal_column, or_, select, table, text
from sqlalchemy.orm import selectinload, with_expression

from crm import audit, clock, references, signals
from crm.access import chosen_prefecture, reaches_whole_registry, scoped, scoped_rows
from crm.alumni import names
from crm.alumni.models import (
    ALUMNI_NAMES_TABLE, ALUMNI_SEARCH_TABLE, NAME_WORDS, AlumniGroup, Alumnus, ContactEntry, JapanAlumniAssociation, Placement,
    SEARCH_TABLES, Position, SearchBacklog, Sector, Tag, alumni_group_members, alumni_tags, placement_summary,
)
from crm.db import LARGEST_INTEGER, request_int, utcnow
from crm.extensions import db
from crm.i18n import date_formatter, is_japanese
from crm.reference.countries import country_name, in_name_order
from crm.reference.models import Prefecture

ALUMNUS_SORTS = {
    "name": Alumnus.family_name,
    "country": lambda: in_name_order(Alumnus.residence_country),
    "employer": Alumnus.employer,
    "updated": Alumnus.updated_at,
}
CONSENT_FILTERS = ("contact", "none")
AMBASSADOR_FILTERS = ("current", "any")


def listable(include_archived: bool = False):
    """The user's alumni for lists, searches, exports and mailings: never anyone whose use has ceased."""
    statement = scoped(Alumnus).where(Alumnus.cease_use.is_(False))
    return statement if include_archived else statement.where(Alumnus.archived_at.is_(None))


def name_keys(family: str, given: str, kana: str | None) -> dict:
    """The stored phonetic keys: Latin and katakana names of one person usually share a key."""
    kana = kana or names.kana_in_latin_fields(family, given)
    return {"latin_key": names.latin_name_key(family, given), "kana_key": names.kana_name_key(kana) if kana else None}


def _has_kana(text: str) -> bool:
    return any("\u3040" <= char <= "\u30ff" or "\uff66" <= char <= "\uff9f" for char in text)


# Trigram indexes (SQLite's FTS5 table, PostgreSQL's pg_trgm) find words of this many characters or
# more anywhere in the search text; shorter ones match the start of a word of a name
# (crm.alumni.models.ALUMNI_NAMES_TABLE, NAME_WORDS).
TRIGRAM = 3
SEARCH_WORD_SEPARATORS = re.compile(r"[\s,、，]+")


def _fts_rows(search_table: str, query: str):
    """Ids of the alumni an FTS5 query finds in one of SQLite's search tables."""
    return Alumnus.id.in_(select(literal_column("rowid")).select_from(table(search_table))
                          .where(literal_column(search_table).op("MATCH")(query)))


# --- SQLite's search tables for a bulk insert (crm.alumni.models.SearchBacklog) ---------------------

def index_later() -> SearchBacklog | None:
    """Inside a write transaction about to insert many alumni (a batch of an import), on SQLite: the
    alumni inserted from now on skip the search triggers, and `index_now` adds them all at once
    before the commit. None on PostgreSQL."""
    if db.session.get_bind().dialect.name != "sqlite":
        return None
    first = (db.session.scalar(select(func.max(Alumnus.id))) or 0) + 1
    # Open-ended while the transaction (which keeps every other writer out) inserts.
    backlog = SearchBacklog(first_id=first, last_id=LARGEST_INTEGER)
    db.session.add(backlog)
    db.session.flush()
    return backlog


def index_now(backlog: SearchBacklog | None) -> None:
    """Add the backlog's alumni to the search tables in one statement per table, and end it, in the
    transaction that inserted them (a killed batch leaves neither rows nor range)."""
    if backlog is None:
        return
    backlog = db.session.merge(backlog)
    last = db.session.scalar(select(func.max(Alumnus.id))) or 0
    if last >= backlog.first_id:
        _index_range(backlog.first_id, last)
    db.session.delete(backlog)
    db.session.flush()


def _index_range(first: int, last: int) -> None:
    for search_table in SEARCH_TABLES:
        columns = ", ".join(column for column in _search_columns(search_table))
        db.session.execute(text(f"INSERT INTO {search_table}(rowid, {columns}) SELECT id, {columns} FROM alumni"
                                " WHERE id BETWEEN :first AND :last"), {"first": first, "last": last})


def _search_columns(search_table: str) -> list[str]:
    return [row[1] for row in db.session.execute(text(f"PRAGMA table_info({search_table})"))]


def _name_word_starts_with(word: str, sqlite: bool):
    """A word of one or two characters: the start of a word of the family, given or katakana name
    (“jo” finds John and Jones, “ス” スミス, “山田” 山田), found through a prefix index — as a
    substring it would be a scan of every row. Whoever searches gets the same answer."""
    if not any(char.isalnum() for char in word):
        return false()  # punctuation alone starts no word
    if sqlite:
        return _fts_rows(ALUMNI_NAMES_TABLE, '"' + word.replace('"', '""') + '"*')
    lexeme = "'" + word.replace("\\", "\\\\").replace("'", "''") + "':*"
    # The substring test is implied by the word test and far cheaper per row: PostgreSQL checks it
    # first where it starts from a prefecture's alumni instead of the index.
    # strpos, not LIKE: a prepared statement's generic plan would take a LIKE for a trigram index
    # condition, and a two-character pattern reads that whole index.
    words = NAME_WORDS.op("@@")(func.to_tsquery(literal_column("'simple'"), lexeme))
    return (func.strpos(Alumnus.search_text, word) > 0) & words


def _search_condition(term: str):
    """Every word must occur in a name (Latin or katakana), an email, the employer or the city; a
    word of one or two characters must begin a word of a name."""
    conditions = []
    sqlite = db.session.get_bind().dialect.name == "sqlite"
    # A prefecture reaches a few thousand alumni: a LIKE over them costs less than looking a common
    # word up in the whole registry's index. The whole registry needs the index.
    fts = sqlite and reaches_whole_registry()
    # Commas separate words too: the list shows names as "SMITH, John", and people type what they see.
    for word in SEARCH_WORD_SEPARATORS.split(term):
        if _has_kana(word):
            # Stored katakana is normalised (full-width, hiragana → katakana); the ・ is optional.
            word = names.normalise_kana(word).replace("・", "")
        word = word.lower()
        if not word:
            continue
        if len(word) < TRIGRAM:
            conditions.append(_name_word_starts_with(word, sqlite))
        elif fts:
            # A quoted FTS5 phrase of trigrams is the substring itself, found through the index.
            conditions.append(_fts_rows(ALUMNI_SEARCH_TABLE, '"' + word.replace('"', '""') + '"'))
        elif sqlite and any(not char.isascii() and char.upper() != char for char in word):
            conditions.append(Alumnus.search_text.op("GLOB")(_either_case_glob(word)))
        else:
            escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            conditions.append(Alumnus.search_text.like(f"%{escaped}%", escape="\\"))
    return conditions


def _either_case_glob(word: str) -> str:
    """SQLite's lower() folds ASCII letters only, so its stored search text keeps É, Ö, Å as written
    (and its LIKE compares them case-sensitively): a GLOB pattern taking either case of each such
    letter finds “Émilie” for “émilie”. *, ? and [ stand for themselves."""
    parts = []
    for char in word:
        upper = char.upper()
        if char in "*?[":
            parts.append(f"[{char}]")
        elif not char.isascii() and len(upper) == 1 and upper != char:
            parts.append(f"[{char}{upper}]")
        else:
            parts.append(char)
    return "*" + "".join(parts) + "*"


def ambassador_ids(current: bool, on: date | None = None):
    """Ids of alumni appointed ambassador by a prefecture the user works for, asked of the
    ambassadors domain: with a term running on `on` (default today in Japan), or with any term."""
    return signals.answer(signals.ambassador_ids, current=current, on=on or clock.today())


def _country_share(condition):
    """SQLite's planner (without STAT4 histograms) takes each country for an equal share of the
    registry, about 1/15; the US alone holds 40 % of it. Said so, it starts a prefecture's list from
    that prefecture's few thousand alumni instead of reading every US one (PostgreSQL has its own
    statistics of common values). The country index still serves an administrator's list."""
    if db.session.get_bind().dialect.name != "sqlite":
        return condition
    return func.likelihood(condition, literal_column("0.4"))


def alumni_query(filters: dict):
    """The alumni the request's filter values (all optional) select, with what a listed record shows
    loaded in two queries whatever the number of records; the ambassador badge is a subquery in the
    same SELECT."""
    return filtered_alumni(filters).options(
        selectinload(Alumnus.placements), selectinload(Alumnus.tags),
        with_expression(Alumnus.is_ambassador, _is_current_ambassador()))


def _is_current_ambassador():
    return Alumnus.id.in_(ambassador_ids(current=True))


def filtered_alumni(filters: dict):
    """The list and search behind /alumni, from the request's filter values (all optional)."""
    status = filters.get("status")
    statement = listable(include_archived=status == "archived")
    if status == "archived":
        statement = statement.where(Alumnus.archived_at.is_not(None))
    term = (filters.get("q") or "").strip()
    if term:
        statement = statement.where(*_search_condition(term[:100]))
    if filters.get("country"):
        statement = statement.where(_country_share(Alumnus.residence_country == filters["country"].upper()[:2]))
    if filters.get("sector") in {s.value for s in Sector}:
        statement = statement.where(Alumnus.sector == Sector(filters["sector"]))
    placement = []
    if filters.get("position") in {p.value for p in Position}:
        placement.append(Placement.position == Position(filters["position"]))
    year_from, year_to = request_int(filters.get("year_from")), request_int(filters.get("year_to"))
    if year_from is not None:
        placement.append(func.coalesce(Placement.end_year, Placement.start_year) >= year_from)
    if year_to is not None:
        placement.append(Placement.start_year <= year_to)
    if placement:
        statement = statement.where(exists().where(Placement.alumnus_id == Alumnus.id, *placement))
    tag = request_int(filters.get("tag"))
    if tag is not None:
        statement = statement.where(exists().where(alumni_tags.c.alumnus_id == Alumnus.id, alumni_tags.c.tag_id == tag))
    consent = filters.get("consent")
    if consent == "contact":
        statement = statement.where(Alumnus.contact_consent.is_(True))
    elif consent == "none":
        # Consent to newsletters is per mailing list now (crm.outreach): the list's page shows who.
        statement = statement.where(Alumnus.contact_consent.is_(False))
    prefecture = chosen_prefecture(filters.get("prefecture"))
    if prefecture:
        # An administrator's list narrowed to the people who served in one prefecture.
        statement = statement.where(exists().where(Placement.alumnus_id == Alumnus.id, Placement.prefecture_id == int(prefecture)))
    if filters.get("ambassador") in AMBASSADOR_FILTERS:
        statement = statement.where(Alumnus.id.in_(ambassador_ids(current=filters["ambassador"] == "current")))
    return statement


@dataclass
class ListedAlumnus:
    """One row of the alumni list (templates/alumni/_rows.html): the columns it shows, read as plain
    rows — building 50 ORM records and their placements and tags was about a third of a list
    request's Python. Name and residence are the model's own properties."""

    id: int
    family_name: str
    given_name: str
    name_katakana: str | None
    city: str | None
    residence_country: str | None
    employer: str | None
    archived_at: datetime | None
    updated_at: datetime
    is_ambassador: bool
    placement_summaries: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    residence: str = ""  # city and country name, in the request's language
    updated: str = ""  # updated_at as the user's date

    name = Alumnus.name


def list_columns(statement):
    """`filtered_alumni(...)` reduced to the columns of a ListedAlumnus, for `paginate(scalars=False)`."""
    return statement.with_only_columns(
        Alumnus.id, Alumnus.family_name, Alumnus.given_name, Alumnus.name_katakana, Alumnus.city,
        Alumnus.residence_country, Alumnus.employer, Alumnus.archived_at, Alumnus.updated_at,
        _is_current_ambassador().label("is_ambassador"))


def listed_rows(ids):
    """The list's columns of these alumni (found by the list's filter), read by id in the user's scope."""
    return list_columns(scoped_rows(Alumnus, ids))


def rows_by_key(filters: dict):
    """How the list reads its page (`paginate(rows_by_key=…)`): a search finds the page's ids and the
    bounded count in one pass, then reads the 50 rows by id (a count and a page each ran its LIKEs or
    its FTS5 match); other filters are index ranges, where counting 1,001 rows and reading a 50-row
    page cost less than 1,001 ids in order."""
    return listed_rows if (filters.get("q") or "").strip() else None


def listed_alumni(rows) -> list[ListedAlumnus]:
    """The page's rows with their placements (in order of start) and tag names: two queries whatever
    the page size, none for an empty page."""
    listed = {row.id: ListedAlumnus(**row._mapping) for row in rows}
    if not listed:
        return []
    # What every row shows the same way is worked out once: the language, the date format and time
    # zone, each position's label (a list page asked for them once per row, then once per placement).
    japanese, updated = is_japanese(), date_formatter()
    for row in listed.values():
        row.residence = ", ".join(part for part in (row.city, country_name(row.residence_country, japanese)) if part)
        row.updated = updated(row.updated_at)
    position_labels = {position: position.label for position in Position}
    prefecture_name = Prefecture.name_ja if japanese else Prefecture.name_en  # Prefecture.name, as a column
    placements = (select(Placement.alumnus_id, prefecture_name, Placement.position, Placement.start_year, Placement.end_year)
                  .join(Prefecture, Prefecture.id == Placement.prefecture_id)
                  .where(Placement.alumnus_id.in_(listed)).order_by(Placement.start_year, Placement.id))
    for alumnus_id, prefecture, position, start_year, end_year in db.session.execute(placements):
        listed[alumnus_id].placement_summaries.append(
            placement_summary(prefecture, position, start_year, end_year, position_labels.get(position)))  # an odd stored code: its own
    tags = (select(alumni_tags.c.alumnus_id, Tag.name).join(Tag, Tag.id == alumni_tags.c.tag_id)
            .where(alumni_tags.c.alumnus_id.in_(listed)).order_by(Tag.name))
    for alumnus_id, name in db.session.execute(tags):
        listed[alumnus_id].tags.append(name)
    return list(listed.values())


def alumni_sorts(filters: dict) -> dict:
    """ALUMNUS_SORTS for this list. A search's matches are sorted, not read in the order of the name
    index: planners assume matches spread evenly through the name order and walk that index until
    the page is full, but a word often matches one family name ("smi": the Smiths, 72,000 rows into
    the index), while sorting even 10,000 matches found through the trigram index is bounded.
    SQLite starts from its search index by itself; on PostgreSQL the name sort becomes an
    expression no index provides."""
    if (filters.get("q") or "").strip() and db.session.get_bind().dialect.name == "postgresql":
        return {**ALUMNUS_SORTS, "name": Alumnus.family_name.concat("")}
    return ALUMNUS_SORTS


# "Select all N matching" applies a bulk action to at most this many people (the list's count limit).
ALL_MATCHING_LIMIT = 1000


def all_matching(filters: dict) -> list[Alumnus]:
    """Every person the list's filter selects, for a bulk action on all of them (one more than the
    limit at most: the count then differs from any N the list offered)."""
    return list(db.session.scalars(filtered_alumni(filters).options(selectinload(Alumnus.tags))
                                   .order_by(Alumnus.id).limit(ALL_MATCHING_LIMIT + 1)))


def all_tags() -> list[Tag]:
    return list(db.session.scalars(select(Tag).order_by(Tag.name)))


# --- Duplicates ------------------------------------------------------------------------------------

def find_duplicates(family: str, given: str, kana: str | None, emails: list[str], start_year: int | None = None,
                    exclude_id: int | None = None) -> list[Alumnus]:
    """Possible duplicates among the records the user may see: the same email; the same name and
    placement start year; the same katakana; or a katakana name that romanises to the other record's
    Latin name (ジョン・スミス ↔ John Smith). The phonetic keys find candidates by index; the names
    module's fine check decides the katakana ↔ Latin ones."""
    emails = [email for email in emails if email]
    # Kana in the Latin fields (a record stored before the forms refused it) is a reading of the name.
    kana = kana or names.kana_in_latin_fields(family, given) or None
    latin_keys = names.latin_name_keys(family, given)
    kana_key = names.kana_name_key(kana) if kana else None
    base = scoped(Alumnus).options(selectinload(Alumnus.placements)).limit(20)
    if exclude_id is not None:
        base = base.where(Alumnus.id != exclude_id)
    certain = []
    if emails:
        certain += [Alumnus.email.in_(emails), Alumnus.email_secondary.in_(emails)]
    if start_year:
        certain.append((Alumnus.latin_key == latin_keys[0]) & exists().where(
            Placement.alumnus_id == Alumnus.id, Placement.start_year == start_year))
    if kana_key:
        certain.append(Alumnus.name_katakana == names.normalise_kana(kana))
    found = {alumnus.id: alumnus for alumnus in db.session.scalars(base.where(or_(*certain)))} if certain else {}
    # Their katakana against our Latin name, and our katakana against their Latin name.
    for alumnus in db.session.scalars(base.where(Alumnus.kana_key.in_(latin_keys))):
        their_kana = alumnus.name_katakana or names.kana_in_latin_fields(alumnus.family_name, alumnus.given_name)
        if alumnus.id not in found and names.katakana_matches_latin(their_kana, family, given):
            found[alumnus.id] = alumnus
    if kana_key:
        for alumnus in db.session.scalars(base.where(Alumnus.latin_key == kana_key)):
            if alumnus.id not in found and names.katakana_matches_latin(kana, alumnus.family_name, alumnus.given_name):
                found[alumnus.id] = alumnus
    return list(found.values())


def merge_candidates(alumnus: Alumnus) -> list[Alumnus]:
    """The records that may be the same person as `alumnus`, for the merge page."""
    return find_duplicates(alumnus.family_name, alumnus.given_name, alumnus.name_katakana,
                           [alumnus.email, alumnus.email_secondary],
                           alumnus.placements[0].start_year if alumnus.placements else None, exclude_id=alumnus.id)


# --- Changes ---------------------------------------------------------------------------------------

def set_fields(alumnus: Alumnus, values: dict) -> None:
    """Apply a section's validated values; the name keys follow the names."""
    for key, value in values.items():
        if key == "preferred_language" and not value:
            continue  # not posted: the person's language stays
        setattr(alumnus, key, value)
    if alumnus.name_katakana:
        alumnus.name_katakana = names.normalise_kana(alumnus.name_katakana) or None
    for key, value in name_keys(alumnus.family_name, alumnus.given_name, alumnus.name_katakana).items():
        setattr(alumnus, key, value)


def create_alumnus(values: dict, placement: dict) -> Alumnus:
    alumnus = Alumnus(family_name=values["family_name"], given_name=values["given_name"])
    # Newsletters in English unless the person is a Japanese citizen (README, "Outreach").
    alumnus.preferred_language = "ja" if values.get("citizenship") == "JP" else "en"
    set_fields(alumnus, values)
    alumnus.placements.append(Placement(**placement))
    db.session.add(alumnus)
    db.session.flush()
    return alumnus


def _record_sharing(alumnus: Alumnus, prefecture_id: int, placement: Placement | None = None) -> None:
    """A placement in a prefecture where the person had none opens their record to that prefecture's
    staff: kept in the audit trail as a share of its own (only administrators may, crm.access)."""
    if all(other.prefecture_id != prefecture_id for other in alumnus.placements if other is not placement):
        audit.record_event("share", Alumnus.__tablename__, alumnus.id, prefecture_id=prefecture_id)


def add_placement(alumnus: Alumnus, values: dict) -> Placement:
    _record_sharing(alumnus, values["prefecture_id"])
    placement = Placement(**values)
    alumnus.placements.append(placement)
    db.session.flush()
    return placement


class LastPlacement(Exception):
    """A person's only placement cannot be deleted: the placement is what puts them in a registry."""


def delete_placement(placement: Placement) -> None:
    """Delete a placement (the audit trail keeps its values); never a person's last one."""
    alumnus = placement.alumnus
    if len(alumnus.placements) <= 1:
        raise LastPlacement()
    alumnus.placements.remove(placement)
    db.session.delete(placement)
    db.session.flush()


def update_placement(placement: Placement, values: dict) -> None:
    if values["prefecture_id"] != placement.prefecture_id:
        _record_sharing(placement.alumnus, values["prefecture_id"], placement)
    for key, value in values.items():
        setattr(placement, key, value)


def archive(alumni: list[Alumnus]) -> None:
    now = utcnow()
    for alumnus in alumni:
        if alumnus.archived_at is None:
            alumnus.archived_at = now


def restore(alumnus: Alumnus) -> None:
    alumnus.archived_at = None


def tag_named(name: str) -> Tag:
    name = " ".join(name.split())[:60]
    tag = db.session.scalar(select(Tag).where(func.lower(Tag.name) == name.lower()))
    if tag is None:
        tag = Tag(name=name)
        db.session.add(tag)
    return tag


def add_tag(alumni: list[Alumnus], name: str) -> None:
    tag = tag_named(name)
    for alumnus in alumni:
        if tag not in alumnus.tags:
            alumnus.tags.append(tag)


def remove_tag(alumni: list[Alumnus], name: str) -> None:
    tag = db.session.scalar(select(Tag).where(func.lower(Tag.name) == " ".join(name.split()).lower()))
    if tag is None:
        return
    for alumnus in alumni:
        if tag in alumnus.tags:
            alumnus.tags.remove(tag)


def merge(survivor: Alumnus, other: Alumnus) -> None:
    """Move every row that references the other record to the survivor (placements, contact entries,
    tags, networks, program participations, appointments, activities: whatever has a foreign key to
    alumni, crm.references), fill the survivor's empty fields from it (and its cease of use), archive
    it and record the merge with the rows moved."""
    if survivor.id == other.id:
        raise ValueError("an alumnus cannot be merged with itself")
    db.session.flush()
    moved = references.move_references(Alumnus.__table__, other.id, survivor.id)
    for key in ("name_katakana", "email", "email_secondary", "phone", "citizenship", "residence_country", "city",
                "employer", "sector", "job_title", "linkedin_url", "languages", "japanese_level", "interests"):
        if getattr(survivor, key) in (None, "") and getattr(other, key) not in (None, ""):
            setattr(survivor, key, getattr(other, key))
    if other.email and other.email != survivor.email and not survivor.email_secondary:
        survivor.email_secondary = other.email
    if other.cease_use:
        # 利用停止 was asked by the person, whichever record it was noted on: it follows them.
        survivor.cease_use = True
    set_fields(survivor, {})
    survivor.updated_at = utcnow()
    other.archived_at = utcnow()
    db.session.flush()
    # The rows moved under the ORM's feet: both records' collections are read again when next used.
    for record in (survivor, other):
        db.session.expire(record, [relation.key for relation in inspect(Alumnus).relationships])
    audit.record_event("merge", Alumnus.__tablename__, survivor.id, survivor_id=survivor.id, merged_id=other.id, moved=moved)


# --- Contact log -----------------------------------------------------------------------------------

def timeline(alumnus: Alumnus, limit: int = 50) -> list[ContactEntry]:
    """The user's own prefecture's entries for this alumnus, newest first."""
    statement = (
        scoped(ContactEntry).where(ContactEntry.alumnus_id == alumnus.id)
        .options(selectinload(ContactEntry.staff), selectinload(ContactEntry.assignee))
        .order_by(ContactEntry.contacted_on.desc(), ContactEntry.id.desc()).limit(limit)
    )
    return list(db.session.scalars(statement))


def add_contact(alumnus: Alumnus, user, values: dict) -> ContactEntry:
    """A new entry owned by the writer's prefecture (None for administrators)."""
    entry = ContactEntry(alumnus_id=alumnus.id, prefecture_id=user.prefecture_id, staff_id=user.id, **values)
    db.session.add(entry)
    db.session.flush()
    return entry


# Follow-ups due within this many days are "upcoming" (the follow-ups page and the home queue).
UPCOMING_DAYS = 14


def follow_ups(user, today: date, whose: str = "mine", limit: int | None = None) -> list[ContactEntry]:
    """Open follow-ups overdue or due within UPCOMING_DAYS, soonest first: assigned to `user`
    ("mine") or to anyone else in the office, or to no one ("office"). People whose use has ceased
    are left out (no one is to contact them)."""
    statement = (
        scoped(ContactEntry, user).join(Alumnus, Alumnus.id == ContactEntry.alumnus_id)
        .where(ContactEntry.done_at.is_(None), ContactEntry.follow_up_on <= today + timedelta(days=UPCOMING_DAYS),
               Alumnus.cease_use.is_(False))
        .options(selectinload(ContactEntry.alumnus), selectinload(ContactEntry.assignee))
        .order_by(ContactEntry.follow_up_on, ContactEntry.id)
    )
    if whose == "mine":
        statement = statement.where(ContactEntry.assignee_id == user.id)
    else:
        statement = statement.where(or_(ContactEntry.assignee_id.is_(None), ContactEntry.assignee_id != user.id))
    return list(db.session.scalars(statement.limit(limit) if limit else statement))


def snooze(entry: ContactEntry, until: date) -> None:
    """Move an open follow-up to a later day."""
    entry.follow_up_on = until


def reassign(entry: ContactEntry, assignee) -> None:
    """Hand an open follow-up to another account of the office (`assignable_staff`, checked by the caller)."""
    entry.assignee_id = assignee.id


def mark_done(entry: ContactEntry) -> None:
    if entry.done_at is None:
        entry.done_at = utcnow()


def assignable_staff(user) -> list:
    """Who a follow-up may be assigned to: the accounts of the writer's own office (scoped users for
    administrators, the same prefecture's staff otherwise)."""
    from crm.auth.models import Role, User

    statement = select(User).where(User.active.is_(True))
    if user.prefecture_id is not None:
        statement = statement.where(User.prefecture_id == user.prefecture_id)
    else:
        statement = statement.where(User.role == Role.ADMIN)
    return list(db.session.scalars(statement.order_by(User.display_name)))


# --- Networks --------------------------------------------------------------------------------------

def groups_of(alumnus: Alumnus) -> list[AlumniGroup]:
    """The alumnus's networks the user can see."""
    statement = scoped(AlumniGroup).where(
        exists().where(alumni_group_members.c.group_id == AlumniGroup.id, alumni_group_members.c.alumnus_id == alumnus.id)
    ).order_by(AlumniGroup.name)
    return list(db.session.scalars(statement))


def group_members(group: AlumniGroup) -> list[Alumnus]:
    statement = listable().where(
        exists().where(alumni_group_members.c.alumnus_id == Alumnus.id, alumni_group_members.c.group_id == group.id)
    ).order_by(Alumnus.family_name, Alumnus.given_name)
    return list(db.session.scalars(statement))


def join_group(group: AlumniGroup, alumnus: Alumnus) -> None:
    if alumnus not in group.members:
        group.members.append(alumnus)


def leave_group(group: AlumniGroup, alumnus: Alumnus) -> None:
    if alumnus in group.members:
        group.members.remove(alumnus)


def group_query():
    member_count = (
        select(func.count()).select_from(alumni_group_members)
        .where(alumni_group_members.c.group_id == AlumniGroup.id).correlate(AlumniGroup).scalar_subquery()
    )
    return scoped(AlumniGroup).add_columns(member_count.label("linked")).order_by(AlumniGroup.prefecture_id, AlumniGroup.name)


JAPAN_ASSOCIATION_SORTS = {
    "name": JapanAlumniAssociation.name,
    "country": lambda: in_name_order(JapanAlumniAssociation.country),
    "founded": JapanAlumniAssociation.founded_year,
    "members": JapanAlumniAssociation.member_count,
}


def japan_association_query(country: str = ""):
    statement = scoped(JapanAlumniAssociation)
    if country:
        statement = statement.where(JapanAlumniAssociation.country == country.upper()[:2])
    return statement

