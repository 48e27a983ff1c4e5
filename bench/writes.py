"""Issue 12 §5: other users' saves while a large import commits. A 100,000-row CP932 CSV is imported
by the CLI (`flask --app crm import alumni FILE --prefecture 31`, check and commit in one pass) while
four Tottori staff accounts, each signed in through real HTTP against gunicorn (one worker, eight
threads) on the same database, add contact-log entries (the timeline's htmx POST) as fast as their
answers come back. Measured: every write that began while the import ran — its answer's status and
its time as the client sees it — and, for comparison, the same users' writes in the five seconds
before it (what the machine gives with no import). Target: none fails, p95 ≤ 1 s, on SQLite and
PostgreSQL.

The same machinery serves tests/test_concurrent_writes.py with a smaller file.
"""
from __future__ import annotations

import http.cookiejar
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from crm.config import ROOT

ROWS = 100_000
CLIENTS = 4
# How long the users write before the import starts: their times then are the machine's own.
BEFORE_SECONDS = 5
TOTTORI = 31
PASSWORD = "correct-horse-battery-staple-9"
CONTACT = {"contact-contacted_on": "2025-06-01", "contact-channel": "meeting", "contact-direction": "outgoing",
           "contact-summary": "Asked about the sister-city visit"}


def make_writers(app, count: int = CLIENTS, prefecture: int = TOTTORI) -> list[tuple[str, int]]:
    """`count` staff accounts of `prefecture`, each with an alumnus of its own → [(email, alumnus id)]."""
    from crm.alumni import operations
    from crm.alumni.models import Position
    from crm.auth import operations as accounts
    from crm.auth.models import Role
    from crm.extensions import db

    writers = []
    with app.app_context():
        for number in range(count):
            email = f"writer-{number}-{os.getpid()}@example.jp"
            accounts.create_user(email, f"Writer {number}", Role.PREFECTURE_STAFF, PASSWORD, prefecture_id=prefecture)
            alumnus = operations.create_alumnus({"family_name": "Writer", "given_name": f"Number{number}", "email": f"w{number}@example.org"},
                                                {"prefecture_id": prefecture, "position": Position.ALT, "start_year": 2015, "end_year": 2017})
            db.session.commit()
            writers.append((email, alumnus.id))
    return writers


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def app_environment(database_url: str, **extra) -> dict:
    return {**os.environ, "CRM_DATABASE_URL": database_url, "CRM_SECRET_KEY": "concurrent-writes", "CRM_SESSION_COOKIE_SECURE": "0",
            "CRM_RATELIMIT_STORAGE_URI": "memory://", **extra}


class Server:
    """gunicorn serving the app on a free port of 127.0.0.1 (one worker, threads: as many requests at
    once as there are clients)."""

    def __init__(self, database_url: str, threads: int = 8, workers: int = 1, application: str = "crm:create_app()",
                 ready: str = "/login", **environment):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--threads", str(threads), "--bind", f"127.0.0.1:{self.port}",
             "--log-level", "warning", application],
            cwd=ROOT, env=app_environment(database_url, **environment), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn ended: {self.process.stdout.read()}")
            try:
                urllib.request.urlopen(f"{self.url}{ready}", timeout=5).read()
                return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("gunicorn did not answer within 60 s")

    def stop(self) -> str:
        if self.process.poll() is None:
            self.process.terminate()
        try:
            output, _ = self.process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            output, _ = self.process.communicate()
        return output


@dataclass
class Write:
    began: float
    seconds: float
    status: int


@dataclass(eq=False)  # threads are told apart by identity
class Writer(threading.Thread):
    """One user adding contact entries over HTTP until told to stop."""

    base: str
    email: str
    alumnus_id: int
    writes: list[Write] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    problem: str | None = None

    def __post_init__(self):
        threading.Thread.__init__(self, daemon=True)
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def _request(self, path: str, data: dict | None = None, headers: dict | None = None) -> tuple[int, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(self.base + path, data=body, headers={"Accept-Language": "en", **(headers or {})})
        try:
            with self.opener.open(request, timeout=120) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(errors="replace")
        except OSError as error:  # no answer at all: a failed write too
            return 0, repr(error)

    def sign_in(self) -> str:
        _status, page = self._request("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        self._request("/login", {"email": self.email, "password": PASSWORD, "csrf_token": token})
        status, page = self._request(f"/alumni/{self.alumnus_id}")
        if status != 200:
            raise RuntimeError(f"{self.email} cannot open alumnus {self.alumnus_id}: {status}")
        return json.loads(re.search(r"<body hx-headers='([^']+)'", page).group(1).replace("&#34;", '"'))["X-CSRFToken"]

    def run(self):
        try:
            token = self.sign_in()
        except Exception as error:  # noqa: BLE001 — reported by the caller
            self.problem = repr(error)
            return
        while not self.stop.is_set():
            began = time.monotonic()
            status, _page = self._request(f"/alumni/{self.alumnus_id}/contacts", CONTACT,
                                          {"HX-Request": "true", "X-CSRFToken": token})
            self.writes.append(Write(began, time.monotonic() - began, status))


def start_import(database_url: str, path: Path, **environment) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "crm", "import", "alumni", str(path), "--prefecture", str(TOTTORI)],
                            cwd=ROOT, env=app_environment(database_url, **environment), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def percentile(writes: list[Write], share: float) -> float:
    times = sorted(write.seconds for write in writes)
    return times[min(len(times) - 1, int(share * len(times)))] if times else 0.0


@dataclass
class Outcome:
    import_seconds: float
    import_output: str
    writes: list[Write]  # the writes that began while the import ran
    before: list[Write]  # the same users' writes in the seconds before it: what the machine gives anyway

    @property
    def failed(self) -> list[Write]:
        return [write for write in self.writes + self.before if write.status != 200]

    def percentile(self, share: float) -> float:
        return percentile(self.writes, share)


def import_while_writing(database_url: str, writers: list[tuple[str, int]], csv_path: Path, **environment) -> Outcome:
    """Serve the app, start the writers, import `csv_path` by the CLI meanwhile; → what the writers got."""
    server = Server(database_url)
    clients = [Writer(server.url, email, alumnus_id) for email, alumnus_id in writers]
    try:
        for client in clients:
            client.start()
        time.sleep(1)  # signed in and writing
        problems = [client.problem for client in clients if client.problem]
        if problems:
            raise RuntimeError(f"writers could not start: {problems}")
        warm = time.monotonic()
        time.sleep(BEFORE_SECONDS)
        began = time.monotonic()
        importer = start_import(database_url, csv_path, **environment)
        output, _ = importer.communicate()
        ended = time.monotonic()
        if importer.returncode != 0:
            raise RuntimeError(f"the import failed: {output[-2000:]}")
    finally:
        for client in clients:
            client.stop.set()
        for client in clients:
            client.join(timeout=180)
        server_output = server.stop()
    writes = [write for client in clients for write in client.writes if began <= write.began <= ended]
    before = [write for client in clients for write in client.writes if warm <= write.began and write.began + write.seconds < began]
    outcome = Outcome(ended - began, output, writes, before)
    if outcome.failed:
        print(server_output[-3000:])
    return outcome


def run(database_url: str, scale: float = 1.0, reuse: bool = False):
    from bench.harness import Figure, bench_app, database_label
    from bench.imports import write_csv

    count = max(1, int(ROWS * scale))
    app = bench_app(database_url, reuse=False)  # empty: the import creates every row
    label = database_label(app)
    writers = make_writers(app)
    with tempfile.TemporaryDirectory(prefix="crm-bench-writes-") as folder:
        path = Path(folder) / "alumni-cp932.csv"
        write_csv(path, count)
        load = os.getloadavg()[0]
        outcome = import_while_writing(database_url, writers, path, CRM_QUEUE_URL=f"sqlite:///{folder}/queue.db")
    times = [write.seconds * 1000 for write in outcome.writes]
    print(f"{label}: import of {count} rows {outcome.import_seconds:.1f} s ({outcome.import_output.strip().splitlines()[-1]}); "
          f"{len(times)} writes by {CLIENTS} users meanwhile, {len(outcome.failed)} failed "
          f"{sorted({write.status for write in outcome.failed})}; p50 {statistics.median(times):.0f} ms, "
          f"p95 {outcome.percentile(0.95) * 1000:.0f} ms, max {max(times):.0f} ms (before the import: {len(outcome.before)} writes, "
          f"p95 {percentile(outcome.before, 0.95) * 1000:.0f} ms); load average {load:.2f} → {os.getloadavg()[0]:.2f}")
    return [Figure("writes", label, f"contact-log POST by {CLIENTS} users during a {count}-row CSV import "
                                    f"({len(outcome.failed)} of {len(times)} failed; import {outcome.import_seconds:.1f} s)",
                   len(times), round(statistics.median(times), 1), round(outcome.percentile(0.95) * 1000, 1), round(max(times), 1),
                   None, 1000)]
