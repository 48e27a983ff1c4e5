"""Import jobs and exports: the rules behind the wizard, the background worker and the CLI.

Import, in two passes over the stored upload (streamed, never loaded whole):
1. check (`validate_job`): every row through the target's validation (the alumni forms' own
   validators), duplicates inside the file, a preview of the first rows — nothing written but the
   job's outcome;
2. commit (`apply_job`): the rows the check kept (or, when there are none for this file and
   settings, the same checks again, in a thread ahead of the writes), written in batches, each in a
   transaction of its own with its undo (other users' saves wait for one batch at most, on SQLite),
   and made final by a last transaction with the job's "done" state. A bad row found while writing,
   an error or a killed worker: the batches written are undone (for a killed worker, when the
   commit starts again).
The CLI's dry run is the check alone; its import is the commit alone (one read of the file).

Matching and scope (the safe rule for other prefectures' people): an import runs as its importer
and matches rows only against the alumni the importer's prefecture already reaches (email, else
Latin name key + placement start year). A person known only to another prefecture is invisible to the
import exactly as to the list: the row creates a new record in the importer's prefecture, the other
prefecture's record is neither read into the preview or report nor changed, and the preview reads
the same as for a genuinely new person (so an upload cannot probe for or take over other records).
An administrator can merge such records later. Every placement written is in the importer's
prefecture.

Speed: rows are checked with the alumni form's own rules run as plain callables
(crm.imports.form_rules); match keys are loaded once per pass in batches (no SELECT per row); new
records and their placements go in with `crm.db.insert_rows` (one INSERT … SELECT on SQLite, COPY on
PostgreSQL), one audit entry per new person holding its placements; matched records are loaded per
batch of rows and changed through the ORM, so the audit trail shows each change automatically.
"""
from __future__ import annotations

import contextlib
import datetime
import functools
import hashlib
import json
import logging
import os
import pickle
import queue
import secrets
import tempfile
import threading
import time
from collections.abc import Iterator
from types import SimpleNamespace

from flask import current_app, g
from flask_babel import force_locale, get_locale, gettext as _
from flask_login import current_user
from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import selectinload

from crm import audit, tasks
from crm.access import scoped
from crm.alumni import names, operations as alumni_operations
from crm.alumni.models import Alumnus, Placement
from crm.auth.models import Role, User
from crm.db import insert_rows, read_apart, reading, utcnow, write_intent, writing
from crm.extensions import db
from crm.formats.decoding import ImportFileError
from crm.formats.limits import ReadLimits
from crm.formats.readers import VCARD_FIELDS, read_table
from crm.imports import mappings
from crm.imports.models import CheckedBatch, ImportJob, ImportUndo, ImportUpload, JobState
from crm.references import referencing_columns
from crm.imports.targets import ALUMNUS_FIELDS, TARGETS, VCARD_EXTENSIONS, Target, text

log = logging.getLogger("crm.imports")

PREVIEW_ROWS = 20
PROGRESS_EVERY_SECONDS = 0.5
# vCard fields offered for mapping: flattened from the reader's cards (see `_flatten_card`).
VCARD_HEADERS = [name for name in VCARD_FIELDS if name not in ("x_fields", "phones", "version", "family_name_kana",
                                                                "given_name_kana")] + ["name_katakana", *VCARD_EXTENSIONS.values()]


class FileTooLarge(Exception):
    pass


class JobBusy(Exception):
    """The job is not in the state the step needs (e.g. a second click on "Import")."""


# --- Acting as someone outside a request --------------------------------------------------------------

@contextlib.contextmanager
def acting_for(user):
    """Run with `user` as the current user (scope rules and audit actor), outside a request: the
    background worker acts as the importer, the CLI as a prefecture's office."""
    app = current_app._get_current_object()
    with app.test_request_context("/", environ_base={"REMOTE_ADDR": None}):
        g._login_user = user
        yield


def prefecture_office(prefecture_id: int, label: str):
    """A stand-in account for the CLI: prefecture staff of `prefecture_id`, named `label` in the trail."""
    return SimpleNamespace(id=None, email=label, role=Role.PREFECTURE_STAFF, prefecture_id=prefecture_id,
                           association_id=None, locale=None, display_name=label, is_authenticated=True, is_active=True, is_anonymous=False,
                           get_id=lambda: None)


# --- Stored uploads and progress ---------------------------------------------------------------------
# An upload is kept in the database, in parts, and a job's progress in the task queue's store: any web
# server or worker reads them, none keeps them in a folder of its own.

UPLOAD_PART_BYTES = 1 << 20


class UploadGone(ImportFileError):
    """The job's file is no longer kept: the CLI's dry run, a refused upload or a finished import
    discards it, while the job stays listed."""

    code = "upload_gone"
    template = "The uploaded file is no longer kept. Please upload it again."


def open_upload(job: ImportJob):
    """The job's stored file for reading: a temporary copy (readers seek in it, and the parts are read
    once); a file that is gone is a file problem (UploadGone), shown like any other."""
    copy = tempfile.TemporaryFile()
    parts = (select(ImportUpload.data).where(ImportUpload.stored_name == job.stored_name)
             .order_by(ImportUpload.part).execution_options(yield_per=1))
    found = False
    for data in db.session.scalars(parts):
        copy.write(data)
        found = True
    if not found:
        copy.close()
        raise UploadGone()
    copy.seek(0)
    return copy


def upload_kept(job: ImportJob) -> bool:
    """Whether the job's file is still there to be imported (a CLI dry run discards it)."""
    return db.session.scalar(select(ImportUpload.part).where(ImportUpload.stored_name == job.stored_name).limit(1)) is not None


def save_upload(stream, filename: str, target: Target, user, max_bytes: int) -> ImportJob:
    """Store the upload in parts (refusing it past `max_bytes`) and open a job for it; the caller commits."""
    stored_name = f"{secrets.token_hex(16)}.upload"
    size = part = 0
    data = bytearray()
    while True:
        chunk = stream.read(1 << 16)
        size += len(chunk)
        if size > max_bytes:
            db.session.execute(delete(ImportUpload).where(ImportUpload.stored_name == stored_name))
            raise FileTooLarge()
        data += chunk
        # An empty file is kept as one empty part: it is there, it has no rows.
        if len(data) >= UPLOAD_PART_BYTES or not chunk and (data or not part):
            db.session.execute(insert(ImportUpload).values(stored_name=stored_name, part=part, data=bytes(data)))
            part, data = part + 1, bytearray()
        if not chunk:
            break
    job = ImportJob(target=target.name, prefecture_id=user.prefecture_id, created_by_id=user.id,
                    filename=(filename or "upload")[-255:], stored_name=stored_name, size=size, options={})
    db.session.add(job)
    db.session.flush()
    inspect_file(job)
    return job


def discard_upload(job: ImportJob) -> None:
    """Remove the job's upload, the rows its check kept and its progress (in a transaction of its own)."""
    with writing():
        db.session.execute(delete(ImportUpload).where(ImportUpload.stored_name == job.stored_name))
        db.session.execute(delete(CheckedBatch).where(CheckedBatch.job_id == job.id))
        db.session.commit()
    tasks.forget(_progress_key(job.id))


def _progress_key(job_id: int) -> str:
    return f"import-job-{job_id}"


def write_progress(job_id: int, phase: str, fraction: float) -> None:
    """Progress and heartbeat in the queue's store: the commit's transaction holds SQLite's write
    lock, so a progress row in the database could not be written by the worker while it runs."""
    tasks.report(_progress_key(job_id), {"phase": phase, "percent": int(min(max(fraction, 0), 1) * 100), "at": time.time()})


def progress(job: ImportJob) -> dict:
    """{"percent": n, "phase": …, "stale": bool} for the progress bar; stale: a running job whose
    worker has reported nothing for `stale_after` (since the phase began, when it has not yet)."""
    data = tasks.reported(_progress_key(job.id))
    started = job.started_at.timestamp() if job.started_at is not None else None
    if data is None or started is not None and data["at"] < started:  # nothing yet of this phase
        data = {"percent": 0, "phase": job.state.value, "at": started}
    heard = data.pop("at")
    data["stale"] = bool(job.running and heard is not None and time.time() - heard > stale_after().total_seconds())
    return data


def stale_after() -> datetime.timedelta:
    return datetime.timedelta(seconds=current_app.config.get("IMPORT_STALE_SECONDS", 60))


# --- Reading a job's file -------------------------------------------------------------------------------

def _open_table(job: ImportJob, fileobj, max_rows: int | None = None):
    return read_table(fileobj, job.filename, fmt=job.format, sheet=job.sheet, encoding=job.encoding,
                      delimiter=job.delimiter, max_rows=max_rows, limits=ReadLimits.from_config(current_app.config))


def problem_of(error: ImportFileError) -> dict:
    return {"code": error.code, "params": {key: str(value) for key, value in error.params.items()}}


def inspect_file(job: ImportJob, fmt: str | None = None, encoding: str | None = None, delimiter: str | None = None,
                 sheet: str | None = None) -> None:
    """Detect (or apply the user's choice of) format, encoding, delimiter and sheet; read the header
    and suggest the column mapping. A file-level problem is kept in `job.problem`."""
    job.format, job.encoding, job.delimiter, job.sheet = fmt or None, encoding or None, delimiter or None, sheet or None
    job.problem, job.headers, job.errors, job.preview = None, None, None, None
    job.state = JobState.UPLOADED
    try:
        with open_upload(job) as fileobj, _open_table(job, fileobj) as table:
            job.format, job.encoding, job.delimiter = table.format, table.encoding, table.delimiter
            job.sheet = table.sheet
            job.headers = VCARD_HEADERS if table.format == "vcard" else list(table.headers)
            job.options = {**(job.options or {}), "sheets": table.sheet_names}
    except ImportFileError as error:
        job.problem = problem_of(error)
        return
    except LookupError:
        job.problem = {"code": "encoding_unknown", "params": {}}
        return
    target = TARGETS[job.target]
    matches = target.matches(job.headers, job.format)
    job.mapping = target.suggest(job.headers, job.format)
    job.options = {**job.options, "scores": {header: [match.key, match.score] for header, match in matches.items() if match and match.key},
                   "not_kept": [header for header, match in matches.items() if match and match.key is None]}
    job.options.pop("saved_mapping", None)
    job.options.pop("row_edits", None)  # edits name rows and columns of the file as it was read
    if saved := mappings.proposed(job):
        mappings.apply(job, saved)


def unmapped(job: ImportJob) -> list[str]:
    """The file's columns that will not be imported, other than those not kept on purpose."""
    not_kept = set((job.options or {}).get("not_kept") or ())
    return [header for header in job.headers or [] if not (job.mapping or {}).get(header) and header not in not_kept]


def _flatten_card(card: dict) -> dict:
    flat = {key: card.get(key) for key in VCARD_HEADERS if key in card}
    flat["email"] = card.get("emails") or []
    flat["emails"] = flat["email"]
    kana = [part for part in (card.get("family_name_kana"), card.get("given_name_kana")) if part]
    flat["name_katakana"] = "・".join(kana) if kana else None
    for name in VCARD_EXTENSIONS.values():
        values = card.get("x_fields", {}).get(name)
        flat[name] = values[0] if values else None
    return flat


def mapped_rows(job: ImportJob, table) -> Iterator[tuple[int, dict]]:
    """(row number, {column key: raw value}) for the mapped columns; defaults fill empty cells."""
    mapping = {header: key for header, key in (job.mapping or {}).items() if key}
    defaults = {key: value for key, value in (job.options or {}).get("defaults", {}).items() if value}
    joined = TARGETS[job.target].joined
    parts = {key: [header for header, mapped in mapping.items() if mapped == key] for key in joined}
    parts = {key: headers for key, headers in parts.items() if len(headers) > 1}
    edits = (job.options or {}).get("row_edits") or {}
    for number, values in table.rows:
        if job.format == "vcard":
            values = _flatten_card(values)
        if edits and str(number) in edits:
            values = {**values, **edits[str(number)]}
        row = {key: values.get(header) for header, key in mapping.items()}
        for key, headers in parts.items():
            row[key] = joined[key].join(part for header in headers if (part := text(values.get(header))))
        for key, value in defaults.items():
            if not text(row.get(key)) and not (key == "start_year" and text(row.get("period"))):
                row[key] = value
        yield number, row


def save_mapping(job: ImportJob, mapping: dict, defaults: dict) -> list[str]:
    """Keep the user's mapping; → messages for required columns still missing or columns mapped twice."""
    target = TARGETS[job.target]
    keys = [key for key in mapping.values() if key]
    problems = []
    for key in sorted({key for key in keys if keys.count(key) > 1 and key not in target.joined}):
        problems.append(_("“%(column)s” is chosen for more than one column of the file.", column=_column_label(target, key)))
    for group in target.missing_required(set(keys), defaults):
        problems.append(_("Choose a column for “%(column)s”.",
                          column=_(" or ").join(_column_label(target, key) for key in group)))
    job.mapping = {header: key for header, key in mapping.items() if header in (job.headers or [])}
    job.options = {**(job.options or {}), "defaults": defaults}
    return problems


def _column_label(target: Target, key: str) -> str:
    from crm.i18n import is_japanese

    return target.header(target.column(key), is_japanese())


# --- Matching ---------------------------------------------------------------------------------------------

class Matcher:
    """The importer's reachable alumni, by email and by Latin name key + placement start year,
    loaded once in batches."""

    def __init__(self, prefecture_id: int):
        self.prefecture_id = prefecture_id
        self.by_email: dict[str, int] = {}
        # (name key, start year) → (id, whether the record has an email)
        self.by_name: dict[tuple[str, int], tuple[int, bool]] = {}
        reachable = scoped(Alumnus).with_only_columns(Alumnus.id, Alumnus.email, Alumnus.email_secondary)
        for alumnus_id, email, secondary in db.session.execute(reachable.execution_options(yield_per=5000)):
            for address in (email, secondary):
                if address:
                    self.by_email.setdefault(address, alumnus_id)
        # A placement in the importer's prefecture is what puts an alumnus in its scope.
        placed = (select(Placement.alumnus_id, Alumnus.latin_key, Placement.start_year, Alumnus.email)
                  .join(Alumnus, Alumnus.id == Placement.alumnus_id)
                  .where(Placement.prefecture_id == prefecture_id, Alumnus.latin_key != ""))
        for alumnus_id, latin_key, start_year, email in db.session.execute(placed.execution_options(yield_per=5000)):
            self.by_name.setdefault((latin_key, start_year), (alumnus_id, bool(email)))

    def find(self, values: dict) -> int | None:
        alumnus = values["alumnus"]
        for address in (alumnus.get("email"), alumnus.get("email_secondary")):
            if address and address in self.by_email:
                return self.by_email[address]
        # Else the name and placement: but two different emails are two different people, and a name
        # without a Latin key (kanji only) matches nobody.
        found = self.by_name.get((values["latin_key"], values["placement"]["start_year"])) if values["latin_key"] else None
        if found is None or (found[1] and alumnus.get("email")):
            return None
        return found[0]

    def remember(self, alumnus_id: int, values: dict) -> None:
        for address in (values["alumnus"].get("email"), values["alumnus"].get("email_secondary")):
            if address:
                self.by_email.setdefault(address, alumnus_id)
        if values["latin_key"]:
            self.by_name.setdefault((values["latin_key"], values["placement"]["start_year"]),
                                    (alumnus_id, bool(values["alumnus"].get("email"))))


class RowErrors(list):
    """The rows' errors as a job keeps them: the first `IMPORT_MAX_ERRORS` listed, every rejected row
    counted. Listing them all let a small file of bad rows take hundreds of MB (a 6 MB CSV of 100,000
    bad rows: 450,000 entries, ~400 MB in the worker, as much again as JSON on the job's page)."""

    def __init__(self) -> None:
        super().__init__()
        self.limit = current_app.config.get("IMPORT_MAX_ERRORS", 1000)
        self.rows: set[int] = set()

    def append(self, error: dict) -> None:
        self.rows.add(error["row"])
        if len(self) < self.limit:
            super().append(error)

    @property
    def rejected(self) -> int:
        return len(self.rows)

    def outcome(self, job: ImportJob) -> dict:
        """The job's fields that keep them."""
        return {"errors": list(self), "options": {**(job.options or {}), "rejected_rows": self.rejected}}


def error_entries(target: Target, reverse: dict, number: int, raw: dict, row_errors: list) -> list[dict]:
    """A row's errors as the job lists them: the file's column (else the column's name), the message,
    and the cell's value when the error is in one of the file's columns (to correct it in the preview;
    not a column joined from parts, whose value is no single cell's)."""
    return [{"row": number, "column": reverse.get(key) or (key and _column_label(target, key)), "message": message,
             **({"value": text(raw.get(key))} if key in reverse and key not in target.joined else {})}
            for key, message in row_errors]


def _checked_rows(job: ImportJob, table, errors: list, on_row=None) -> Iterator[tuple[int, dict]]:
    """Valid rows with their name key; errors (row, column, message) collected for the others,
    including a second row for the same person (same email, or same name and start year)."""
    target = TARGETS[job.target]
    reverse = {key: header for header, key in (job.mapping or {}).items() if key}
    seen_email: dict[tuple[str, int], int] = {}
    seen_name: dict[tuple[str, int], int] = {}
    validate = target.row_check()
    for number, raw in mapped_rows(job, table):
        if on_row:
            on_row(number, raw)
        values, row_errors = validate(raw)
        if values is None:
            for error in error_entries(target, reverse, number, raw, row_errors):
                errors.append(error)
            continue
        values["latin_key"] = _latin_key(values["alumnus"].get("family_name") or "", values["alumnus"].get("given_name") or "")
        # The same person may come twice with different placements; twice with the same start year
        # is a duplicate row.
        year = values["placement"]["start_year"]
        first = None
        for address in (values["alumnus"].get("email"), values["alumnus"].get("email_secondary")):
            if address:
                first = first or seen_email.get((address, year))
                seen_email.setdefault((address, year), number)
        if not values["alumnus"].get("email") and values["latin_key"]:  # without an email, the name and year decide
            name = (values["latin_key"], year)
            first = first or seen_name.get(name)
            seen_name.setdefault(name, number)
        if first:
            errors.append({"row": number, "column": None,
                           "message": _("The same person and placement as row %(row)s (same email, or same name, and the same start year).", row=first)})
            continue
        yield number, values


def _max_rows() -> int:
    return current_app.config.get("IMPORT_MAX_ROWS", 100_000)


def _batch_rows() -> int:
    return current_app.config["IMPORT_BATCH_ROWS"]


class _Heartbeat:
    def __init__(self, job_id: int, phase: str, fileobj, size: int):
        self.job_id, self.phase, self.fileobj, self.size = job_id, phase, fileobj, max(size, 1)
        self.last = 0.0

    def __call__(self, position: int | None = None):
        """`position`: how far into the file the work is (default: how far it has been read)."""
        now = time.monotonic()
        if now - self.last >= PROGRESS_EVERY_SECONDS:
            self.last = now
            with contextlib.suppress(ValueError, OSError):
                write_progress(self.job_id, self.phase, (self.fileobj.tell() if position is None else position) / self.size)


# --- What the check found, kept for the commit ----------------------------------------------------------
# The check keeps every valid row's values in the database under the job's fingerprint (the upload's
# bytes and every setting that decides how rows are read and validated). The commit reads the rows
# from there when the fingerprint is still the same, and checks the file again otherwise: rows are
# validated once, not twice, and never trusted across a change of file or mapping.

def fingerprint(job: ImportJob) -> str:
    digest = hashlib.sha256()
    with open_upload(job) as fileobj:
        while chunk := fileobj.read(1 << 20):
            digest.update(chunk)
    settings = {"target": job.target, "format": job.format, "encoding": job.encoding, "delimiter": job.delimiter,
                "sheet": job.sheet, "mapping": job.mapping, "defaults": (job.options or {}).get("defaults"),
                "row_edits": (job.options or {}).get("row_edits"),
                "prefecture": job.prefecture_id, "max_rows": _max_rows(),
                "kept": CHECKED_FORMAT}  # rows kept in another layout are never read: checked again
    digest.update(json.dumps(settings, sort_keys=True, default=str).encode())
    return digest.hexdigest()


class _Kept(SimpleNamespace):
    """Where a check's complete rows are: `job_id`, `fingerprint`, how many `parts`, their `size` in bytes."""


def _checked_values(job: ImportJob, job_fingerprint: str) -> _Kept | None:
    """The valid rows the last check kept, or None when there are none (complete) for this fingerprint."""
    checked = (job.options or {}).get("checked") or {}
    if checked.get("fingerprint") != job_fingerprint:
        return None
    end = db.session.scalar(select(CheckedBatch.data).where(
        CheckedBatch.job_id == job.id, CheckedBatch.fingerprint == job_fingerprint, CheckedBatch.part == _END))
    return None if end is None else _Kept(job_id=job.id, fingerprint=job_fingerprint, **json.loads(end))


# The layout of kept rows: a pickle of a list of (row number, values) a batch of rows.
CHECKED_FORMAT = 3
# The part that ends a complete set of kept rows: without it, the rows are an interrupted check's.
_END = -1


class _KeptRows:
    """A check's valid rows, kept a batch at a time, each in a short transaction of its own: the
    check itself holds no write lock, and the rows of an earlier check of the job go first."""

    def __init__(self, job: ImportJob, job_fingerprint: str):
        self.job_id, self.fingerprint = job.id, job_fingerprint
        self.batch_rows = _batch_rows()
        self.rows: list[tuple[int, dict]] = []
        self.parts = self.size = 0
        self._write(delete(CheckedBatch).where(CheckedBatch.job_id == self.job_id))

    def _write(self, statement) -> None:
        with writing(), db.engine.begin() as connection:
            connection.execute(statement)

    def _store(self, part: int, data: bytes) -> None:
        self._write(insert(CheckedBatch).values(job_id=self.job_id, fingerprint=self.fingerprint, part=part, data=data))

    def add(self, row: tuple[int, dict]) -> None:
        self.rows.append(row)
        if len(self.rows) >= self.batch_rows:
            self._flush()

    def _flush(self) -> None:
        # Pickle, not JSON: the rows are the server's own (written by the check, read by the commit,
        # never uploaded), and it keeps enumerations, dates and sets as they are, at a fraction of
        # the cost. A batch of rows a pickle: the keys and repeated values are written once a batch.
        data = pickle.dumps(self.rows, protocol=pickle.HIGHEST_PROTOCOL)
        self._store(self.parts, data)
        self.parts, self.size, self.rows = self.parts + 1, self.size + len(data), []

    def close(self, keep: bool) -> _Kept | None:
        """→ the rows, complete (keep), or None (removed)."""
        if not keep:
            self._write(delete(CheckedBatch).where(CheckedBatch.job_id == self.job_id))
            return None
        if self.rows:
            self._flush()
        self._store(_END, json.dumps({"parts": self.parts, "size": self.size}).encode())
        return _Kept(job_id=self.job_id, fingerprint=self.fingerprint, parts=self.parts, size=self.size)


def _read_checked(kept: _Kept) -> Iterator[tuple[int, list[tuple[int, dict]]]]:
    """(bytes read after the batch, batch of rows) for each batch the check kept; one part read at a
    time, in the caller's transaction."""
    position = 0
    for part in range(kept.parts):
        data = db.session.scalar(select(CheckedBatch.data).where(
            CheckedBatch.job_id == kept.job_id, CheckedBatch.fingerprint == kept.fingerprint, CheckedBatch.part == part))
        position += len(data)
        yield position, pickle.loads(data)


def _name_as_read(values: dict) -> str | None:
    """A person's name as it will be stored, "family, given": the preview shows how a 氏名 cell was
    split before anything is written."""
    person = values.get("alumnus", values)
    if "family_name" not in person:
        return None
    return ", ".join(part for part in (person["family_name"], person.get("given_name")) if part)


def validate_job(job: ImportJob) -> None:
    """The check pass: errors, row count and preview into the job; nothing else is written."""
    errors = RowErrors()
    preview: list[dict] = []
    count = 0
    problem = None
    token = write_intent.set(False)  # reads only: never hold SQLite's write lock while checking
    try:
        job_fingerprint = fingerprint(job)
        kept = _KeptRows(job, job_fingerprint)
        matcher = Matcher(job.prefecture_id)
        raw_rows: dict[int, dict] = {}

        def keep_raw(number, raw):
            if len(raw_rows) < PREVIEW_ROWS and number not in raw_rows:
                raw_rows[number] = {key: text(value) for key, value in raw.items()}

        with open_upload(job) as fileobj, _open_table(job, fileobj, _max_rows()) as table:
            beat = _Heartbeat(job.id, "validating", fileobj, job.size)
            try:
                for number, values in _checked_rows(job, table, errors, on_row=lambda n, raw: (keep_raw(n, raw), beat())):
                    count += 1
                    if len(preview) < PREVIEW_ROWS:  # (only the preview asks the matcher)
                        preview.append({"row": number, "action": "update" if matcher.find(values) else "create",
                                        "name": _name_as_read(values)})
                        matcher.remember(-number, values)
                    if not errors:
                        kept.add((number, values))
            except ImportFileError as error:
                problem = problem_of(error)
        checked = {"fingerprint": job_fingerprint} if kept.close(keep=not (errors or problem)) else None
        count += errors.rejected
        rows = [{**item, "values": raw_rows.get(item["row"], {})} for item in preview]
        for number, values in raw_rows.items():
            if not any(item["row"] == number for item in rows):
                rows.append({"row": number, "action": "error", "values": values})
        rows.sort(key=lambda item: item["row"])
        db.session.rollback()
    finally:
        write_intent.reset(token)
    with writing():
        job = db.session.merge(job)
        job.errors, job.preview, job.row_count, job.problem = list(errors), rows[:PREVIEW_ROWS], count, problem
        job.options = {**(job.options or {}), "checked": checked, "rejected_rows": errors.rejected}
        job.state = JobState.VALIDATED
        job.finished_at = utcnow()
        db.session.commit()


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
    checked = _checked_values(job, job_fingerprint)
    undo_commit(job_id)
    try:
        with reading():  # no write lock for reading whom the importer already reaches
            matcher = Matcher(prefecture_id)
            db.session.commit()
        with contextlib.ExitStack() as stack:
            if checked is not None:  # the file and settings the check passed: its rows, not checked again
                beat = _Heartbeat(job_id, "applying", None, checked.size)
                batches = _read_checked(checked)
            else:
                fileobj = stack.enter_context(open_upload(job))
                table = stack.enter_context(_open_table(job, fileobj, _max_rows()))
                beat = _Heartbeat(job_id, "applying", fileobj, job.size)
                batches = stack.enter_context(_checked_ahead(job, table, fileobj, errors))
            sqlite = db.session.get_bind().dialect.name == "sqlite"
            for position, batch in batches:
                if not errors:  # after the first bad row, the rest is only checked: every bad row is reported
                    step = SQLITE_WRITE_ROWS if sqlite else len(batch)
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
        _finish(job, JobState.VALIDATED, problem=problem_of(error))
        return
    except BaseException:
        db.session.rollback()
        undo_commit(job_id)
        raise
    if errors:
        db.session.rollback()
        undo_commit(job_id)
        _finish(job, JobState.VALIDATED, **errors.outcome(job), row_count=applied + errors.rejected)
        return
    job = db.session.merge(job)
    job.created_count, job.updated_count, job.unchanged_count = counts["created"], counts["updated"], counts["unchanged"]
    job.state, job.finished_at, job.errors, job.row_count = JobState.DONE, utcnow(), [], applied
    audit.record_event("import", ImportJob.__tablename__, job.id, target=job.target, filename=job.filename,
                       prefecture=prefecture_id, **counts)
    db.session.execute(delete(ImportUndo).where(ImportUndo.job_id == job_id))  # final: nothing to undo any more
    db.session.commit()
    discard_upload(job)


# How many batches of rows the checking thread may be ahead of the commit (memory: ~5 MB a batch of
# 5,000 rows).
BATCHES_AHEAD = 4


@contextlib.contextmanager
def _checked_ahead(job: ImportJob, table, fileobj, errors: list):
    """The file's valid rows in batches (file position after the batch, rows), read and checked by a
    thread up to BATCHES_AHEAD batches ahead of the commit: the file is parsed and its rows validated
    (Python, holding the GIL) while the commit waits for the database (SQLite's C code and
    PostgreSQL's answers release it) — a quarter off a 100,000-row commit. Checking reads no database;
    the thread has its own app context (its own, unused session) and acts as the caller, in the
    caller's language (WTForms translates its own messages only inside a request)."""
    app = current_app._get_current_object()
    user = current_user._get_current_object()
    language = str(get_locale())
    batch_rows = _batch_rows()
    handoff: queue.Queue = queue.Queue(maxsize=BATCHES_AHEAD)
    stop = threading.Event()  # the commit ended (done, or failed): the thread stops at its next batch

    def hand_over(item) -> bool:
        while not stop.is_set():
            with contextlib.suppress(queue.Full):
                handoff.put(item, timeout=0.1)
                return True
        return False

    def check():
        with app.app_context(), acting_for(user), force_locale(language):
            try:
                batch: list[tuple[int, dict]] = []
                for row in _checked_rows(job, table, errors):
                    batch.append(row)
                    if len(batch) >= batch_rows:
                        if not hand_over((fileobj.tell(), batch)):
                            return
                        batch = []
                if batch and not hand_over((fileobj.tell(), batch)):
                    return
                hand_over(None)
            except BaseException as error:  # noqa: BLE001 — raised again in the committing thread
                hand_over(error)

    def batches():
        while (item := handoff.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item

    thread = threading.Thread(target=check, name=f"import-{job.id}-check", daemon=True)
    thread.start()
    try:
        yield batches()
    finally:
        stop.set()
        thread.join()


def _pause_between_batches() -> None:
    """A test hook: CRM_IMPORT_BATCH_PAUSE=seconds slows the commit down between batches, so a test
    can kill the worker in the middle of it (tests/test_imports_kill.py)."""
    pause = os.environ.get("CRM_IMPORT_BATCH_PAUSE")
    if pause:
        time.sleep(float(pause))


def _finish(job: ImportJob, state: JobState, **fields) -> None:
    job = db.session.merge(job)
    job.state, job.finished_at = state, utcnow()
    for key, value in fields.items():
        setattr(job, key, value)
    db.session.commit()


# --- Writing in batches, undone on failure ------------------------------------------------------------------
# SQLite has one writer: an import writes at most this many rows a transaction (a few tenths of a
# second of the write lock on a busy two-core machine), so that another user's save waits for no more.
SQLITE_WRITE_ROWS = 1000
# Between two batches of an import SQLite's write lock is free for this long: longer than the
# longest sleep of its busy handler (100 ms), so a save that waited takes the lock before the next batch.
BATCH_PAUSE_SECONDS = 0.12


def _write_batch(job_id: int, batch: list[tuple[int, dict]], matcher: Matcher, prefecture_id: int, counts: dict) -> None:
    """One batch in a transaction of its own: its rows, their search entries (SQLite) and its undo.
    Other users' saves wait for one batch at most, never for the whole file."""
    backlog = alumni_operations.index_later()
    undo = _apply_batch(batch, matcher, prefecture_id, counts)
    alumni_operations.index_now(backlog)
    db.session.add(ImportUndo(job_id=job_id, data=pickle.dumps(undo, protocol=pickle.HIGHEST_PROTOCOL)))
    db.session.commit()
    if db.session.get_bind().dialect.name == "sqlite":
        time.sleep(BATCH_PAUSE_SECONDS)


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


_latin_key = functools.lru_cache(maxsize=1 << 16)(names.latin_name_key)


@functools.lru_cache(maxsize=1 << 16)
def _normalised_names(family: str | None, given: str | None, katakana: str | None) -> dict:
    """The katakana and name keys exactly as `set_fields` stores them for a record created on the
    form; names repeat a lot in a large file, so they are worked out once per name."""
    record = SimpleNamespace(family_name=family, given_name=given, name_katakana=katakana)
    alumni_operations.set_fields(record, {})
    return {key: getattr(record, key) for key in ("name_katakana", "latin_key", "kana_key")}


_EMPTY_ALUMNUS = {key: None for key in ALUMNUS_FIELDS} | {"contact_consent": False, "newsletter_consent": False}


def _new_alumnus_row(values: dict, now) -> dict:
    row = _EMPTY_ALUMNUS | values["alumnus"]
    row |= _normalised_names(row["family_name"], row["given_name"], row["name_katakana"])
    return row | {"created_at": now, "updated_at": now, "version": 1, "cease_use": False}


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


# --- Running jobs -------------------------------------------------------------------------------------------

def begin(job_id: int, expected: JobState, state: JobState) -> int:
    """Move a job from `expected` to `state` (a running phase) → its attempt's number, or raise
    JobBusy: one click wins."""
    attempt = db.session.scalar(
        update(ImportJob).where(ImportJob.id == job_id, ImportJob.state == expected)
        .values(state=state, started_at=utcnow(), attempts=ImportJob.attempts + 1, finished_at=None)
        .returning(ImportJob.attempts)
    )
    if attempt is None:
        db.session.rollback()
        raise JobBusy()
    db.session.commit()
    return attempt


def run_phase(job_id: int, state: JobState, fail_after_rows: int | None = None) -> None:
    """Run the check or the commit of a job that `begin` moved to `state` (worker or CLI)."""
    # Read apart: a check must not begin inside a transaction that holds SQLite's write lock (its
    # kept rows are written beside it).
    db.session.commit()  # the caller's transaction (the CLI's, which read the job after `begin`) ends here
    job = read_apart(db.session(), lambda session: session.get(ImportJob, job_id))
    write_progress(job_id, state.value, 0)
    try:
        if TARGETS[job.target].runner is not None:
            TARGETS[job.target].runner(job, state, fail_after_rows)
        elif state == JobState.VALIDATING:
            validate_job(job)
        else:
            apply_job(job, fail_after_rows=fail_after_rows)
    except Exception:
        log.exception("import job %s failed", job_id)
        db.session.rollback()
        _finish(db.session.get(ImportJob, job_id), JobState.FAILED, problem={"code": "internal", "params": {}})
        raise


def start(job: ImportJob, state: JobState, expected: JobState) -> None:
    """Start a phase in the task queue's worker, acting as the importer; the request returns at once."""
    # Row errors are stored as text: in the language of the person who started the phase.
    job_id, language = job.id, str(get_locale())
    attempt = begin(job_id, expected, state)
    # Nothing read after the commit: a task run at once (QUEUE_IMMEDIATE) must find SQLite's write lock free.
    tasks.enqueue("imports.run_phase", job_id, state.value, attempt, language)


@tasks.task("imports.run_phase")
def run_queued_phase(job_id: int, state_value: str, attempt: int, language: str) -> None:
    """The worker's side of `start`: the phase, unless the job has moved on since (a task of an
    earlier attempt, queued still when the job was restarted, does nothing)."""
    state = JobState(state_value)
    job = read_apart(db.session(), lambda session: session.get(ImportJob, job_id))
    if job is None or job.state != state or job.attempts != attempt:
        log.info("import job %s: attempt %s of %s is no longer due", job_id, attempt, state_value)
        return
    user_id, prefecture_id = job.created_by_id, job.prefecture_id
    with contextlib.ExitStack() as stack:
        try:
            # A job the CLI began (killed, then started again from the wizard) has no account behind
            # it: it goes on as the CLI's stand-in for the prefecture's office.
            importer = read_apart(db.session(), lambda session: session.get(User, user_id)) if user_id is not None else \
                prefecture_office(prefecture_id, f"cli:import (prefecture {prefecture_id})")
            stack.enter_context(acting_for(importer))
            stack.enter_context(force_locale(language))
        except Exception:
            # The phase never ran: say so in the log and on the job, not "running" until it looks stale.
            log.exception("import job %s could not start", job_id)
            db.session.rollback()
            _finish(db.session.get(ImportJob, job_id), JobState.FAILED, problem={"code": "internal", "params": {}})
            return
        with contextlib.suppress(Exception):  # logged by run_phase; the job says "failed"
            run_phase(job_id, state)


def restart(job: ImportJob) -> None:
    """Start a stale or failed job's phase again (an interrupted commit's batches are undone first)."""
    if job.state == JobState.FAILED:
        job.state = JobState.VALIDATED if job.errors == [] and job.preview is not None else JobState.UPLOADED
        job.problem = None
        db.session.commit()
        return
    if not progress(job)["stale"]:
        raise JobBusy()
    previous = {JobState.VALIDATING: JobState.UPLOADED, JobState.APPLYING: JobState.VALIDATED}[job.state]
    job.state = previous
    db.session.commit()
    start(job, JobState.VALIDATING if previous == JobState.UPLOADED else JobState.APPLYING, previous)


def can_commit(job: ImportJob) -> bool:
    return job.state == JobState.VALIDATED and not job.errors and not job.problem and job.row_count > 0


