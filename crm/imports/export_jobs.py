"""An export, streamed or queued. A small export streams from the web process as before (the format
choice, the CP932 confirmation, then crm.exporting). One of more than EXPORT_INLINE_ROWS records
becomes an `ExportJob`: the task queue's worker writes the file as its requester (their scope, their
language) into the database every server shares (the parts of `import_uploads`, as an import's
upload), the job's page shows its progress (htmx polling) and then a download link. Only the
requester downloads it, while they still stand where they stood when asking (crm.access); each
download is recorded in the audit trail as a streamed export is, with the alumni it held. The worker
deletes jobs and their files after EXPORT_KEEP_DAYS.
"""
from __future__ import annotations

import logging
import tempfile
from datetime import timedelta

from flask import current_app, redirect, render_template, request, url_for
from flask_babel import force_locale, get_locale
from flask_login import current_user
from sqlalchemy import select

from crm import clock, tasks
from crm.auth.models import User
from crm.db import utcnow, write_intent, writing
from crm.exporting import streamed
from crm.extensions import db
from crm.imports.acting import acting_for
from crm.imports.exports import NAMES, Tally, applied_filter, body, cp932_changes, record_count, record_export, stream
from crm.imports.models import ExportJob, ExportState
from crm.imports.storage import discard_file, store_file, stored_parts
from crm.imports.targets import TARGETS

log = logging.getLogger("crm.imports")
TABLE_FORMATS = ("csv", "csv-cp932", "xlsx")
# How often (in records) a running export reports its progress.
REPORT_EVERY = 1000


def export_target(target: str, filters: dict, *, endpoint: str, url_args: dict, formats=TABLE_FORMATS, filename: str | None = None,
                  fmt: str | None = None):
    """The export of a registered target: the format choice when none is asked for, the CP932
    confirmation when values would change, else the file: streamed, or for more than
    EXPORT_INLINE_ROWS records a job for the worker (its page, 303). `endpoint` and `url_args` make
    the links back to the same export."""
    fmt = fmt or request.args.get("format", "")
    context = {"target": target, "label": TARGETS[target].label, "formats": formats, "endpoint": endpoint,
               "url_args": {key: value for key, value in url_args.items() if value not in (None, "")}}
    if fmt not in formats:
        return render_template("imports/export.html", applied=applied_filter(filters), count=record_count(target, filters),
                               names=target in NAMES, **context)
    if fmt == "csv-cp932" and request.args.get("confirmed") != "1":
        changes = cp932_changes(target, filters)
        if changes:
            return render_template("imports/export_cp932.html", changes=changes, **context)
    name = filename or f"{target}-{clock.today().isoformat()}"
    count = record_count(target, filters)
    if count > current_app.config["EXPORT_INLINE_ROWS"]:
        return redirect(url_for("imports.show_export", export_id=queue_export(target, fmt, filters, name, count)), 303)
    return streamed(stream(target, fmt, filters), fmt, name)


def queue_export(target: str, fmt: str, filters: dict, filename: str, count: int) -> int:
    """Record the export as a job of the current user and hand it to the worker → the job's id."""
    user = current_user
    db.session.rollback()  # end the count's read: the job is written in a transaction of its own
    with writing():
        job = ExportJob(created_by_id=user.id, prefecture_id=user.prefecture_id, association_id=user.association_id,
                        target=target, format=fmt, filters=filters, filename=filename, locale=str(get_locale()),
                        record_count=count)
        db.session.add(job)
        db.session.flush()
        job_id = job.id
        db.session.commit()
    tasks.enqueue("imports.export", job_id)
    return job_id


def _progress_key(job_id: int) -> str:
    return f"export-progress:{job_id}"


def progress(job: ExportJob) -> int:
    """How far the file is written, in percent (100 once done)."""
    if job.state == ExportState.DONE:
        return 100
    done = tasks.reported(_progress_key(job.id)) or 0
    return min(99, done * 100 // max(job.record_count, 1))


def expires_at(job: ExportJob):
    return job.created_at + timedelta(days=current_app.config["EXPORT_KEEP_DAYS"])


@tasks.task("imports.export")
def run_export(job_id: int) -> None:
    """The worker's side of `queue_export`: write the file as the requester, keep it, mark the job done
    (failed on any error, with nothing kept)."""
    job = db.session.get(ExportJob, job_id)
    if job is None or job.state != ExportState.QUEUED:
        return  # deleted, or taken by another worker
    job.state = ExportState.RUNNING
    db.session.commit()
    key, tally = _progress_key(job_id), Tally()
    try:
        requester = db.session.get(User, job.created_by_id)
        target, fmt, filters, locale = job.target, job.format, dict(job.filters), job.locale
        with tempfile.TemporaryFile() as spool, acting_for(requester), force_locale(locale):
            token = write_intent.set(False)  # the rows are read, never locked
            try:
                reported = 0
                for chunk in body(target, fmt, filters, tally):
                    spool.write(chunk)
                    done = len(tally.people) if target == "alumni" else tally.rows
                    if done - reported >= REPORT_EVERY:
                        tasks.report(key, reported := done)
            finally:
                db.session.rollback()
                write_intent.reset(token)
            spool.seek(0)
            with writing():
                stored_name, size = store_file(iter(lambda: spool.read(1 << 16), b""), "export")
                job = db.session.get(ExportJob, job_id)
                job.state, job.stored_name, job.size = ExportState.DONE, stored_name, size
                job.row_count, job.people, job.finished_at = tally.rows, sorted(tally.people), utcnow()
                db.session.commit()
    except Exception:
        log.exception("export job %s failed", job_id)
        db.session.rollback()
        with writing():
            job = db.session.get(ExportJob, job_id)
            job.state, job.finished_at = ExportState.FAILED, utcnow()
            db.session.commit()
    finally:
        tasks.forget(key)


def download(job: ExportJob):
    """The job's file (the caller loaded it through crm.access), recorded in the audit trail."""
    record_export(job.target, job.format, job.filters, job.row_count, job.people, export_job=job.id)
    return streamed(stored_parts(job.stored_name), job.format, job.filename)


@tasks.task("imports.expire_exports", minute="15")
def expire_exports() -> int:
    """Delete the export jobs older than EXPORT_KEEP_DAYS with their files (hourly, by the worker) → how many."""
    cutoff = utcnow() - timedelta(days=current_app.config["EXPORT_KEEP_DAYS"])
    with writing():
        jobs = list(db.session.scalars(select(ExportJob).where(ExportJob.created_at < cutoff)))
        for job in jobs:
            if job.stored_name:
                discard_file(job.stored_name)
            db.session.delete(job)
        db.session.commit()
    return len(jobs)
