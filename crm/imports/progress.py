"""A running job's progress and liveness (a heartbeat in the task queue's store, which every server
reads) and how a phase ends."""
from __future__ import annotations

import contextlib
import datetime
import time

from flask import current_app

from crm import tasks
from crm.db import utcnow
from crm.extensions import db
from crm.imports.models import ImportJob, JobState

PROGRESS_EVERY_SECONDS = 0.5


def progress_key(job_id: int) -> str:
    return f"import-job-{job_id}"


def write_progress(job_id: int, phase: str, fraction: float) -> None:
    """Progress and heartbeat in the queue's store, which every server reads and no database lock
    holds up."""
    tasks.report(progress_key(job_id), {"phase": phase, "percent": int(min(max(fraction, 0), 1) * 100), "at": time.time()})


def progress(job: ImportJob) -> dict:
    """{"percent": n, "phase": …, "stale": bool} for the progress bar; stale: a running job whose
    worker has reported nothing for `stale_after` (since the phase began, when it has not yet)."""
    data = tasks.reported(progress_key(job.id))
    started = job.started_at.timestamp() if job.started_at is not None else None
    if data is None or started is not None and data["at"] < started:  # nothing yet of this phase
        data = {"percent": 0, "phase": job.state.value, "at": started}
    heard = data.pop("at")
    data["stale"] = bool(job.running and heard is not None and time.time() - heard > stale_after().total_seconds())
    return data


def stale_after() -> datetime.timedelta:
    return datetime.timedelta(seconds=current_app.config.get("IMPORT_STALE_SECONDS", 60))


class Heartbeat:
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


def finish(job: ImportJob, state: JobState, **fields) -> None:
    job = db.session.merge(job)
    job.state, job.finished_at = state, utcnow()
    for key, value in fields.items():
        setattr(job, key, value)
    db.session.commit()

