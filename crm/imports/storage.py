"""What an import job keeps between its steps, in the database every server shares: its upload, in
parts, and the rows its check found valid (under the fingerprint of the file and settings checked)."""
from __future__ import annotations

import hashlib
import json
import pickle
import secrets
import tempfile
from collections.abc import Iterable, Iterator
from types import SimpleNamespace

from flask import current_app
from sqlalchemy import delete, insert, select

from crm import tasks
from crm.db import writing
from crm.extensions import db
from crm.formats.decoding import ImportFileError
from crm.imports.models import CheckedBatch, ImportJob, ImportUpload
from crm.imports.progress import progress_key


# --- Stored uploads and progress ---------------------------------------------------------------------
# An upload is kept in the database, in parts, and a job's progress in the task queue's store: any web
# server or worker reads them, none keeps them in a folder of its own.

UPLOAD_PART_BYTES = 1 << 20


class FileTooLarge(Exception):
    pass


def max_rows() -> int:
    return current_app.config.get("IMPORT_MAX_ROWS", 100_000)


def batch_rows() -> int:
    return current_app.config["IMPORT_BATCH_ROWS"]


class UploadGone(ImportFileError):
    """The job's file is no longer kept: the CLI's dry run, a refused upload or a finished import
    discards it, while the job stays listed."""

    code = "upload_gone"
    template = "The uploaded file is no longer kept. Please upload it again."


def open_upload(job: ImportJob):
    """The job's stored file for reading: a temporary copy (readers seek in it, and the parts are read
    once); a file that is gone is a file problem (UploadGone), shown like any other."""
    copy = tempfile.TemporaryFile()
    found = False
    for data in stored_parts(job.stored_name):
        copy.write(data)
        found = True
    if not found:
        copy.close()
        raise UploadGone()
    copy.seek(0)
    return copy


def stored_parts(stored_name: str) -> Iterator[bytes]:
    """A stored file's parts in order (one read at a time): an upload, or an export job's file."""
    parts = (select(ImportUpload.data).where(ImportUpload.stored_name == stored_name)
             .order_by(ImportUpload.part).execution_options(yield_per=1))
    result = db.session.scalars(parts)
    try:
        yield from result
    finally:  # also when the reader stops early (a download the client left): PostgreSQL's cursor is closed
        result.close()


def upload_kept(job: ImportJob) -> bool:
    """Whether the job's file is still there to be imported (a CLI dry run discards it)."""
    return db.session.scalar(select(ImportUpload.part).where(ImportUpload.stored_name == job.stored_name).limit(1)) is not None


def store_upload(stream, max_bytes: int) -> tuple[str, int]:
    """Store an upload in parts, refusing it past `max_bytes` → (its stored name, its size); the
    caller commits."""
    return store_file(iter(lambda: stream.read(1 << 16), b""), "upload", max_bytes)


def store_file(chunks: Iterable[bytes], kind: str, max_bytes: int | None = None) -> tuple[str, int]:
    """Store a file given as chunks, in parts (an upload, or an export the worker wrote), refusing it
    past `max_bytes` → (its stored name, its size); the caller commits."""
    stored_name = f"{secrets.token_hex(16)}.{kind}"
    size = part = 0
    data = bytearray()
    for chunk in chunks:
        size += len(chunk)
        if max_bytes is not None and size > max_bytes:
            db.session.execute(delete(ImportUpload).where(ImportUpload.stored_name == stored_name))
            raise FileTooLarge()
        data += chunk
        if len(data) >= UPLOAD_PART_BYTES:
            db.session.execute(insert(ImportUpload).values(stored_name=stored_name, part=part, data=bytes(data)))
            part, data = part + 1, bytearray()
    # An empty file is kept as one empty part: it is there, it has no rows.
    if data or not part:
        db.session.execute(insert(ImportUpload).values(stored_name=stored_name, part=part, data=bytes(data)))
    return stored_name, size


def discard_file(stored_name: str) -> None:
    """Remove a stored file's parts; the caller commits."""
    db.session.execute(delete(ImportUpload).where(ImportUpload.stored_name == stored_name))


def drop_upload(job: ImportJob) -> None:
    """Remove the job's upload and the rows its check kept; the caller commits, with the job's final
    state when it has one, so that no one sees a finished job whose file is still stored."""
    discard_file(job.stored_name)
    db.session.execute(delete(CheckedBatch).where(CheckedBatch.job_id == job.id))


def discard_upload(job: ImportJob) -> None:
    """Remove the job's upload, the rows its check kept and its progress (in a transaction of its own)."""
    with writing():
        drop_upload(job)
        db.session.commit()
    tasks.forget(progress_key(job.id))

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
                "prefecture": job.prefecture_id, "max_rows": max_rows(),
                "kept": CHECKED_FORMAT}  # rows kept in another layout are never read: checked again
    digest.update(json.dumps(settings, sort_keys=True, default=str).encode())
    return digest.hexdigest()


class Kept(SimpleNamespace):
    """Where a check's complete rows are: `job_id`, `fingerprint`, how many `parts`, their `size` in bytes."""


def checked_values(job: ImportJob, job_fingerprint: str) -> Kept | None:
    """The valid rows the last check kept, or None when there are none (complete) for this fingerprint."""
    checked = (job.options or {}).get("checked") or {}
    if checked.get("fingerprint") != job_fingerprint:
        return None
    end = db.session.scalar(select(CheckedBatch.data).where(
        CheckedBatch.job_id == job.id, CheckedBatch.fingerprint == job_fingerprint, CheckedBatch.part == _END))
    return None if end is None else Kept(job_id=job.id, fingerprint=job_fingerprint, **json.loads(end))


# The layout of kept rows: a pickle of a list of (row number, values) a batch of rows.
CHECKED_FORMAT = 3
# The part that ends a complete set of kept rows: without it, the rows are an interrupted check's.
_END = -1


class KeptRows:
    """A check's valid rows, kept a batch at a time, each in a short transaction of its own: the
    check itself holds no write lock, and the rows of an earlier check of the job go first."""

    def __init__(self, job: ImportJob, job_fingerprint: str):
        self.job_id, self.fingerprint = job.id, job_fingerprint
        self.batch_rows = batch_rows()
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

    def close(self, keep: bool) -> Kept | None:
        """→ the rows, complete (keep), or None (removed)."""
        if not keep:
            self._write(delete(CheckedBatch).where(CheckedBatch.job_id == self.job_id))
            return None
        if self.rows:
            self._flush()
        self._store(_END, json.dumps({"parts": self.parts, "size": self.size}).encode())
        return Kept(job_id=self.job_id, fingerprint=self.fingerprint, parts=self.parts, size=self.size)


def read_checked(kept: Kept) -> Iterator[tuple[int, list[tuple[int, dict]]]]:
    """(bytes read after the batch, batch of rows) for each batch the check kept; one part read at a
    time, in the caller's transaction."""
    position = 0
    for part in range(kept.parts):
        data = db.session.scalar(select(CheckedBatch.data).where(
            CheckedBatch.job_id == kept.job_id, CheckedBatch.fingerprint == kept.fingerprint, CheckedBatch.part == part))
        position += len(data)
        yield position, pickle.loads(data)

