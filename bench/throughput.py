"""Issue 14 "Faster, not slower": requests per second of the alumni list (Tottori staff, 110,000
alumni) against a bare Flask page with one indexed query and a 50-row table on the same data
(bench/bare.py), both served by gunicorn with 2 workers, measured side by side in one run: rounds
alternate between the two so that whatever else the machine does falls on both alike. Each round
keeps CONCURRENCY clients requesting for ROUND_SECONDS; the ratio is the median of the rounds'
ratios (each list round against the bare round just before it), the rates the median rounds.
Target: the list reaches ≥ 0.5 of the bare page's requests/s.

    python -m bench throughput [--reuse]
"""
from __future__ import annotations

import http.client
import re
import statistics
import threading
import time
import urllib.parse

from bench.alumni import PASSWORD, TOTTORI, generate
from bench.harness import Figure, bench_app, database_label
from bench.writes import Server
from crm.auth import operations as accounts
from crm.auth.models import Role
from crm.extensions import db

ALUMNI = 110_000
CONCURRENCY = 4
ROUND_SECONDS = 4
ROUNDS = 6
EMAIL = "bench-throughput@example.jp"
TARGET_RATIO = 0.5
LIST_URL = "/alumni"


def _request(port: int, path: str, method: str = "GET", body: str | None = None, headers: dict | None = None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request(method, path, body=body, headers={"Accept-Language": "en", **(headers or {})})
        response = connection.getresponse()
        cookies = [value.split(";", 1)[0] for name, value in response.getheaders() if name.lower() == "set-cookie"]
        return response.status, cookies, response.read()
    finally:
        connection.close()


def sign_in(port: int) -> str:
    """The session cookie of the Tottori staff account, signed in over HTTP."""
    _status, cookie, page = _request(port, "/login")
    token = re.search(rb'name="csrf_token" value="([^"]+)"', page).group(1).decode()
    cookie = next(c for c in cookie if c.startswith("crm_session="))
    form = urllib.parse.urlencode({"email": EMAIL, "password": PASSWORD, "csrf_token": token})
    status, signed_in, _page = _request(port, "/login", "POST", form,
                                        {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"})
    if status != 303:
        raise RuntimeError(f"sign-in answered {status}")
    return next(c for c in signed_in if c.startswith("crm_session="))


def requests_per_second(port: int, path: str, cookie: str = "", seconds: float = ROUND_SECONDS) -> tuple[float, list[float]]:
    """CONCURRENCY clients requesting `path` for `seconds` → (requests/s, each request's ms)."""
    headers = {"Cookie": cookie} if cookie else {}
    timings: list[float] = []
    failures: list[int] = []
    deadline = time.perf_counter() + seconds

    def client():
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            status, _cookie, _body = _request(port, path, headers=headers)
            timings.append((time.perf_counter() - started) * 1000)
            if status != 200:
                failures.append(status)

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(CONCURRENCY)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise RuntimeError(f"{path} answered {sorted(set(failures))}")
    return len(timings) / (time.perf_counter() - started), timings


def _figure(label: str, what: str, rates: list[float], timings: list[float]) -> Figure:
    ordered = sorted(timings)
    return Figure("throughput", label, f"{what}: {statistics.median(rates):.0f} requests/s (rounds {', '.join(f'{r:.0f}' for r in rates)})",
                  len(ordered), round(statistics.median(ordered), 1), round(ordered[int(0.95 * (len(ordered) - 1))], 1), round(ordered[-1], 1))


def run(database_url: str, scale: float = 1.0, reuse: bool = False):
    if database_url.startswith("sqlite:///") and database_url.endswith("bench.sqlite"):
        database_url = database_url.replace("bench.sqlite", "throughput.sqlite")  # its own data: 110,000 alumni
    app = bench_app(database_url, reuse)
    label = database_label(app)
    if not reuse:
        print(f"{label}: generated {generate(app, int(ALUMNI * scale), 0)}")
    with app.app_context():
        if accounts.find_by_email(EMAIL) is None:
            accounts.create_user(EMAIL, "Bench", Role.PREFECTURE_STAFF, PASSWORD, prefecture_id=TOTTORI)
            db.session.commit()
        db.session.remove()
    crm = Server(database_url, threads=1, workers=2, application="wsgi:app", CRM_RATELIMIT_STORAGE_URI="database://")  # as production
    bare = Server(database_url, threads=1, workers=2, application="bench.bare:app", ready="/alumni", CRM_RATELIMIT_STORAGE_URI="database://",
                  BENCH_BARE_DATABASE_URL=database_url)
    try:
        crm_port, bare_port = crm.port, bare.port
        cookie = sign_in(crm_port)
        requests_per_second(crm_port, LIST_URL, cookie, 2)  # warm both: imports, caches, connections
        requests_per_second(bare_port, "/alumni", "", 2)
        bare_rates, list_rates, bare_timings, list_timings = [], [], [], []
        for _ in range(ROUNDS):
            rate, timings = requests_per_second(bare_port, "/alumni")
            bare_rates.append(rate)
            bare_timings += timings
            rate, timings = requests_per_second(crm_port, LIST_URL, cookie)
            list_rates.append(rate)
            list_timings += timings
    finally:
        crm.stop()
        bare.stop()
    ratio = statistics.median(rate / bare for rate, bare in zip(list_rates, bare_rates, strict=True))
    print(f"throughput: alumni list / bare page = {ratio:.2f} (target ≥ {TARGET_RATIO})")
    return [_figure(label, "bare Flask page, one query, 50 rows", bare_rates, bare_timings),
            _figure(label, f"alumni list, Tottori staff ({ratio:.2f} of the bare page; target ≥ {TARGET_RATIO})", list_rates, list_timings)]
