"""An import job: the uploaded file's settings, mapping, state and outcome.

The job row is the import's memory between wizard steps and across a crash: a worker killed while
applying leaves the job `applying` with no fresh heartbeat and the undo of every batch it wrote
(`ImportUndo`); the wizard offers to start the commit again, which first undoes them.
"""
from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, ForeignKey, LargeBinary, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from crm.auth.models import enum_column
from crm.db import UTCDateTime, utcnow
from crm.extensions import db
from crm.i18n import LabelledEnum


class JobState(LabelledEnum):
    UPLOADED = "uploaded", _l("Uploaded")
    VALIDATING = "validating", _l("Checking rows")
    VALIDATED = "validated", _l("Checked")
    APPLYING = "applying", _l("Importing")
    # "Done", not "Imported": in Japanese that word is the audit trail's noun (インポート), not a state.
    DONE = "done", _l("Done")
    FAILED = "failed", _l("Failed")


RUNNING_STATES = (JobState.VALIDATING, JobState.APPLYING)


class ImportJob(db.Model):
    __tablename__ = "import_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    target: Mapped[str] = mapped_column(String(30))
    # The importer's prefecture: every placement the import writes is in it, and matching only
    # considers the alumni this prefecture already reaches.
    prefecture_id: Mapped[int | None] = mapped_column(ForeignKey("prefectures.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    stored_name: Mapped[str] = mapped_column(String(80))
    size: Mapped[int] = mapped_column(default=0)
    format: Mapped[str | None] = mapped_column(String(10))
    encoding: Mapped[str | None] = mapped_column(String(20))
    delimiter: Mapped[str | None] = mapped_column(String(2))
    sheet: Mapped[str | None] = mapped_column(String(100))
    headers: Mapped[list | None] = mapped_column(JSON)
    mapping: Mapped[dict | None] = mapped_column(JSON)
    options: Mapped[dict | None] = mapped_column(JSON)
    state: Mapped[JobState] = mapped_column(enum_column(JobState, length=20), default=JobState.UPLOADED)
    # A file-level problem: {"code": ..., "params": {...}}.
    problem: Mapped[dict | None] = mapped_column(JSON)
    row_count: Mapped[int] = mapped_column(default=0)
    # Every rejected row: [{"row": n, "column": header or None, "message": text}].
    errors: Mapped[list | None] = mapped_column(JSON)
    preview: Mapped[list | None] = mapped_column(JSON)
    created_count: Mapped[int] = mapped_column(default=0)
    updated_count: Mapped[int] = mapped_column(default=0)
    unchanged_count: Mapped[int] = mapped_column(default=0)
    attempts: Mapped[int] = mapped_column(default=0)
    dry_run: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, server_default=func.now())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def running(self) -> bool:
        return self.state in RUNNING_STATES

    @property
    def error_rows(self) -> int:
        """Rows with an error: counted while checking (the job lists only the first errors)."""
        return max(self.listed_error_rows, (self.options or {}).get("rejected_rows") or 0)

    @property
    def listed_error_rows(self) -> int:
        return len({error["row"] for error in self.errors or () if error.get("row") is not None})


class ImportUndo(db.Model):
    """What one committed batch of a running import wrote, kept until the import is final: the ids of
    the records it created and the values it replaced in existing ones (with the version it left
    them at). `data` is a pickle: written and read by the server alone, and values keep their types
    (dates, enumerations) without a schema of their own."""

    __tablename__ = "import_undo"

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("import_jobs.id", ondelete="CASCADE"), index=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class SavedMapping(db.Model):
    """A prefecture's column mapping for one kind of file, proposed again for a file with the same
    headers and named for the CLI's `--mapping`."""

    __tablename__ = "import_mappings"
    __table_args__ = (UniqueConstraint("prefecture_id", "target", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    prefecture_id: Mapped[int] = mapped_column(ForeignKey("prefectures.id"), index=True)
    target: Mapped[str] = mapped_column(String(30))
    name: Mapped[str] = mapped_column(String(100))
    # The file's headers as matched (crm.imports.headers.header_key), hashed: files with the same headers.
    headers_key: Mapped[str] = mapped_column(String(64), index=True)
    mapping: Mapped[dict] = mapped_column(JSON)
    defaults: Mapped[dict | None] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, server_default=func.now())


class ImportUpload(db.Model):
    """An uploaded file, in parts: every server and worker reads the same upload, and none keeps it
    in a folder of its own."""

    __tablename__ = "import_uploads"

    stored_name: Mapped[str] = mapped_column(String(80), primary_key=True)
    part: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class CheckedBatch(db.Model):
    """A batch of the rows a check found valid, kept for the commit (see crm.imports.operations,
    "What the check found"). Part -1 marks the rows as complete and holds their total size."""

    __tablename__ = "import_checked_batches"

    job_id: Mapped[int] = mapped_column(ForeignKey("import_jobs.id", ondelete="CASCADE"), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64), primary_key=True)
    part: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class ExportState(LabelledEnum):
    QUEUED = "queued", _l("Waiting for the worker")
    RUNNING = "running", _l("Writing the file")
    DONE = "done", _l("Ready to download")
    FAILED = "failed", _l("Failed")


class ExportJob(db.Model):
    """An export too large to stream from a web process: written by the task queue's worker into the
    database (`import_uploads`, under `stored_name`), downloaded from any server by the one who asked,
    while they stand where they stood (crm.access), and deleted after EXPORT_KEEP_DAYS."""

    __tablename__ = "export_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # Where the requester stood when asking: the file holds what that scope reached.
    prefecture_id: Mapped[int | None] = mapped_column(ForeignKey("prefectures.id"))
    association_id: Mapped[int | None] = mapped_column(ForeignKey("associations.id", ondelete="CASCADE"))
    target: Mapped[str] = mapped_column(String(30))
    format: Mapped[str] = mapped_column(String(10))
    filters: Mapped[dict] = mapped_column(JSON)
    filename: Mapped[str] = mapped_column(String(255))
    locale: Mapped[str] = mapped_column(String(10))
    state: Mapped[ExportState] = mapped_column(enum_column(ExportState, length=20), default=ExportState.QUEUED)
    # Records counted when asked (the progress bar's 100%), then rows written.
    record_count: Mapped[int] = mapped_column(default=0)
    row_count: Mapped[int] = mapped_column(default=0)
    # The alumni in the file, for the audit entry of each download (as a streamed export records them).
    people: Mapped[list | None] = mapped_column(JSON)
    stored_name: Mapped[str | None] = mapped_column(String(80))
    size: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, server_default=func.now(), index=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def running(self) -> bool:
        return self.state in (ExportState.QUEUED, ExportState.RUNNING)
