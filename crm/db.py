"""Database plumbing shared by every domain: SQLite settings, write transactions, column helpers.

SQLite is the embedded default. Three settings make it safe for a small office:
- WAL, so readers never wait for the writer;
- a busy timeout, so a writer waits for another writer instead of failing at once (no writer holds
  the lock for long: an import publishes its rows in one transaction and indexes them for search in
  short batches afterwards, see crm.alumni.search_backlog);
- write transactions that begin IMMEDIATE. A plain (deferred) transaction that reads and then
  writes can fail with "database is locked" no matter the timeout, because its read snapshot is
  stale once another writer commits. Taking the write lock at BEGIN makes it wait instead.
Reads (GET requests) keep deferred transactions so they never queue behind a long import.
"""
from __future__ import annotations

import contextlib
import functools
import itertools
import logging
import operator
import os
import sqlite3
from contextvars import ContextVar
from datetime import UTC, datetime

import orjson

from sqlalchemy import JSON, DateTime, String, Table, event, func, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.types import TypeDecorator

from crm.i18n import UnknownCode

log = logging.getLogger("crm.db")

# Long enough to outlast the longest write (an import's publishing transaction: a few seconds for
# 100,000 rows), short enough to answer well inside gunicorn's 30-second worker timeout. Past it the
# user gets "busy, try again" (503), never a 500: see `database_busy`.
SQLITE_BUSY_TIMEOUT_MS = 15000
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

    marker = waiting_marker(engine)

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        if not write_intent.get():
            connection.exec_driver_sql("BEGIN")
        elif marker is None:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            _begin_immediate(connection, marker)


def map_no_memory(engine: Engine) -> None:
    """SQLite: this process reads the database file with read() instead of a memory map (connections
    opened from now on). For a one-shot process that writes a whole file of rows (the CLI import):
    every page a memory map touches counts in its resident memory (~145 MB of a 100,000-row import's
    342 MB peak), and a map saves only lookups it does few of."""
    if engine.dialect.name != "sqlite":
        return
    engine.dispose()

    @event.listens_for(engine, "connect")
    def _no_map(dbapi_connection, _record):
        dbapi_connection.execute("PRAGMA mmap_size=0")


def waiting_marker(engine: Engine) -> str | None:
    """The file a writer touches when it finds SQLite's write lock taken and starts waiting for it
    (None for a database in memory): an import pauses between its batches only when someone waits."""
    database = engine.url.database
    return f"{database}-waiting" if database and database != ":memory:" and not database.startswith("file:") else None


def _begin_immediate(connection: Connection, marker: str) -> None:
    """BEGIN IMMEDIATE, first without waiting: when the lock is taken, say so in the marker file
    (its time), then wait for it as the busy timeout allows."""
    dbapi = connection.connection.driver_connection
    dbapi.execute("PRAGMA busy_timeout=0")
    try:
        dbapi.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as error:
        if "locked" not in str(error) and "busy" not in str(error):
            raise
        with contextlib.suppress(OSError), open(marker, "a"):
            os.utime(marker)
        dbapi.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        dbapi.execute("BEGIN IMMEDIATE")
        return
    dbapi.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")


def writers_waited_since(engine: Engine, since: float) -> bool:
    """Whether a writer found SQLite's write lock taken (and waited) at or after `since` (time.time())."""
    marker = waiting_marker(engine)
    try:
        return marker is not None and os.stat(marker).st_mtime >= since
    except OSError:
        return False


@contextlib.contextmanager
def _intending(write: bool):
    token = write_intent.set(write)
    try:
        yield
    finally:
        write_intent.reset(token)


def reading():
    """Mark transactions begun inside this block as reads (in a POST, what needs no write lock)."""
    return _intending(False)


def read_apart(session, read):
    """`read(session)` in a read transaction of its own, ended at once, its objects kept loaded.

    For what a write request reads before its view (the signed-in account): on SQLite a write
    request's first statement begins its transaction IMMEDIATE, i.e. waits for the write lock, so
    loading the account would wait for any writer, and a request refused before its view (expired
    session, no access, bad CSRF token) would still have queued. Read apart, the request's own
    transaction begins with its first real statement. Inside an open transaction, or when the
    request only reads, `read` simply runs in it."""
    if not write_intent.get() or session.in_transaction():
        return read(session)
    with reading():
        result = read(session)
    # End the (deferred, read) transaction without expiring what it loaded: a deferred transaction
    # that later writes could fail on SQLite once another writer has committed meanwhile.
    expire, session.expire_on_commit = session.expire_on_commit, False
    try:
        session.commit()
    finally:
        session.expire_on_commit = expire
    return result


# SQLSTATEs of PostgreSQL's "wait your turn" failures: lock_not_available (lock_timeout),
# deadlock_detected, serialization_failure. None of them is a fault of the request.
_POSTGRESQL_BUSY = frozenset({"55P03", "40P01", "40001"})


def database_busy(error: BaseException) -> bool:
    """Whether `error` means the database was busy (another writer held what was needed for too
    long), not that anything was wrong: the same request succeeds when tried again."""
    original = getattr(error, "orig", error)
    if getattr(original, "sqlstate", None) in _POSTGRESQL_BUSY:
        return True
    message = str(original).lower()
    return type(original).__name__ == "OperationalError" and ("database is locked" in message or "database is busy" in message)


def writing():
    """Mark transactions begun inside this block as writes (for a GET that must record something)."""
    return _intending(True)


# --- Bulk inserts (imports) ---------------------------------------------------------------------
# The one door for writes in bulk: anything that must follow such writes (caches of figures) hooks
# in here. Rows go to the driver with the columns' own bind processors applied, not through
# SQLAlchemy's per-row parameter handling, which costs more than SQLite's insert itself.

def insert_rows(connection: Connection, table: Table, rows: list[dict]) -> list[int]:
    """Insert many new rows of `table` (all with the same keys) → their ids, in the rows' order (each
    row also gets its "id").

    The ids are taken before the insert (INSERT … RETURNING of many rows in a known order makes
    SQLAlchemy send one statement per row on SQLite): from the table's sequence on PostgreSQL; after
    the highest id on SQLite, whose write transaction (BEGIN IMMEDIATE) keeps every other writer out
    until it ends (a deferred one could not write after another's commit: it fails, never collides).
    """
    if not rows:
        return []
    if connection.dialect.name == "postgresql":
        ids = list(connection.execute(select(func.nextval(func.pg_get_serial_sequence(table.name, "id")))
                                      .select_from(func.generate_series(1, len(rows)))).scalars())
    else:
        highest = connection.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one()
        ids = list(range(highest + 1, highest + 1 + len(rows)))
    for row, row_id in zip(rows, ids, strict=True):
        row["id"] = row_id
    insert_many(connection, table, rows)
    return ids


def insert_many(connection: Connection, table: Table, rows: list[dict], *, wide: bool = False) -> None:
    """Insert many rows of `table`, all with the same keys: COPY on PostgreSQL (an executemany is a
    statement per row there), multi-row VALUES statements on SQLite. `wide` rows (long text: the
    mail outbox) go to SQLite as one executemany instead: for them binding the parameters dominates,
    and one long statement costs more than a short one run many times."""
    if not rows:
        return
    order = tuple(rows[0])
    processors = _bind_processors(connection.dialect, table, order)
    # Values repeat down a column (timestamps, enumerations, flags): each is processed once.
    processed = [(index, process, {} if remember else None) for index, (process, remember) in enumerate(processors) if process]
    values_of = operator.itemgetter(*order) if len(order) > 1 else lambda row: (row[order[0]],)
    parameters = []
    for row in rows:
        values = values_of(row)
        if processed:
            values = list(values)
            for index, process, seen in processed:
                value = values[index]
                if value is None:
                    continue
                if seen is None:
                    values[index] = process(value)
                elif value in seen:
                    values[index] = seen[value]
                else:
                    values[index] = seen[value] = process(value)
            values = tuple(values)
        parameters.append(values)
    if connection.dialect.name == "postgresql":
        preparer = connection.dialect.identifier_preparer
        columns = ", ".join(preparer.format_column(table.c[key]) for key in order)
        with connection.connection.cursor() as cursor, \
                cursor.copy(f"COPY {preparer.format_table(table)} ({columns}) FROM STDIN") as copy:
            for values in parameters:
                copy.write_row(values)
    elif wide:
        preparer = connection.dialect.identifier_preparer
        columns = ", ".join(preparer.format_column(table.c[key]) for key in order)
        connection.exec_driver_sql(f"INSERT INTO {preparer.format_table(table)} ({columns}) "
                                   f"VALUES ({', '.join('?' * len(order))})", parameters)
    else:
        _insert_as_values(connection, table, order, parameters)


def _insert_as_values(connection: Connection, table: Table, keys: tuple[str, ...], parameters: list[tuple]) -> None:
    """SQLite: the rows as multi-row `INSERT … VALUES (…), (…), …` statements, as many rows each as
    SQLite's limit on parameters allows (about a thousand alumni). An executemany runs a statement
    per row: the search tables' FTS5 triggers, where they fire, write their pending terms out at the
    end of every statement (a tiny index segment per row, merged again and again), and every row
    pays for the statement and the triggers' WHEN. A JSON document read back by json_each parses
    the row once a column (README, "Import and export (issue 4)", has the figures). Each statement is one call into
    SQLite, which lets go of Python's GIL for all of it (the import checks the next rows meanwhile)."""
    preparer = connection.dialect.identifier_preparer
    head = (f"INSERT INTO {preparer.format_table(table)} "
            f"({', '.join(preparer.format_column(table.c[key]) for key in keys)}) VALUES ")
    row = f"({', '.join('?' * len(keys))})"
    limit = connection.connection.driver_connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    per_statement = max(1, limit // len(keys))
    for start in range(0, len(parameters), per_statement):
        chunk = parameters[start:start + per_statement]
        connection.exec_driver_sql(head + ", ".join([row] * len(chunk)), tuple(itertools.chain.from_iterable(chunk)))


@functools.lru_cache(maxsize=64)
def _bind_processors(dialect, table: Table, keys: tuple[str, ...]):
    """The columns' bind processors, in the order of `keys` (with whether a processed value may be
    remembered: not for JSON documents, which are not hashable)."""
    defaulted = [column.key for column in table.columns
                 if column.key not in keys and column.default is not None and not column.primary_key]
    if defaulted:  # the ORM would fill these: say so rather than insert something different
        raise ValueError(f"bulk insert into {table.name} without {defaulted}")
    return [(_json_document, False) if isinstance(table.c[key].type, JSON)
            else (table.c[key].type.dialect_impl(dialect).bind_processor(dialect), True)
            for key in keys]


def _json_document(value) -> str:
    """A JSON column's value as text, for both databases (a parameter on SQLite, a COPY field on
    PostgreSQL): orjson, ~5× faster than json.dumps on an import's 100,000 audit documents. The text
    differs (UTF-8 rather than \\u escapes, no spaces), the document read back does not."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


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


# An Integer column (keys, years, counts) holds 32 bits on PostgreSQL, 64 on SQLite; a BigInteger
# column (money) 64 on both. A larger number in a URL or a form is no key and no value.
LARGEST_SMALL_INTEGER = 2**31 - 1
LARGEST_INTEGER = 2**63 - 1


def request_int(value) -> int | None:
    """An integer from a request value (a key, a year, a page), or None when there is none or it is
    out of an Integer column's range (the driver would fail on it: a 500 instead of a 404)."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if -LARGEST_SMALL_INTEGER <= number <= LARGEST_SMALL_INTEGER else None


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
    return StoredEnum(enum_class, length)


class StoredEnum(TypeDecorator):
    """An enumeration kept as its value in a VARCHAR column (what `Enum(native_enum=False)` creates,
    so the schema is the same). Reading never fails: a stored code that no member has — written by
    hand in SQL, by an older version or a bug — comes back as an `UnknownCode` that shows as itself,
    and is logged; SQLAlchemy's Enum raised LookupError there, and every page, merge and export that
    touched the record answered 500 with nothing in the UI able to repair it. Forms refuse such codes
    before anything is written (crm.forms.SelectField)."""

    impl = String
    cache_ok = True

    def __init__(self, enum_class, length: int = 30):
        super().__init__(length)
        self.enum_class = enum_class
        self._members = {member.value: member for member in enum_class}

    def process_bind_param(self, value, dialect):
        return None if value is None else getattr(value, "value", value)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        member = self._members.get(value)
        return member if member is not None else unknown_code(self.enum_class, value)


_reported_codes: set[tuple[str, str]] = set()


def unknown_code(enum_class, value: str) -> UnknownCode:
    """`value` as an UnknownCode of `enum_class`, logged once per process."""
    if (enum_class.__name__, value) not in _reported_codes and len(_reported_codes) < 1000:
        _reported_codes.add((enum_class.__name__, value))
        log.warning("unknown %s code %r in the database: shown as it is", enum_class.__name__, value)
    return UnknownCode(value)


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
