"""Database plumbing shared by every domain: SQLite settings, write transactions, column helpers.

SQLite is the embedded default. Three settings make it safe for a small office:
- WAL, so readers never wait for the writer;
- a busy timeout, so a writer waits for another writer instead of failing at once;
- write transactions that begin IMMEDIATE. A plain (deferred) transaction that reads and then
  writes can fail with "database is locked" no matter the timeout, because its read snapshot is
  stale once another writer commits. Taking the write lock at BEGIN makes it wait instead.
Reads (GET requests) keep deferred transactions so they never queue behind a long import.
"""
from __future__ import annotations

import contextlib
from contextvars import ContextVar
from datetime import UTC, datetime

from sqlalchemy import DateTime, Enum, event
from sqlalchemy.engine import Engine
from sqlalchemy.types import TypeDecorator

SQLITE_BUSY_TIMEOUT_MS = 5000
SQLITE_MMAP_BYTES = 1 << 30

# Whether transactions begun in this context will write. True by default (CLI, workers, tests);
# crm.create_app sets it to False for GET and HEAD requests.
write_intent: ContextVar[bool] = ContextVar("write_intent", default=True)


def configure_engine(engine: Engine) -> None:
    """Apply the SQLite settings above; other databases need nothing here."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy's "begin" event below emit BEGIN instead of pysqlite's own handling.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # Read the file through memory mapping rather than a read() call per page: index lookups
        # into a registry of 100,000 people cost a third as much (address space, not memory).
        cursor.execute(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write_intent.get() else "BEGIN")


@contextlib.contextmanager
def writing():
    """Mark transactions begun inside this block as writes (for a GET that must record something)."""
    token = write_intent.set(True)
    try:
        yield
    finally:
        write_intent.reset(token)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """A timestamp stored in UTC and always returned timezone-aware (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC timestamp")
        return value.astimezone(UTC)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class StaleRecord(Exception):
    """The record changed since the form was loaded; the save is refused (HTTP 409)."""

    def __init__(self, record):
        super().__init__(f"{type(record).__name__} {record.id} changed since it was loaded")
        self.record = record


def check_version(record, submitted_version) -> None:
    """Refuse a save made from a form that showed an older version of `record`."""
    try:
        submitted = int(submitted_version)
    except (TypeError, ValueError):
        raise StaleRecord(record) from None
    if submitted != record.version:
        raise StaleRecord(record)


def enum_column(enum_class, length=30):
    """Enumerations are stored as their string values (portable, readable in SQL)."""
    return Enum(enum_class, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e])


# Tables a domain keeps beside its models, created by DDL of its own (SQLite FTS5 search indexes,
# which bring shadow tables named after them): comparing models with migrations leaves them out.
UNMODELLED_TABLES: set[str] = set()
# Likewise indexes created by DDL of their own: PostgreSQL expression indexes, which alembic cannot
# compare when the same models are checked against SQLite.
UNMODELLED_INDEXES: set[str] = set()


def schema_filter(dialect_name: str):
    """Alembic `include_object`: leave out schema objects meant for another database (`ddl_if`),
    such as PostgreSQL's trigram index, when comparing models with a SQLite schema, and the
    UNMODELLED_TABLES and UNMODELLED_INDEXES."""

    def include_object(obj, name, type_, reflected, _compare_to):
        if type_ == "table" and reflected and any(name == table or name.startswith(f"{table}_") for table in UNMODELLED_TABLES):
            return False
        if type_ == "index" and reflected and name in UNMODELLED_INDEXES:
            return False
        condition = getattr(obj, "_ddl_if", None)
        return condition is None or condition.dialect in (None, dialect_name)

    return include_object
