"""A real import worker killed in the middle of its commit: whole batches or nothing of a batch, an
undo of those batches when the job starts again, and every row imported exactly once.

The worker is the CLI (`flask --app crm import alumni FILE --prefecture 31`) in its own process on the
test database and the test's task queue (where it reports progress), slowed down between batches by
CRM_IMPORT_BATCH_PAUSE so that the test can watch its progress and SIGKILL it in the middle of the
commit. Each batch is written in a transaction of its own (other users' saves wait for one batch at
most) with its undo; only the job's last transaction makes the import final.
"""
from __future__ import annotations

import contextlib
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from crm.alumni.models import Alumnus
from crm import tasks
from crm.config import ROOT
from crm.db import write_intent
from crm.extensions import db
from crm.imports.models import ImportJob, ImportUndo, JobState
from tests.test_imports import csv_bytes, distinct_names, undone_in_audit

ROWS = 5000
BATCH_ROWS = 1000  # the worker's batches (CRM_IMPORT_BATCH_ROWS): five
PAUSE_SECONDS = 2
# The commit's progress is the share of the file whose rows are written: past 30 % (row ~1500 of 5000)
# the first batch is committed, and at least three pauses (6 s) lie ahead of the commit, so the kill
# lands in the middle even on a slow machine.
KILL_AT_PERCENT = 30
# Generous: a loaded two-core CI machine starts Python, checks 5000 rows and writes two batches.
WAIT_SECONDS = 180


def until(condition, what: str, worker: subprocess.Popen | None = None, timeout: float = WAIT_SECONDS):
    """Poll `condition` until it returns something truthy; fail with the worker's output if it ends first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        if worker is not None and worker.poll() is not None:
            out, err = worker.communicate()
            pytest.fail(f"the worker ended (status {worker.returncode}) before {what}:\n{out}\n{err}")
        time.sleep(0.05)
    pytest.fail(f"timed out after {timeout} s waiting for {what}")


def start_worker(app, path: Path) -> subprocess.Popen:
    env = {**os.environ, "CRM_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "CRM_SECRET_KEY": "kill-test",
           "CRM_QUEUE_URL": app.config["QUEUE_URL"], "CRM_IMPORT_BATCH_PAUSE": str(PAUSE_SECONDS),
           "CRM_IMPORT_BATCH_ROWS": str(BATCH_ROWS)}
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "crm", "import", "alumni", str(path), "--prefecture", "31"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@contextlib.contextmanager
def reading(app):
    """The app's database as a reader: on SQLite a deferred transaction, which does not wait for
    the worker's write lock (the test reads while the worker writes, as other users' pages do)."""
    token = write_intent.set(False)
    try:
        with app.app_context():
            yield
    finally:
        write_intent.reset(token)


def job_of(app, filename: str) -> ImportJob | None:
    with reading(app):
        return db.session.scalar(select(ImportJob).where(ImportJob.filename == filename))


def progress_since(app, job_id: int, since: float) -> dict | None:
    """The job's progress as the worker last reported it (none left over from an earlier run)."""
    with app.app_context():
        reported = tasks.reported(f"import-job-{job_id}")
    return reported if reported and reported["at"] >= since else None


def writer_holds_rows(app, database_url: str) -> bool:
    """Whether another connection is in the middle of writing alumni (uncommitted)."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        connection = sqlite3.connect(url.database, timeout=0, isolation_level=None)
        try:
            connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as error:
            return "locked" in str(error)
        else:
            connection.execute("ROLLBACK")
            return False
        finally:
            connection.close()
    with reading(app):
        return bool(db.session.scalar(text(
            "SELECT count(*) FROM pg_locks JOIN pg_class ON pg_class.oid = pg_locks.relation "
            "JOIN pg_database ON pg_database.oid = pg_locks.database AND pg_database.datname = current_database() "
            "WHERE pg_class.relname = 'alumni' AND pg_locks.mode = 'RowExclusiveLock' AND pg_locks.pid <> pg_backend_pid()")))


def file_alumni(app) -> list[str]:
    with reading(app):
        return list(db.session.scalars(select(Alumnus.email).where(Alumnus.email.like("kill-%@example.com"))))


def test_a_killed_worker_leaves_whole_batches_which_the_restarted_job_undoes_then_imports_every_row_once(app, database_url, signed_in, tmp_path):
    client = signed_in()  # Tottori staff: the office that sees the CLI's prefecture-31 job
    path = tmp_path / "kill-test.csv"
    path.write_bytes(csv_bytes([[f"{name}, Test", "", f"kill-{year}-{i}@example.com", "US", "", "ALT", f"{year}-{year + 2}"]
                                for i, name in enumerate(distinct_names(ROWS // 4)) for year in (2012, 2014, 2016, 2018)]))
    launched = time.time()
    worker = start_worker(app, path)
    try:
        job = until(lambda: job_of(app, path.name), "the job to be created", worker)
        seen = until(lambda: (p := progress_since(app, job.id, launched)) and p["phase"] == "applying" and p["percent"] >= KILL_AT_PERCENT and p,
                     f"the commit to pass {KILL_AT_PERCENT} %", worker)
        # Other users are not blocked meanwhile: the list and the job's progress bar answer.
        assert client.get("/alumni").status_code == 200
        running = client.get(f"/imports/{job.id}").text
        bar = re.search(r'<progress max="100" value="(\d+)">', running)
        assert bar and int(bar.group(1)) >= seen["percent"] and "stopped responding" not in running
        worker.send_signal(signal.SIGKILL)
        worker.communicate(timeout=WAIT_SECONDS)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.communicate()
    assert worker.returncode == -signal.SIGKILL

    # Whole batches of the file's rows, never part of one: a batch in flight was rolled back.
    until(lambda: not writer_holds_rows(app, database_url), "the killed transaction to be rolled back")
    written = file_alumni(app)
    assert written and len(written) % BATCH_ROWS == 0 and len(written) < ROWS
    assert job_of(app, path.name).state == JobState.APPLYING

    # The job is offered for a restart once its heartbeat is older than the configured limit.
    app.config["IMPORT_STALE_SECONDS"] = 1
    try:
        until(lambda: "stopped responding" in client.get(f"/imports/{job.id}").text, "the job to be shown as stopped")
        response = client.submit(f"/imports/{job.id}/restart", {}, htmx=True)
        assert response.status_code == 200
    finally:
        app.config["IMPORT_STALE_SECONDS"] = 60

    # The restart undid the killed attempt's batches, then imported the whole file once more.
    job = job_of(app, path.name)
    assert job.state == JobState.DONE, job.problem
    assert (job.created_count, job.updated_count, job.unchanged_count) == (ROWS, 0, 0)
    emails = file_alumni(app)
    assert len(emails) == ROWS and len(set(emails)) == ROWS
    assert undone_in_audit(app) == len(written)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ImportUndo)) == 0
    assert "Import complete: 5000 created" in client.get(f"/imports/{job.id}").text
