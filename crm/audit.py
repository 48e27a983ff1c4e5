"""The audit trail: who changed, viewed or exported what, and when (APPI access records).

Changes are captured from the ORM itself (`after_flush`), so no operation can forget to log one:
every model that mixes in `Audited` gets a row per create, update and delete with each changed
field's old and new value, written in the same transaction as the change. Views and exports are
recorded explicitly through `record_view` / `record_event`, on their own short transaction so a
read-only page never has to upgrade its own transaction to a write. Rows an import inserts in bulk
(crm.db.insert_rows) bypass the flush: `record_bulk_creates` writes their "create" entries, one per
new person with the placements created with them inside it.

Entries are append-only: the ORM refuses to update or delete them, and no route offers to.
"""
from __future__ import annotations

import logging
import re
from contextvars import ContextVar
from datetime import date, datetime
from decimal import Decimal
from enum import Enum

from flask import has_request_context, request
from flask_login import current_user
from sqlalchemy import JSON, ForeignKey, String, event, insert, inspect
from sqlalchemy.orm import Mapped, Session, mapped_column

from crm.db import UTCDateTime, insert_many, utcnow, write_intent, writing
from crm.extensions import db

log = logging.getLogger("crm.audit")

# Who acts outside a request (CLI commands, workers): set by `acting_as`.
_background_actor: ContextVar[str] = ContextVar("background_actor", default="system")

# Never copied into the trail: secrets and bookkeeping columns.
ALWAYS_EXCLUDED = frozenset({"password_hash", "session_version", "version", "updated_at", "token"})
# What a log reader may take for the end of a line: every control character (Unicode category Cc:
# C0, DEL and C1, NEL U+0085 among them) and the line and paragraph separators (Zl U+2028, Zp U+2029),
# which Unicode-aware readers (journald's JSON, browsers, editors) break lines on.
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


class Audited:
    """Mixin: changes to this model are written to the audit trail. `__audit_exclude__` hides fields."""

    __audit_exclude__: frozenset[str] = frozenset()


class AuditEntry(db.Model):
    __tablename__ = "audit_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    actor: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(30), index=True)
    record_type: Mapped[str | None] = mapped_column(String(60), index=True)
    record_id: Mapped[str | None] = mapped_column(String(60), index=True)
    changes: Mapped[dict | None] = mapped_column(JSON)
    details: Mapped[dict | None] = mapped_column(JSON)
    ip: Mapped[str | None] = mapped_column(String(45))


@event.listens_for(AuditEntry, "before_update")
@event.listens_for(AuditEntry, "before_delete")
def _refuse_rewriting(_mapper, _connection, _target):
    raise PermissionError("audit entries are append-only")


class acting_as:
    """Context manager naming the actor of changes made outside a request, e.g. `cli:seed-demo`, or
    by someone who is not a user, in a request nobody is signed in to (`alumnus:17` through a link)."""

    def __init__(self, label: str):
        self.label = label

    def __enter__(self):
        self._token = _background_actor.set(self.label)
        return self

    def __exit__(self, *_exc):
        _background_actor.reset(self._token)


def _actor() -> tuple[int | None, str, str | None]:
    if has_request_context():
        ip = request.remote_addr
        # A person acting through their personal link (crm/selfservice) is named by `acting_as`,
        # even when the browser is also signed in to a staff account.
        label = _background_actor.get()
        if label != "system":
            return None, label, ip
        if getattr(current_user, "is_authenticated", False):
            return current_user.id, current_user.email, ip
        return None, "anonymous", ip
    return None, _background_actor.get(), None


_JSON_NATIVE = frozenset({str, int, float, bool})


def _plain(value):
    """A JSON-safe copy of a column value."""
    if type(value) in _JSON_NATIVE:
        return value
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    return value


def _excluded(instance) -> frozenset[str]:
    return ALWAYS_EXCLUDED | type(instance).__audit_exclude__


def _changes(instance, action: str) -> dict:
    state = inspect(instance)
    changes = {}
    for column_attr in state.mapper.column_attrs:
        key = column_attr.key
        if key in _excluded(instance):
            history = state.attrs[key].history
            if action == "update" and history.has_changes():
                changes[key] = {"changed": True}
            continue
        if action == "create":
            value = getattr(instance, key)
            if value is not None:
                changes[key] = {"old": None, "new": _plain(value)}
        elif action == "delete":
            # Only what was loaded: the row is already gone, so nothing more can be read.
            if key in state.dict and state.dict[key] is not None:
                changes[key] = {"old": _plain(state.dict[key]), "new": None}
        else:
            history = state.attrs[key].history
            if history.has_changes():
                old = history.deleted[0] if history.deleted else None
                new = history.added[0] if history.added else None
                if old != new:
                    changes[key] = {"old": _plain(old), "new": _plain(new)}
    return changes


def _record_id(instance) -> str:
    # From the mapper, not the identity key: new rows get their key only after the flush ends.
    key = inspect(instance).mapper.primary_key_from_instance(instance)
    return ",".join(str(part) for part in key)


@event.listens_for(Session, "after_flush")
def _capture_changes(session, _flush_context):
    actor_id, actor, ip = _actor()
    rows = []
    for action, instances in (("create", session.new), ("update", session.dirty), ("delete", session.deleted)):
        for instance in instances:
            if not isinstance(instance, Audited):
                continue
            if action == "update" and not session.is_modified(instance, include_collections=False):
                continue
            changes = _changes(instance, action)
            if action == "update" and not changes:
                continue
            rows.append(
                {
                    "at": utcnow(),
                    "actor_id": actor_id,
                    "actor": actor,
                    "action": action,
                    "record_type": instance.__tablename__,
                    "record_id": _record_id(instance),
                    "changes": changes,
                    "ip": ip,
                }
            )
    if rows:
        session.connection().execute(insert(AuditEntry), rows)


def record_event(action: str, record_type: str | None = None, record_id=None, **details) -> None:
    """Append an entry that is not a change: a view, an export, a login, a denial.

    In a request that writes, the entry joins the request's own transaction and the caller commits
    it (a second connection would wait for the SQLite write lock this request holds). In a read-only
    request it is written on a short transaction of its own, so the page's read never turns into a
    write.
    """
    actor_id, actor, ip = _actor()
    row = {
        "at": utcnow(),
        "actor_id": actor_id,
        "actor": actor,
        "action": action,
        "record_type": record_type,
        "record_id": None if record_id is None else str(record_id),
        "details": {key: _plain(value) for key, value in details.items()} or None,
        "ip": ip,
    }
    if write_intent.get():
        db.session.execute(insert(AuditEntry), [row])
        return
    with writing(), db.engine.begin() as connection:
        connection.execute(insert(AuditEntry), [row])


def record_bulk_creates(record_type: str, created: list[tuple[object, dict]], parts: str | None = None) -> None:
    """Create entries for rows inserted in bulk (an import), which bypass the ORM's flush: one entry
    per row, in the caller's transaction, in the same shape as the automatic ones. `parts` names a
    key of the values holding rows created with the record (an imported person's placements, each
    with its id): they are recorded inside the record's entry, not as entries of their own, so a
    100,000-row import writes 100,000 entries rather than twice that."""
    actor_id, actor, ip = _actor()
    at = utcnow()
    rows = [
        {"at": at, "actor_id": actor_id, "actor": actor, "action": "create", "record_type": record_type,
         "record_id": str(record_id), "ip": ip,
         "changes": {key: {"old": None, "new": value if type(value) in _JSON_NATIVE
                           else [_plain_values(part) for part in value] if key == parts else _plain(value)}
                     for key, value in values.items() if value is not None and key not in ALWAYS_EXCLUDED}}
        for record_id, values in created
    ]
    insert_many(db.session.connection(), AuditEntry.__table__, rows)


def record_bulk_deletes(record_type: str, record_ids: list, **details) -> None:
    """Entries for rows deleted in bulk (an import undone), which bypass the ORM's flush: one per row,
    in the caller's transaction, saying why in `details`."""
    actor_id, actor, ip = _actor()
    at = utcnow()
    insert_many(db.session.connection(), AuditEntry.__table__, [
        {"at": at, "actor_id": actor_id, "actor": actor, "action": "delete", "record_type": record_type,
         "record_id": str(record_id), "ip": ip, "details": {key: _plain(value) for key, value in details.items()}}
        for record_id in record_ids
    ])


def _plain_values(values: dict) -> dict:
    return {key: _plain(value) for key, value in values.items() if value is not None and key not in ALWAYS_EXCLUDED}


def record_view(instance) -> None:
    """APPI access record: someone opened this individual's record (called from GET views)."""
    record_event("view", instance.__tablename__, _record_id(instance))


def for_log(value) -> str:
    """Render user-supplied text for a log line: control characters (CR, LF, NEL …) and the Unicode
    line and paragraph separators escaped, so input cannot start a forged line."""
    return _CONTROL_CHARACTERS.sub(_escaped, str(value))


def _escaped(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _escaped_argument(value):
    # Numbers keep their type (a %d format); anything else is text by the time it is logged.
    return value if isinstance(value, int | float) else for_log(value)


def escape_log_records() -> None:
    """Escape the message and arguments of every record of the app's loggers ("crm", "crm.*") as it
    is made, before any handler formats it: a log call that forgets `for_log` cannot be forged
    through either (a traceback's own lines are left as they are)."""
    make_record = logging.getLogRecordFactory()
    if getattr(make_record, "escapes_crm_records", False):
        return

    def make_escaped_record(name, level, pathname, lineno, msg, args, *rest, **kwargs):
        if name == "crm" or name.startswith("crm."):
            msg = for_log(msg)
            if args and len(args) == 1 and isinstance(args[0], dict):  # "%(key)s" formats: one mapping
                args = ({key: _escaped_argument(value) for key, value in args[0].items()},)
            elif args:
                args = tuple(_escaped_argument(value) for value in args)
        return make_record(name, level, pathname, lineno, msg, args, *rest, **kwargs)

    make_escaped_record.escapes_crm_records = True
    logging.setLogRecordFactory(make_escaped_record)
