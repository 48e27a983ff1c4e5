"""Background work as production runs it: two app servers with instance folders of their own, one
PostgreSQL, one Redis, and the task queue's worker (`flask --app crm worker`) in a process of its own.

A file uploaded on server A is checked, watched and committed from server B; the worker is killed
(SIGKILL) in the middle of the commit, the job is restarted from A once its heartbeat is stale, and a
new worker finishes it: every row once, none of the killed commit's.
"""
from __future__ import annotations

import datetime
import http.client
import io
import os
import re
import signal
import subprocess
import sys

import pytest
from huey import RedisHuey
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from crm import tasks
from crm.alumni.models import Alumnus
from crm.auth.models import Role
from crm.config import ROOT
from crm.extensions import db
from crm.imports.models import CheckedBatch, ImportUndo, ImportUpload, JobState
from tests.conftest import PASSWORD, TOTTORI
from tests.test_imports import csv_bytes, distinct_names, undone_in_audit
from tests.test_imports_kill import job_of, reading, until, writer_holds_rows
from tests.test_throttle import Server, redis_url  # noqa: F401 (a fixture)

ROWS = 3000
BATCH_ROWS = 1000  # three batches; the first worker pauses after each
PAUSE_SECONDS = 2
STALE_SECONDS = 3
WAIT_SECONDS = 40
EXPORT_INLINE_ROWS = 10


def test_the_registered_tasks_are_the_workers(app):
    """What `flask --app crm worker` runs: every task the app's rooms register, the scheduled warm-up
    and the hourly clean-up of expired exports included."""
    assert {"imports.run_phase", "reports.warm", "imports.export", "imports.expire_exports"} <= set(tasks._TASKS)
    with app.app_context():
        queue = tasks._queue()
        warm = queue.task("reports.warm")
        assert warm.task_class in queue.huey._registry._periodic_tasks
        assert warm.task_class.validate_datetime(None, datetime.datetime(2026, 12, 3, 18, 30))
        assert not warm.task_class.validate_datetime(None, datetime.datetime(2026, 12, 3, 3, 30))
        expire = queue.task("imports.expire_exports")
        assert all(expire.task_class.validate_datetime(None, datetime.datetime(2026, 12, 3, hour, 15)) for hour in range(24))
        assert not expire.task_class.validate_datetime(None, datetime.datetime(2026, 12, 3, 3, 30))


class Browser:
    """One person's session, sent to whichever server it is pointed at (as behind a load balancer)."""

    def __init__(self, server: Server, email: str):
        cookie, token = server.sign_in_form()
        response = server.request("POST", "/login", {"email": email, "password": PASSWORD, "csrf_token": token}, cookie)
        assert response.status == 303, response.text
        self.remember(response)
        self.token = re.search(r'name="csrf_token" value="([^"]+)"', self.page(server, "/imports")).group(1)

    def remember(self, response: http.client.HTTPResponse) -> None:
        """Keep the session cookie the server last set (signing in, or the first CSRF token)."""
        for cookie in response.headers.get_all("Set-Cookie") or ():
            if cookie.startswith("crm_session="):
                self.cookie = cookie.split(";", 1)[0]

    def page(self, server: Server, path: str) -> str:
        response = server.request("GET", path, cookie=self.cookie)
        assert response.status == 200, response.text
        self.remember(response)
        return response.text

    def post(self, server: Server, path: str, fields: dict) -> http.client.HTTPResponse:
        return server.request("POST", path, {**fields, "csrf_token": self.token}, self.cookie)

    def upload(self, server: Server, data: bytes, name: str) -> http.client.HTTPResponse:
        boundary, body = encode_multipart({"csrf_token": self.token, "target": "alumni", "file": FileStorage(io.BytesIO(data), filename=name)})
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        connection.request("POST", "/imports", body, {"Cookie": self.cookie, "Accept-Language": "en",
                                                      "Content-Type": f"multipart/form-data; boundary={boundary}"})
        response = connection.getresponse()
        response.text = response.read().decode()
        connection.close()
        return response


def start_worker(environment: dict, **extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "crm", "worker", "--threads", "1"],
                            cwd=ROOT, env={**environment, **extra}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.kill()
    process.communicate()


def file_alumni(app) -> list[str]:
    with reading(app):
        return list(db.session.scalars(select(Alumnus.email).where(Alumnus.email.like("queue-%@example.com"))))


def bar(html: str) -> int | None:
    found = re.search(r'<progress max="100" value="(\d+)">', html)
    return int(found.group(1)) if found else None


@pytest.fixture
def production(app, database_url, redis_url, tmp_path):  # noqa: F811 (redis_url is the fixture imported above)
    """Two gunicorn servers and the environment of their workers."""
    if not database_url.startswith("postgresql"):
        pytest.skip("two app servers share one PostgreSQL: this test runs in the PostgreSQL pass of `make test`")
    RedisHuey("crm", url=redis_url).flush()  # no task left over from an earlier run
    environment = {"CRM_QUEUE_URL": redis_url, "CRM_IMPORT_BATCH_ROWS": str(BATCH_ROWS),
                   "CRM_IMPORT_STALE_SECONDS": str(STALE_SECONDS), "CRM_EXPORT_INLINE_ROWS": str(EXPORT_INLINE_ROWS)}
    servers = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        servers.append(Server(database_url, tmp_path, 1, False, CRM_INSTANCE_PATH=str(tmp_path / name), **environment))
    (tmp_path / "worker").mkdir()
    worker_environment = {**{key: value for key, value in os.environ.items() if not key.startswith("CRM_")},
                          "CRM_DATABASE_URL": database_url, "CRM_SECRET_KEY": "worker-secret",
                          "CRM_INSTANCE_PATH": str(tmp_path / "worker"), **environment}
    try:
        for server in servers:
            server.wait_until_serving()
        yield servers, worker_environment
    finally:
        for server in servers:
            server.stop()


def test_a_job_uploaded_on_one_server_is_committed_from_another_and_survives_a_killed_worker(app, production, make_user):
    (a, b), worker_environment = production
    _, email = make_user(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    browser = Browser(a, email)
    name = "queue-test.csv"
    data = csv_bytes([[f"{family}, Test", "", f"queue-{year}-{i}@example.com", "US", "", "ALT", f"{year}-{year + 2}"]
                      for i, family in enumerate(distinct_names(ROWS // 3)) for year in (2012, 2015, 2018)])

    response = browser.upload(a, data, name)
    assert response.status == 303, response.text
    job = job_of(app, name)
    assert f"/imports/{job.id}" in response.getheader("Location")

    first = start_worker(worker_environment, CRM_IMPORT_BATCH_PAUSE=str(PAUSE_SECONDS))
    second = None
    try:
        # The check, started and watched on B.
        columns = {f"column-{index}": key for index, key in enumerate(job.mapping[header] for header in job.headers)}
        assert browser.post(b, f"/imports/{job.id}/mapping", columns).status == 200
        until(lambda: job_of(app, name).state == JobState.VALIDATED, "the check", first, WAIT_SECONDS)

        # The commit, clicked on B and watched on A, until the worker has written a batch of it.
        # A plain form (no htmx) is sent on to the job's page, where the progress is followed.
        response = browser.post(b, f"/imports/{job.id}/commit", {})
        assert response.status == 303 and response.getheader("Location").endswith(f"/imports/{job.id}")
        until(lambda: (percent := bar(page := browser.page(a, f"/imports/{job.id}"))) is not None and percent >= 30
              and "stopped responding" not in page, "the commit to pass 30 %", first, WAIT_SECONDS)
        first.send_signal(signal.SIGKILL)
        first.communicate(timeout=WAIT_SECONDS)
        assert first.returncode == -signal.SIGKILL

        # Nothing half-written: whole batches of the file (committed one by one), none of the batch in flight.
        until(lambda: not writer_holds_rows(app, app.config["SQLALCHEMY_DATABASE_URI"]), "the killed batch to be rolled back")
        written = file_alumni(app)
        assert written and len(written) % BATCH_ROWS == 0 and len(written) < ROWS
        assert job_of(app, name).state == JobState.APPLYING

        # Another worker, and a restart from A once the job has stopped answering.
        second = start_worker(worker_environment)
        until(lambda: "stopped responding" in browser.page(a, f"/imports/{job.id}"), "the job to show as stopped",
              second, WAIT_SECONDS)
        response = browser.post(a, f"/imports/{job.id}/restart", {})
        assert response.status == 303 and response.getheader("Location").endswith(f"/imports/{job.id}")
        until(lambda: job_of(app, name).state == JobState.DONE, "the restarted commit", second, WAIT_SECONDS)
    finally:
        stop(first)
        if second is not None:
            stop(second)

    job = job_of(app, name)
    # attempts: the check, the killed commit, the restarted one
    assert (job.created_count, job.updated_count, job.unchanged_count, job.attempts) == (ROWS, 0, 0, 3)
    assert f"Import complete: {ROWS} created" in browser.page(b, f"/imports/{job.id}")
    emails = file_alumni(app)
    assert len(emails) == ROWS and len(set(emails)) == ROWS
    assert undone_in_audit(app) == len(written)  # the restart undid the killed commit's batches first
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ImportUndo)) == 0
        # The upload and the check's rows are gone with the finished job.
        assert db.session.scalar(select(func.count()).select_from(ImportUpload)) == 0
        assert db.session.scalar(select(func.count()).select_from(CheckedBatch)) == 0


def test_an_export_asked_on_one_server_is_written_by_the_worker_and_downloaded_from_another(app, production, make_user,
                                                                                            make_alumnus):
    (a, b), worker_environment = production
    emails = [f"export-{index}@example.com" for index in range(3 * EXPORT_INLINE_ROWS)]
    for index, email in enumerate(emails):
        make_alumnus(TOTTORI, family=f"Export{index}", email=email)
    _, requester = make_user(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    browser = Browser(a, requester)

    response = a.request("GET", "/imports/export/alumni?format=csv", cookie=browser.cookie)
    assert response.status == 303, response.text
    page = response.getheader("Location").removeprefix(f"http://127.0.0.1:{a.port}")
    assert 'hx-trigger="every 1s"' in browser.page(b, page)  # queued: no web process writes it

    worker = start_worker(worker_environment)
    try:
        until(lambda: "/download" in browser.page(b, page), "the export to be written", worker, WAIT_SECONDS)
    finally:
        stop(worker)
    download = b.request("GET", f"{page}/download", cookie=browser.cookie)
    assert download.status == 200 and "attachment" in download.getheader("Content-Disposition")
    assert sorted(re.findall(r"export-\d+@example\.com", download.text)) == sorted(emails)
    other = Browser(b, make_user(Role.PREFECTURE_STAFF, prefecture=TOTTORI)[1])
    assert b.request("GET", f"{page}/download", cookie=other.cookie).status == 404
