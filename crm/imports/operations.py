"""Import jobs: the steps the wizard, the worker and the CLI take (save an upload, begin a phase, run
it as a task of the queue, start a stopped one again). The room's other parts:

- `storage`: what a job keeps between steps (its upload, the rows its check found valid);
- `progress`: a running phase's progress and heartbeat, and how it ends;
- `checking`: the check (`validate_job`): every row through the target's validation (the alumni
  forms' own validators), duplicates inside the file, a preview — nothing written but the job's
  outcome; and the same checks in a thread ahead of a commit that has no kept rows;
- `matching`: which existing record a row is;
- `writing`: the commit (`apply_job`): the kept rows (or the rows checked again), written in
  batches, each in a transaction of its own with its undo (other users' saves wait for one batch at
  most, on SQLite), made final by a last transaction with the job's "done" state. A bad row found
  while writing, an error or a killed worker: the batches written are undone (for a killed worker,
  when the commit starts again);
- `acting`: a phase runs as its importer, also outside a request.
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
import logging

from flask_babel import force_locale, get_locale
from sqlalchemy import update

from crm import tasks
from crm.auth.models import User
from crm.db import read_apart, utcnow
from crm.extensions import db
from crm.imports import checking, storage
from crm.imports.acting import acting_for, prefecture_office
from crm.imports.checking import validate_job
from crm.imports.models import ImportJob, JobState
from crm.imports.progress import finish, progress, write_progress
from crm.imports.targets import TARGETS, Target
from crm.imports.writing import apply_job

log = logging.getLogger("crm.imports")


class JobBusy(Exception):
    """The job is not in the state the step needs (e.g. a second click on "Import")."""


def save_upload(stream, filename: str, target: Target, user, max_bytes: int) -> ImportJob:
    """Store the upload (refusing it past `max_bytes`) and open a job for it, its file inspected; the
    caller commits."""
    stored_name, size = storage.store_upload(stream, max_bytes)
    job = ImportJob(target=target.name, prefecture_id=user.prefecture_id, created_by_id=user.id,
                    filename=(filename or "upload")[-255:], stored_name=stored_name, size=size, options={})
    db.session.add(job)
    db.session.flush()
    checking.inspect_file(job)
    return job


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
        finish(db.session.get(ImportJob, job_id), JobState.FAILED, problem={"code": "internal", "params": {}})
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
            finish(db.session.get(ImportJob, job_id), JobState.FAILED, problem={"code": "internal", "params": {}})
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


def committable(job: ImportJob) -> bool:
    """Checked without errors and its file still kept: the "Import N rows" step awaits the user."""
    return can_commit(job) and storage.upload_kept(job)


def awaiting(job: ImportJob) -> str | None:
    """The step a job waits for its user to take: "commit" (checked, no errors), "restart" (failed,
    or stopped responding while running), else None (it runs, is done, or needs the wizard)."""
    if committable(job):
        return "commit"
    if job.state == JobState.FAILED or job.running and progress(job)["stale"]:
        return "restart"
    return None
