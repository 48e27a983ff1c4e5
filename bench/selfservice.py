"""Self-service request page: does answering take longer for a known address than an unknown one?

Runs the app on a fresh SQLite file with 2,000 alumni, posts the request form for known and unknown
addresses (alternating, CSRF off, rate limits off; the task queue as in production, nothing consuming it) and prints the median and p95 of each.
Usage: .venv/bin/python bench/selfservice.py [rounds]
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from crm import create_app
from crm.alumni import operations as alumni
from crm.alumni.models import Position
from crm.extensions import db


def main(rounds: int = 200) -> None:
    path = Path(tempfile.mkdtemp()) / "bench.sqlite"
    app = create_app({"TESTING": True, "SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}",
                      "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False, "QUEUE_IMMEDIATE": False,
                      "QUEUE_URL": f"sqlite:///{path.parent / 'queue.db'}"})
    with app.app_context():
        from tests.conftest import build_schema  # the test suite's schema builder (tables, FTS, prefectures)

        build_schema()
        for n in range(2000):
            alumni.create_alumnus({"family_name": f"Person{n}", "given_name": "A", "email": f"p{n}@example.org"},
                                  {"prefecture_id": 31, "position": Position.ALT, "start_year": 2015, "end_year": 2017})
        db.session.commit()
    client = app.test_client()
    times = {"known": [], "unknown": []}
    for n in range(rounds):
        for kind, email in (("known", f"p{n % 2000}@example.org"), ("unknown", f"nobody{n}@example.org")):
            started = time.perf_counter()
            assert client.post("/me", data={"email": email}).status_code == 200
            times[kind].append((time.perf_counter() - started) * 1000)
    for kind, values in times.items():
        values.sort()
        print(f"{kind:8} median {statistics.median(values):6.2f} ms  p95 {values[int(len(values) * 0.95)]:6.2f} ms")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
