"""Imports written record by record through the ORM (association members, alumni activities).

The same job, wizard, readers, mapping, heartbeat and rules as the alumni import
(crm.imports.operations): a check pass that writes nothing but the job's outcome, and a commit pass
that checks every row again and writes all rows or none, in ONE transaction with the job's "done"
state. What differs per target is an `Importer`: the records it may match (loaded once, within the
importer's scope: a record outside it is never read, matched or changed), the match key, and how a
row creates or updates a record. The audit trail records every change (the models are Audited).

These files are small (an association's members, a prefecture's activities): the commit pass keeps
the checked rows in memory until the whole file has checked out.
"""
from __future__ import annotations

from collections.abc import Iterator

from flask_babel import gettext as _

from crm import audit, tasks
from crm.db import utcnow, write_intent, writing
from crm.extensions import db
from crm.formats.decoding import ImportFileError
from crm.imports import checking, progress, storage
from crm.imports.models import ImportJob, JobState
from crm.imports.targets import TARGETS, text


class Importer:
    """A target's record rules. `context(job)` loads what rows match against (in scope), and
    returns an object the other methods receive."""

    def context(self, job: ImportJob):
        raise NotImplementedError

    def check(self, context, values: dict) -> list[tuple[str | None, str]]:
        """Errors that need the database (e.g. a referenced person outside the importer's scope)."""
        return []

    def key(self, context, values: dict):
        """The identity of a row: two rows of one file with the same key are one record twice."""
        raise NotImplementedError

    def find(self, context, values: dict):
        """The id of the record the row updates, or None for a new record."""
        raise NotImplementedError

    def create(self, context, values: dict) -> None:
        raise NotImplementedError

    def update(self, context, record_id, values: dict) -> bool:
        """Apply the row to the record; → whether anything changed."""
        raise NotImplementedError


def _checked_rows(job: ImportJob, importer: Importer, context, table, errors: list, on_row=None) -> Iterator[tuple[int, dict, dict]]:
    target = TARGETS[job.target]
    reverse = {key: header for header, key in (job.mapping or {}).items() if key}
    seen: dict = {}
    for number, raw in checking.mapped_rows(job, table):
        if on_row:
            on_row()
        values, row_errors = target.validate(raw)
        if values is not None:
            row_errors = importer.check(context, values)
        if row_errors:
            for error in checking.error_entries(target, reverse, number, raw, row_errors):
                errors.append(error)
            continue
        # Two rows of the file for one record: the same key, or the same existing record matched.
        keys = [importer.key(context, values)]
        record_id = importer.find(context, values)
        if record_id is not None:
            keys.append(("record", record_id))
        first = next((seen[key] for key in keys if key in seen), None)
        if first is not None:
            errors.append({"row": number, "column": None, "message": _("The same record as row %(row)s.", row=first)})
            continue
        for key in keys:
            seen[key] = number
        yield number, raw, values


def _table(job: ImportJob, fileobj):
    return checking.open_table(job, fileobj, storage.max_rows())


def validate(job: ImportJob, importer: Importer) -> None:
    """The check pass: errors, row count and preview into the job; nothing else is written."""
    errors = checking.RowErrors()
    preview: list[dict] = []
    count, problem = 0, None
    token = write_intent.set(False)
    try:
        context = importer.context(job)
        with storage.open_upload(job) as fileobj, _table(job, fileobj) as table:
            beat = progress.Heartbeat(job.id, "validating", fileobj, job.size)
            try:
                for number, raw, values in _checked_rows(job, importer, context, table, errors, on_row=beat):
                    count += 1
                    if len(preview) < checking.PREVIEW_ROWS:
                        preview.append({"row": number, "action": "update" if importer.find(context, values) else "create",
                                        "values": {key: text(value) for key, value in raw.items()}})
            except ImportFileError as error:
                problem = checking.problem_of(error)
        count += errors.rejected
        db.session.rollback()
    finally:
        write_intent.reset(token)
    with writing():
        job = db.session.merge(job)
        job.errors, job.preview, job.row_count, job.problem = list(errors), preview, count, problem
        job.options = {**(job.options or {}), "rejected_rows": errors.rejected}
        job.state, job.finished_at = JobState.VALIDATED, utcnow()
        db.session.commit()


def apply(job: ImportJob, importer: Importer, fail_after_rows: int | None = None) -> None:
    """The commit pass: every row checked again, then all written in one transaction, or none."""
    errors = checking.RowErrors()
    rows: list[dict] = []
    context = importer.context(job)
    try:
        with storage.open_upload(job) as fileobj, _table(job, fileobj) as table:
            beat = progress.Heartbeat(job.id, "applying", fileobj, job.size)
            rows = [values for _number, _raw, values in _checked_rows(job, importer, context, table, errors, on_row=beat)]
    except ImportFileError as error:
        db.session.rollback()
        progress.finish(job, JobState.VALIDATED, problem=checking.problem_of(error))
        return
    if errors:
        db.session.rollback()
        progress.finish(job, JobState.VALIDATED, **errors.outcome(job))
        return
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    for applied, values in enumerate(rows, start=1):
        record_id = importer.find(context, values)
        if record_id is None:
            importer.create(context, values)
            counts["created"] += 1
        else:
            counts["updated" if importer.update(context, record_id, values) else "unchanged"] += 1
        if fail_after_rows is not None and applied >= fail_after_rows:
            raise RuntimeError("injected failure in the middle of an import")
    db.session.flush()
    job = db.session.merge(job)
    job.created_count, job.updated_count, job.unchanged_count = counts["created"], counts["updated"], counts["unchanged"]
    job.state, job.finished_at, job.errors = JobState.DONE, utcnow(), []
    audit.record_event("import", ImportJob.__tablename__, job.id, target=job.target, filename=job.filename,
                       prefecture=job.prefecture_id, **(job.options or {}).get("scope", {}), **counts)
    storage.drop_upload(job)
    db.session.commit()
    tasks.forget(progress.progress_key(job.id))


def runner(importer: Importer):
    """The `Target.runner` of a record import: the phase crm.imports.operations.run_phase started."""

    def run(job: ImportJob, state: JobState, fail_after_rows: int | None = None) -> None:
        if state == JobState.VALIDATING:
            validate(job, importer)
        else:
            apply(job, importer, fail_after_rows)

    return run
