"""JET alumni, their placements, each prefecture's contact log, tags and alumni networks.

Design choices (see README):
- Emails: a primary and a secondary address on the alumnus, stored lower-cased and indexed, so
  search and duplicate detection are one indexed comparison each; no third address was ever needed
  in the Excel files this replaces.
- Notes are contact entries of channel NOTE: they carry the writing prefecture like every entry, so
  "notes belong to the prefecture that wrote them" is the same rule as for the contact log.
- Tags are one shared vocabulary (Trade, Tourism, Media …) so prefectures can compare; they say
  nothing private. Anything private goes in a note.
"""
from __future__ import annotations

from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, Column, Computed, DDL, ForeignKey, Index, String, Table, Text, event, func, text
from sqlalchemy.orm import Mapped, mapped_column, query_expression, relationship

from crm.audit import Audited
from crm.auth.models import User, enum_column
from crm.db import UNMODELLED_INDEXES, UNMODELLED_TABLES, UTCDateTime, utcnow
from crm.extensions import db
from crm.glossary import term
from crm.i18n import LabelledEnum
from crm.reference.countries import country_name
from crm.reference.models import Prefecture

# JET began in 1987.
FIRST_JET_YEAR = 1987


class Sector(LabelledEnum):
    GOVERNMENT = "government", _l("Government")
    EDUCATION = "education", _l("Education")
    BUSINESS = "business", _l("Business")
    TOURISM = "tourism", _l("Tourism")
    MEDIA = "media", _l("Media")
    NGO = "ngo", _l("NGO")
    RESEARCH = "research", _l("Research")
    OTHER = "other", _l("Other")


class JapaneseLevel(LabelledEnum):
    N1 = "n1", _l("JLPT N1")
    N2 = "n2", _l("JLPT N2")
    N3 = "n3", _l("JLPT N3")
    N4 = "n4", _l("JLPT N4")
    N5 = "n5", _l("JLPT N5")
    NONE = "none", _l("No JLPT")


class Position(LabelledEnum):
    ALT = "alt", _l("ALT")
    CIR = "cir", _l("CIR")
    SEA = "sea", _l("SEA")


class Channel(LabelledEnum):
    EMAIL = "email", term("channel.email")
    MEETING = "meeting", term("channel.meeting")
    EVENT = "event", term("channel.event")
    SNS = "sns", term("channel.sns")
    PHONE = "phone", term("channel.phone")
    VISIT = "visit", term("channel.visit")
    NOTE = "note", term("channel.note")


class Direction(LabelledEnum):
    OUTGOING = "outgoing", _l("We contacted them")
    INCOMING = "incoming", _l("They contacted us")
    INTERNAL = "internal", _l("Internal note")


class Platform(LabelledEnum):
    LINKEDIN = "linkedin", _l("LinkedIn")
    FACEBOOK = "facebook", _l("Facebook")
    JETAA = "jetaa", _l("JETAA chapter")
    FAN_CLUB = "fan_club", _l("Fan club")
    OTHER = "other", _l("Other")


alumni_tags = Table(
    "alumni_tags",
    db.metadata,
    Column("alumnus_id", ForeignKey("alumni.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True, index=True),
)

alumni_group_members = Table(
    "alumni_group_members",
    db.metadata,
    Column("group_id", ForeignKey("alumni_groups.id", ondelete="CASCADE"), primary_key=True),
    Column("alumnus_id", ForeignKey("alumni.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Tag(Audited, db.Model):
    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)

    def __str__(self) -> str:
        return self.name


SEARCH_TEXT = (
    "lower(coalesce(family_name, '') || ' ' || coalesce(given_name, '') || ' '"
    " || coalesce(replace(name_katakana, '・', ''), '') || ' ' || coalesce(email, '') || ' '"
    " || coalesce(email_secondary, '') || ' ' || coalesce(employer, '') || ' ' || coalesce(city, ''))"
)


class Alumnus(Audited, db.Model):
    __tablename__ = "alumni"
    __audit_exclude__ = frozenset({"is_ambassador"})
    __table_args__ = (
        Index("ix_alumni_latin_key", "latin_key"),
        Index("ix_alumni_kana_key", "kana_key"),
        # The default order (by family name, then id) walks this index and stops after one page.
        Index("ix_alumni_family_name_id", "family_name", "id"),
        # A country filter in that order: the page is the first rows of one index range.
        Index("ix_alumni_country_family_name_id", "residence_country", "family_name", "id"),
        # The archive only: an index holding every current record (archived_at IS NULL) would lure
        # SQLite into seeking each search match through it and sorting them all.
        Index("ix_alumni_archived", "archived_at", sqlite_where=text("archived_at IS NOT NULL"),
              postgresql_where=text("archived_at IS NOT NULL")),
        # Substring search on PostgreSQL uses trigrams; SQLite has the FTS5 table below.
        Index(
            "ix_alumni_search_text_trgm", "search_text",
            postgresql_using="gin", postgresql_ops={"search_text": "gin_trgm_ops"},
        ).ddl_if(dialect="postgresql"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    family_name: Mapped[str] = mapped_column(String(100))
    given_name: Mapped[str] = mapped_column(String(100))
    name_katakana: Mapped[str | None] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    email_secondary: Mapped[str | None] = mapped_column(String(254), index=True)
    phone: Mapped[str | None] = mapped_column(String(40))
    citizenship: Mapped[str | None] = mapped_column(String(2))
    residence_country: Mapped[str | None] = mapped_column(String(2))
    city: Mapped[str | None] = mapped_column(String(100))
    employer: Mapped[str | None] = mapped_column(String(200))
    sector: Mapped[Sector | None] = mapped_column(enum_column(Sector))
    job_title: Mapped[str | None] = mapped_column(String(200))
    linkedin_url: Mapped[str | None] = mapped_column(String(300))
    languages: Mapped[str | None] = mapped_column(String(200))
    japanese_level: Mapped[JapaneseLevel | None] = mapped_column(enum_column(JapaneseLevel))
    interests: Mapped[str | None] = mapped_column(String(500))
    # APPI: consent to be contacted, when and how it was given. Consent to newsletters is per mailing
    # list (crm.outreach: subscriptions and their consent events), never one flag for every prefecture.
    contact_consent: Mapped[bool] = mapped_column(default=False, server_default="0")
    consent_on: Mapped[date | None]
    consent_source: Mapped[str | None] = mapped_column(String(200))
    # 利用停止: kept for legal requests, gone from lists, searches, exports and mailings.
    cease_use: Mapped[bool] = mapped_column(default=False, server_default="0")
    # The day the person last said "my details are current" through their personal link.
    confirmed_on: Mapped[date | None]
    # The language newsletters reach the person in: English by default (most alumni live abroad and
    # did not grow up with Japanese); Japanese for a Japanese citizen (see README, "Outreach").
    preferred_language: Mapped[str] = mapped_column(String(2), default="en", server_default="en")
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Stored match keys (crm.alumni.names) for search and duplicate detection.
    latin_key: Mapped[str] = mapped_column(String(210), default="")
    kana_key: Mapped[str | None] = mapped_column(String(100))
    # What active search matches, kept by the database itself (so bulk imports need not fill it):
    # names, katakana without its ・, emails, employer and city, lower-cased.
    search_text: Mapped[str | None] = mapped_column(Text, Computed(SEARCH_TEXT, persisted=True))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, server_default=func.now())
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    # Filled by list queries only (crm.alumni.operations.alumni_query): a current ambassador of a
    # prefecture the user works for. Not a column; None wherever a query did not ask for it.
    is_ambassador: Mapped[bool | None] = query_expression()

    placements: Mapped[list[Placement]] = relationship(
        back_populates="alumnus", order_by="Placement.start_year", cascade="all, delete-orphan"
    )
    tags: Mapped[list[Tag]] = relationship(secondary=alumni_tags, order_by=Tag.name)

    __mapper_args__ = {"version_id_col": version}

    @property
    def name(self) -> str:
        return f"{self.family_name.upper()}, {self.given_name}"

    @property
    def residence(self) -> str:
        return ", ".join(part for part in (self.city, country_name(self.residence_country)) if part)

    def __str__(self) -> str:
        return self.name


class Placement(Audited, db.Model):
    __tablename__ = "placements"
    __table_args__ = (
        CheckConstraint("end_year IS NULL OR end_year >= start_year", name="years_in_order"),
        Index("ix_placements_prefecture_alumnus", "prefecture_id", "alumnus_id"),
        # The list's position filter tests each alumnus's placements from the index alone.
        Index("ix_placements_alumnus_position", "alumnus_id", "position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    alumnus_id: Mapped[int] = mapped_column(ForeignKey("alumni.id", ondelete="CASCADE"))
    prefecture_id: Mapped[int] = mapped_column(ForeignKey("prefectures.id"))
    organisation: Mapped[str | None] = mapped_column(String(200))
    position: Mapped[Position] = mapped_column(enum_column(Position, length=10))
    start_year: Mapped[int]
    end_year: Mapped[int | None]
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    alumnus: Mapped[Alumnus] = relationship(back_populates="placements")
    host_prefecture: Mapped[Prefecture] = relationship(lazy="joined")

    __mapper_args__ = {"version_id_col": version}

    @property
    def years(self) -> str:
        return served_years(self.start_year, self.end_year)

    @property
    def summary(self) -> str:
        """One line for lists: 鳥取県 ALT 2013–2016 (a property, not a macro: lists render it per row)."""
        return placement_summary(self.host_prefecture.name, self.position, self.start_year, self.end_year)


def served_years(start_year: int, end_year: int | None) -> str:
    return f"{start_year}–{end_year or ''}"


def placement_summary(prefecture_name: str, position: Position, start_year: int, end_year: int | None,
                      position_label: str | None = None) -> str:
    """A placement's line in lists, from its columns (the alumni list reads them without loading
    records, and passes the position's label it translated once)."""
    return f"{prefecture_name} {position_label or position.label} {served_years(start_year, end_year)}"


class ContactEntry(Audited, db.Model):
    """One line of a prefecture's contact log (or a note): visible only to the writing prefecture."""

    __tablename__ = "contact_entries"
    __table_args__ = (
        Index("ix_contact_entries_alumnus_on", "alumnus_id", "contacted_on"),
        Index("ix_contact_entries_assignee_open", "assignee_id", "done_at", "follow_up_on"),
        # The office's open follow-ups in date order (the home page's queue stops after a few).
        Index("ix_contact_entries_prefecture_open", "prefecture_id", "done_at", "follow_up_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    alumnus_id: Mapped[int] = mapped_column(ForeignKey("alumni.id", ondelete="CASCADE"))
    # The writer's prefecture; None for entries an administrator wrote (visible to administrators).
    prefecture_id: Mapped[int | None] = mapped_column(ForeignKey("prefectures.id"), index=True)
    contacted_on: Mapped[date]
    channel: Mapped[Channel] = mapped_column(enum_column(Channel, length=20))
    direction: Mapped[Direction] = mapped_column(enum_column(Direction, length=20))
    summary: Mapped[str] = mapped_column(Text)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    follow_up_on: Mapped[date | None]
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, server_default=func.now())

    alumnus: Mapped[Alumnus] = relationship()
    staff: Mapped[User | None] = relationship(foreign_keys=[staff_id])
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])


class AlumniGroup(Audited, db.Model):
    """A prefecture's alumni network: a LinkedIn or Facebook group, a JETAA chapter, a fan club."""

    __tablename__ = "alumni_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    prefecture_id: Mapped[int] = mapped_column(ForeignKey("prefectures.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    platform: Mapped[Platform] = mapped_column(enum_column(Platform, length=20))
    url: Mapped[str | None] = mapped_column(String(300))
    member_count: Mapped[int | None]
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    prefecture: Mapped[Prefecture] = relationship(lazy="joined")
    members: Mapped[list[Alumnus]] = relationship(secondary=alumni_group_members, order_by=Alumnus.family_name)

    __mapper_args__ = {"version_id_col": version}


class JapanAlumniAssociation(Audited, db.Model):
    """A Japan alumni association abroad (MOFA counts 226 in 120 countries): organisational data."""

    __tablename__ = "japan_alumni_associations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    country: Mapped[str] = mapped_column(String(2), index=True)
    city: Mapped[str | None] = mapped_column(String(100))
    founded_year: Mapped[int | None]
    member_count: Mapped[int | None]
    contact: Mapped[str | None] = mapped_column(String(200))
    website: Mapped[str | None] = mapped_column(String(300))
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}


# The trigram operator class lives in an extension (trusted since PostgreSQL 13).
event.listen(
    db.metadata, "before_create",
    DDL("CREATE EXTENSION IF NOT EXISTS pg_trgm").execute_if(dialect="postgresql"),
)

# SQLite's substring index: an FTS5 table with the trigram tokenizer (SQLite ≥ 3.34) over
# alumni.search_text, which it reads from the alumni table itself (external content) and which
# triggers keep in step with every insert, update and delete, bulk ones included. A quoted word of
# three characters or more is then an index lookup instead of a LIKE over every row
# (crm.alumni.operations). It lives outside the models' metadata: crm.db.schema_filter leaves it
# out when models and migrations are compared. Migration 0007_alumni_speed creates the same.
ALUMNI_SEARCH_TABLE = "alumni_search"
# Alumni whose ids lie in a range of the backlog (SearchBacklog, below) are not in the search tables
# yet: the triggers leave them alone (an FTS5 'delete' of a row it never indexed would corrupt it).
_INDEXED = "NOT EXISTS (SELECT 1 FROM alumni_search_backlog WHERE {row}.id BETWEEN first_id AND last_id)"
_NEW_INDEXED, _OLD_INDEXED = _INDEXED.format(row="new"), _INDEXED.format(row="old")
ALUMNI_SEARCH_DDL = (
    f"CREATE VIRTUAL TABLE {ALUMNI_SEARCH_TABLE} USING fts5(search_text, content='alumni', content_rowid='id',"
    " tokenize='trigram')",
    f"CREATE TRIGGER {ALUMNI_SEARCH_TABLE}_insert AFTER INSERT ON alumni WHEN {_NEW_INDEXED} BEGIN"
    f" INSERT INTO {ALUMNI_SEARCH_TABLE}(rowid, search_text) VALUES (new.id, new.search_text); END",
    f"CREATE TRIGGER {ALUMNI_SEARCH_TABLE}_delete AFTER DELETE ON alumni WHEN {_OLD_INDEXED} BEGIN"
    f" INSERT INTO {ALUMNI_SEARCH_TABLE}({ALUMNI_SEARCH_TABLE}, rowid, search_text) VALUES ('delete', old.id, old.search_text); END",
    f"CREATE TRIGGER {ALUMNI_SEARCH_TABLE}_update AFTER UPDATE ON alumni WHEN old.search_text IS NOT new.search_text"
    f" AND {_OLD_INDEXED} BEGIN"
    f" INSERT INTO {ALUMNI_SEARCH_TABLE}({ALUMNI_SEARCH_TABLE}, rowid, search_text) VALUES ('delete', old.id, old.search_text);"
    f" INSERT INTO {ALUMNI_SEARCH_TABLE}(rowid, search_text) VALUES (new.id, new.search_text); END",
)

# Words of one or two characters are too short for trigrams: they match the start of a word of a
# name (family, given or katakana name; ジョン・スミス is two words), through a prefix index. On
# SQLite an FTS5 table over the three name columns, its words split by the unicode61 tokenizer
# (case folded, accents kept, as the substring search keeps them) with one- and two-character
# prefixes indexed; on PostgreSQL a GIN index over the same words ('simple' text search), below.
# Migration 0010_alumni_scope creates both.
ALUMNI_NAMES_TABLE = "alumni_names"
_NAME_COLUMNS = ("family_name", "given_name", "name_katakana")
_NAME_CHANGED = " OR ".join(f"old.{column} IS NOT new.{column}" for column in _NAME_COLUMNS)
_NAMES, _OLD_NAMES, _NEW_NAMES = (", ".join(f"{prefix}{column}" for column in _NAME_COLUMNS) for prefix in ("", "old.", "new."))
ALUMNI_NAMES_DDL = (
    f"CREATE VIRTUAL TABLE {ALUMNI_NAMES_TABLE} USING fts5({_NAMES}, content='alumni', content_rowid='id',"
    " tokenize='unicode61 remove_diacritics 0', prefix='1 2')",
    f"CREATE TRIGGER {ALUMNI_NAMES_TABLE}_insert AFTER INSERT ON alumni WHEN {_NEW_INDEXED} BEGIN"
    f" INSERT INTO {ALUMNI_NAMES_TABLE}(rowid, {_NAMES}) VALUES (new.id, {_NEW_NAMES}); END",
    f"CREATE TRIGGER {ALUMNI_NAMES_TABLE}_delete AFTER DELETE ON alumni WHEN {_OLD_INDEXED} BEGIN"
    f" INSERT INTO {ALUMNI_NAMES_TABLE}({ALUMNI_NAMES_TABLE}, rowid, {_NAMES}) VALUES ('delete', old.id, {_OLD_NAMES}); END",
    f"CREATE TRIGGER {ALUMNI_NAMES_TABLE}_update AFTER UPDATE ON alumni WHEN ({_NAME_CHANGED}) AND {_OLD_INDEXED} BEGIN"
    f" INSERT INTO {ALUMNI_NAMES_TABLE}({ALUMNI_NAMES_TABLE}, rowid, {_NAMES}) VALUES ('delete', old.id, {_OLD_NAMES});"
    f" INSERT INTO {ALUMNI_NAMES_TABLE}(rowid, {_NAMES}) VALUES (new.id, {_NEW_NAMES}); END",
)

class SearchBacklog(db.Model):
    """SQLite: a range of alumni ids inserted in bulk by the open transaction, which the search
    triggers skip; crm.alumni.operations.index_now fills the two FTS5 tables for the whole range in
    one statement each and removes the range before the transaction commits. Row by row, the
    triggers' inserts into the FTS5 tables take most of an imported alumnus's insert time.
    PostgreSQL maintains its search indexes itself and uses no backlog."""

    __tablename__ = "alumni_search_backlog"

    id: Mapped[int] = mapped_column(primary_key=True)
    first_id: Mapped[int]
    last_id: Mapped[int]


# SQLite's search tables and how each is filled from rows already there (an existing database
# gaining the table).
SEARCH_TABLES = {
    ALUMNI_SEARCH_TABLE: ALUMNI_SEARCH_DDL,
    ALUMNI_NAMES_TABLE: ALUMNI_NAMES_DDL,
}
for _table, _ddl in SEARCH_TABLES.items():
    UNMODELLED_TABLES.add(_table)
    for _statement in _ddl:
        event.listen(Alumnus.__table__, "after_create", DDL(_statement).execute_if(dialect="sqlite"))
    # The triggers go with the alumni table; the virtual table must go too, or a recreated registry
    # would inherit the old rows' index.
    event.listen(Alumnus.__table__, "before_drop", DDL(f"DROP TABLE IF EXISTS {_table}").execute_if(dialect="sqlite"))


def search_table_rebuild(table: str) -> str:
    return f"INSERT INTO {table}({table}) VALUES ('rebuild')"


# PostgreSQL's words of the names. The index is created by DDL of its own (alembic cannot compare an
# expression index when the models are checked against SQLite); a query's expression must be the
# index's own for the planner to use it, so the literals are written out, not bound.
_SPACE = text("' '")
NAME_WORDS = func.to_tsvector(
    text("'simple'"),
    Alumnus.family_name.concat(_SPACE).concat(Alumnus.given_name).concat(_SPACE)
    .concat(func.coalesce(Alumnus.name_katakana, text("''"))),
)
POSTGRESQL_SEARCH_INDEXES = {
    "ix_alumni_name_words": "CREATE INDEX ix_alumni_name_words ON alumni USING gin"
                            " (to_tsvector('simple', family_name || ' ' || given_name || ' ' || coalesce(name_katakana, '')))",
}
for _index, _statement in POSTGRESQL_SEARCH_INDEXES.items():
    UNMODELLED_INDEXES.add(_index)
    event.listen(Alumnus.__table__, "after_create", DDL(_statement).execute_if(dialect="postgresql"))
