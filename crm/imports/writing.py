"""The commit: rows in batches, each written in a transaction of its own with its undo (other
users' saves wait for one batch at most, on SQLite), made final by a last transaction with the job's
"done" state; a commit that fails, or was cut short, is undone."""
from __future__ import annotations

import contextlib
import functools
import os
import pickle
import time
from types import SimpleNamespace

from sqlalchemy import delete, select
from sqlalchemy.orm import selectinload

from crm import audit, tasks
from crm.access import scoped
from crm.alumni import operations as alumni_operations
from crm.alumni.models import Alumnus, Placement
from crm.db import insert_rows, reading, utcnow, writers_waited_since
from crm.extensions import db
from crm.formats.decoding import ImportFileError
from crm.imports.checking import RowErrors, checked_ahead, open_table, problem_of
from crm.imports.matching import Matcher
from crm.imports.models import ImportJob, ImportUndo, JobState
from crm.imports.progress import Heartbeat, finish, progress_key
from crm.imports.storage import checked_values, drop_upload, fingerprint, max_rows, open_upload, read_checked
from crm.imports.targets import ALUMNUS_FIELDS
from crm.references import referencing_columns


def apply_job(job: ImportJob, fail_after_rows: int | None = None) -> None:
    """The commit pass: the rows in batches, each written in a transaction of its own with its undo
    (`_write_batch`), then the job made final in one last transaction. Raises nothing for bad rows:
    a file that no longer checks out (or was never checked: the CLI checks while it commits) is
    reported, every bad row of it, and what was written is undone — as it is when the commit fails,
    or (when the commit starts again) when an earlier attempt was cut short."""
    errors = RowErrors()
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    job_id, prefecture_id = job.id, job.prefecture_id
    applied = 0
    job_fingerprint = fingerprint(job)
    checked = checked_values(job, job_fingerprint)
    undo_commit(job_id)
    try:
        with reading():  # no write lock for reading whom the importer already reaches
            matcher = Matcher(prefecture_id)
            db.session.commit()
        with contextlib.ExitStack() as stack:
            if checked is not None:  # the file and settings the check passed: its rows, not checked again
                beat = Heartbeat(job_id, "applying", None, checked.size)
                batches = read_checked(checked)
            else:
                fileobj = stack.enter_context(open_upload(job))
                table = stack.enter_context(open_table(job, fileobj, max_rows()))
                beat = Heartbeat(job_id, "applying", fileobj, job.size)
                batches = stack.enter_context(checked_ahead(job, table, fileobj, errors))
            sqlite = db.session.get_bind().dialect.name == "sqlite"
            for position, batch in batches:
                if not errors:  # after the first bad row, the rest is only checked: every bad row is reported
                    # SQLite: small transactions only while other users write (a writer waited
                    # lately); alone, the import writes a whole checked batch at a time.
                    step = SQLITE_WRITE_ROWS if sqlite and writers_waited_since(
                        db.engine, time.time() - OTHERS_WROTE_LATELY_SECONDS) else len(batch)
                    for start in range(0, len(batch), step):
                        _write_batch(job_id, batch[start:start + step], matcher, prefecture_id, counts)
                applied += len(batch)
                beat(position)  # progress: the share of the file whose rows are written
                _pause_between_batches()
                if fail_after_rows is not None and applied >= fail_after_rows:
                    raise RuntimeError("injected failure in the middle of an import")
    except ImportFileError as error:
        db.session.rollback()
        undo_commit(job_id)
        finish(job, JobState.VALIDATED, problem=problem_of(error))
        return
    except BaseException:
        db.session.rollback()
        undo_commit(job_id)
        raise
    if errors:
        db.session.rollback()
        undo_commit(job_id)
        finish(job, JobState.VALIDATED, **errors.outcome(job), row_count=applied + errors.rejected)
        return
    job = db.session.merge(job)
    job.created_count, job.updated_count, job.unchanged_count = counts["created"], counts["updated"], counts["unchanged"]
    job.state, job.finished_at, job.errors, job.row_count = JobState.DONE, utcnow(), [], applied
    audit.record_event("import", ImportJob.__tablename__, job.id, target=job.target, filename=job.filename,
                       prefecture=prefecture_id, **counts)
    db.session.execute(delete(ImportUndo).where(ImportUndo.job_id == job_id))  # final: nothing to undo any more
    drop_upload(job)
    db.session.commit()
    tasks.forget(progress_key(job_id))


def _pause_between_batches() -> None:
    """A test hook: CRM_IMPORT_BATCH_PAUSE=seconds slows the commit down between batches, so a test
    can kill the worker in the middle of it (tests/test_imports_kill.py)."""
    pause = os.environ.get("CRM_IMPORT_BATCH_PAUSE")
    if pause:
        time.sleep(float(pause))


# --- Writing in batches, undone on failure ------------------------------------------------------------------
# SQLite has one writer: an import writes at most this many rows a transaction (a few tenths of a
# second of the write lock on a busy two-core machine), so that another user's save waits for no more.
SQLITE_WRITE_ROWS = 1000
# Between two batches of an import SQLite's write lock is free for this long: longer than the
# longest sleep of its busy handler (100 ms), so a save that waited takes the lock before the next batch.
BATCH_PAUSE_SECONDS = 0.12
# The pause goes on while other users keep committing (several saves were waiting: each takes its
# turn), up to this many pauses between two batches.
BATCH_PAUSES_AT_MOST = 4
# Other users count as writing while one of them waited for the write lock this recently.
OTHERS_WROTE_LATELY_SECONDS = 30.0
# A writer that began waiting this long before a batch began is let in after it too (it may have
# found the lock taken by the batch before and still be asleep in its busy handler).
WAITED_JUST_BEFORE_SECONDS = 1.0


def _write_batch(job_id: int, batch: list[tuple[int, dict]], matcher: Matcher, prefecture_id: int, counts: dict) -> None:
    """One batch in a transaction of its own: its rows, their search entries (SQLite) and its undo.
    Other users' saves wait for one batch at most, never for the whole file."""
    started = time.time()
    backlog = alumni_operations.index_later()
    undo = _apply_batch(batch, matcher, prefecture_id, counts)
    alumni_operations.index_now(backlog)
    db.session.add(ImportUndo(job_id=job_id, data=pickle.dumps(undo, protocol=pickle.HIGHEST_PROTOCOL)))
    db.session.commit()
    # Pausing when nobody waited cost a 100,000-row import 12 s: only a writer that found the lock
    # taken since the batch began (or just before) is let in.
    if db.session.get_bind().dialect.name == "sqlite" and writers_waited_since(db.engine, started - WAITED_JUST_BEFORE_SECONDS):
        _let_other_writers_in()


def _let_other_writers_in() -> None:
    """SQLite: leave the write lock free until a pause passes in which nobody else committed, so that
    every save that waited behind the batch goes before the next one (PRAGMA data_version changes
    when another connection commits)."""
    with reading(), db.engine.connect() as connection:
        seen = _data_version(connection)
        for _pause in range(BATCH_PAUSES_AT_MOST):
            time.sleep(BATCH_PAUSE_SECONDS)
            version = _data_version(connection)
            if version == seen:
                return
            seen = version


def _data_version(connection) -> int:
    version = connection.exec_driver_sql("PRAGMA data_version").scalar_one()
    connection.rollback()
    return version


def _apply_batch(batch: list[tuple[int, dict]], matcher: Matcher, prefecture_id: int, counts: dict) -> dict:
    """Write a batch's rows → its undo: {"alumni": ids created, "placements": ids created,
    "replaced": [(model name, id, version written, values replaced)]}."""
    matched = {number: matcher.find(values) for number, values in batch}
    existing_ids = {alumnus_id for alumnus_id in matched.values() if alumnus_id and alumnus_id > 0}
    existing = {}
    if existing_ids:
        statement = scoped(Alumnus).where(Alumnus.id.in_(existing_ids)).options(selectinload(Alumnus.placements))
        existing = {alumnus.id: alumnus for alumnus in db.session.scalars(statement)}
    new_rows: list[dict] = []
    pending: dict = {}  # a person new in this batch, by email and name: later rows add placements
    replaced: list[tuple[object, dict]] = []
    added: list[Placement] = []
    for number, values in batch:
        alumnus = existing.get(matched[number])
        if alumnus is not None:
            counts["updated" if _update_alumnus(alumnus, values, prefecture_id, replaced, added) else "unchanged"] += 1
            continue
        keys = [address for address in (values["alumnus"].get("email"), values["alumnus"].get("email_secondary")) if address]
        keys = keys or [values["latin_key"]]
        earlier = next((pending[key] for key in keys if key in pending), None)
        if earlier is not None:
            earlier["more_placements"].append(values["placement"])
            counts["updated"] += 1
            continue
        values["more_placements"] = []
        new_rows.append(values)
        for key in keys:
            pending[key] = values
    db.session.flush()
    undo = {"alumni": [], "placements": [placement.id for placement in added],
            "replaced": [(type(record).__name__, record.id, record.version, old) for record, old in replaced]}
    if new_rows:
        _create_alumni(new_rows, matcher, prefecture_id, undo)
        counts["created"] += len(new_rows)
    # Keep the session small: what was written is flushed, nothing of it is needed again.
    db.session.expunge_all()
    return undo


def _update_alumnus(alumnus: Alumnus, values: dict, prefecture_id: int, replaced: list, added: list) -> bool:
    """Bring an existing record in line with its row; what it replaces goes to `replaced` (record,
    old values) and a placement it adds to `added`, for the batch's undo."""
    changed = {key: value for key, value in values["alumnus"].items() if getattr(alumnus, key) != value}
    if changed:
        replaced.append((alumnus, {key: getattr(alumnus, key) for key in changed}))
        alumni_operations.set_fields(alumnus, changed)
    placement_values = values["placement"]
    present = values["placement_present"]
    placement = next((p for p in alumnus.placements
                      if p.prefecture_id == prefecture_id and p.start_year == placement_values["start_year"]), None)
    if placement is None:
        added.append(alumni_operations.add_placement(alumnus, {"prefecture_id": prefecture_id, **placement_values}))
        return True
    placement_old = {key: getattr(placement, key) for key in present if getattr(placement, key) != placement_values[key]}
    if placement_old:
        replaced.append((placement, placement_old))
        for key in placement_old:
            setattr(placement, key, placement_values[key])
    return bool(changed) and db.session.is_modified(alumnus) or bool(placement_old)


def undo_commit(job_id: int) -> None:
    """Undo what a commit of the job wrote and did not make final, newest batch first, each batch in
    a transaction of its own (as it was written). A record someone changed since the import wrote
    it stays as they left it: an edited value is not put back, and a created record that was edited
    or that other rows now point at is kept (an import of the file again then finds it)."""
    while True:
        undo = db.session.scalar(select(ImportUndo).where(ImportUndo.job_id == job_id)
                                 .order_by(ImportUndo.id.desc()).limit(1))
        if undo is None:
            db.session.rollback()
            return
        _undo_batch(job_id, pickle.loads(undo.data))  # noqa: S301 — the server's own row (see ImportUndo)
        db.session.delete(undo)
        db.session.commit()


UNDO_MODELS = {model.__name__: model for model in (Alumnus, Placement)}


def _undo_batch(job_id: int, undo: dict) -> None:
    for model_name, record_id, version, old in reversed(undo["replaced"]):
        record = db.session.get(UNDO_MODELS[model_name], record_id)
        if record is None or record.version != version:
            continue
        if isinstance(record, Alumnus):
            alumni_operations.set_fields(record, old)
        else:
            for key, value in old.items():
                setattr(record, key, value)
    created_placements = set(undo["placements"])
    for placement in db.session.scalars(select(Placement).where(Placement.id.in_(created_placements))):
        if placement.version == 1 and placement.alumnus_id not in undo["alumni"]:
            db.session.delete(placement)
    db.session.flush()
    removable = _untouched_since_import(undo["alumni"], created_placements)
    if removable:
        db.session.execute(delete(Placement).where(Placement.alumnus_id.in_(removable)))
        db.session.execute(delete(Alumnus).where(Alumnus.id.in_(removable)))
        audit.record_bulk_deletes(Alumnus.__tablename__, removable, import_job=job_id)


def _untouched_since_import(created: list[int], created_placements: set[int]) -> list[int]:
    """Of the alumni an import created, those nobody has edited, placed or pointed at since."""
    if not created:
        return []
    untouched = set(db.session.scalars(select(Alumnus.id).where(Alumnus.id.in_(created), Alumnus.version == 1)))
    for column in referencing_columns(Alumnus.__table__):
        others = select(column).where(column.in_(untouched))
        if column.table is Placement.__table__:
            others = others.where(Placement.id.not_in(created_placements) | (Placement.version != 1))
        untouched -= set(db.session.scalars(others))
    return sorted(untouched)


@functools.lru_cache(maxsize=1 << 16)
def _normalised_names(family: str | None, given: str | None, katakana: str | None) -> dict:
    """The katakana and name keys exactly as `set_fields` stores them for a record created on the
    form; names repeat a lot in a large file, so they are worked out once per name."""
    record = SimpleNamespace(family_name=family, given_name=given, name_katakana=katakana)
    alumni_operations.set_fields(record, {})
    return {key: getattr(record, key) for key in ("name_katakana", "latin_key", "kana_key")}


_EMPTY_ALUMNUS = {key: None for key in ALUMNUS_FIELDS} | {"contact_consent": False}


def _new_alumnus_row(values: dict, now) -> dict:
    row = _EMPTY_ALUMNUS | values["alumnus"]
    row |= _normalised_names(row["family_name"], row["given_name"], row["name_katakana"])
    # The model's default language for a new person: Japanese for a Japanese citizen, else English.
    language = "ja" if row.get("citizenship") == "JP" else "en"
    return row | {"created_at": now, "updated_at": now, "version": 1, "cease_use": False, "preferred_language": language}


def _create_alumni(new_rows: list[dict], matcher: Matcher, prefecture_id: int, undo: dict) -> None:
    now = utcnow()
    rows = [_new_alumnus_row(values, now) for values in new_rows]
    # Core inserts of many rows at once (no ORM objects: nothing of them is needed again).
    connection = db.session.connection()
    ids = insert_rows(connection, Alumnus.__table__, rows)
    placements = [{"alumnus_id": alumnus_id, "prefecture_id": prefecture_id, "version": 1, **placement}
                  for alumnus_id, values in zip(ids, new_rows, strict=True)
                  for placement in (values["placement"], *values["more_placements"])]
    undo["alumni"].extend(ids)
    undo["placements"].extend(insert_rows(connection, Placement.__table__, placements))
    placed: dict[int, list[dict]] = {}
    for placement in placements:
        placed.setdefault(placement["alumnus_id"], []).append(placement)
    audit.record_bulk_creates(Alumnus.__tablename__, [(alumnus_id, row | {"placements": placed[alumnus_id]})
                                                      for alumnus_id, row in zip(ids, rows, strict=True)], parts="placements")
    for alumnus_id, values in zip(ids, new_rows, strict=True):
        matcher.remember(alumnus_id, values)
