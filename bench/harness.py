"""Shared pieces of every benchmark: a database built at scale, timed requests, the machine, a report."""
from __future__ import annotations

import gc
import json
import os
import platform
import statistics
import subprocess
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from sqlalchemy import event, inspect, text

from crm import create_app
from crm.alumni.models import POSTGRESQL_SEARCH_INDEXES, SEARCH_TABLES, search_table_rebuild
from crm.db import UNMODELLED_INDEXES
from crm.extensions import db
from crm.reference.prefectures import sync_prefectures

OUT = Path(__file__).resolve().parent / "out"


@dataclass
class Figure:
    suite: str
    database: str
    what: str
    n: int
    p50_ms: float
    p95_ms: float
    max_ms: float
    queries: int | None = None
    target_ms: float | None = None
    peak_mb: float | None = None  # peak memory, where a suite measures it (see the suite for how)
    target_mb: float | None = None

    @property
    def met(self) -> str:
        if self.target_ms is None and self.target_mb is None:
            return ""
        met = (self.target_ms is None or self.p95_ms <= self.target_ms) and (
            self.target_mb is None or (self.peak_mb is not None and self.peak_mb <= self.target_mb))
        return "yes" if met else "NO"


def machine() -> dict:
    """What the figures were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{kib / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "memory": memory, "python": platform.python_version()}


def bench_app(database_url: str, reuse: bool = False):
    """The app on an empty benchmark database (dropped and rebuilt), or on the last run's data."""
    app = create_app(
        {
            "TESTING": False,
            "SECRET_KEY": "bench",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SESSION_COOKIE_SECURE": False,
        }
    )
    if reuse:
        with app.app_context():
            db.create_all()  # tables added since the data was generated (it creates only missing ones)
            add_missing_indexes()
        gc.freeze()  # as wsgi.py does in production
        return app
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as connection:
                connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
                connection.execute(text("CREATE SCHEMA public"))
        else:
            db.drop_all()
        db.create_all()
        with db.engine.begin() as connection:
            sync_prefectures(connection)
    gc.freeze()  # as wsgi.py does in production
    return app


def add_missing_indexes() -> None:
    """The indexes and search tables of the current models on data generated before them, as the
    migrations would leave it (create_all adds no index to an existing table): indexes since removed
    from the models (named ix_…) are dropped, new ones built on the rows already there. Refreshes
    planner statistics when anything changed, or when a SQLite database has none (generated
    before the harness committed its ANALYZE)."""
    engine = db.engine
    dialect = engine.dialect.name
    changed = False
    with engine.begin() as connection:
        inspector = inspect(connection)
        for table in db.metadata.sorted_tables:
            present = {index["name"] for index in inspector.get_indexes(table.name)}
            modelled = {index.name for index in table.indexes}
            for name in sorted(present - modelled - UNMODELLED_INDEXES):
                if name.startswith("ix_"):
                    connection.exec_driver_sql(f'DROP INDEX "{name}"')
                    changed = True
            for index in table.indexes:
                condition = getattr(index, "_ddl_if", None)
                if index.name not in present and (condition is None or condition.dialect in (None, dialect)):
                    index.create(connection)
                    changed = True
        alumni_indexes = {index["name"] for index in inspector.get_indexes("alumni")}
        for name, statement in POSTGRESQL_SEARCH_INDEXES.items():
            if dialect == "postgresql" and name not in alumni_indexes:
                connection.exec_driver_sql(statement)
                changed = True
        for search_table, statements in SEARCH_TABLES.items():
            if dialect == "sqlite" and not inspector.has_table(search_table):
                for statement in statements:
                    connection.exec_driver_sql(statement)
                connection.exec_driver_sql(search_table_rebuild(search_table))
                changed = True
    if changed or (dialect == "sqlite" and not inspect(engine).has_table("sqlite_stat1")):
        refresh_statistics(engine)


def analyze(app) -> float:
    """Planner statistics for the freshly loaded tables, as a database in use has them (autovacuum on
    PostgreSQL, which also sets the visibility map index-only scans rely on; `ANALYZE` on SQLite,
    whose planner otherwise guesses) — seconds taken."""
    started = time.perf_counter()
    with app.app_context():
        refresh_statistics(db.engine)
        db.session.remove()
    return round(time.perf_counter() - started, 1)


def refresh_statistics(engine) -> None:
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))
    else:
        # Committed: SQLite connections begin their own transaction (crm.db), so an "autocommit"
        # connection would roll the statistics back when it closes.
        with engine.begin() as connection:
            connection.execute(text("ANALYZE"))


def database_label(app) -> str:
    with app.app_context():
        name = db.engine.dialect.name
        version = db.session.execute(text("select sqlite_version()" if name == "sqlite" else "show server_version")).scalar()
        db.session.remove()
    return f"{name} {version}"


@contextmanager
def counting_queries(app):
    """Counts SQL statements executed inside the block: `with counting_queries(app) as counter: … counter.n`."""

    class Counter:
        n = 0

    def count(*_args, **_kwargs):
        Counter.n += 1

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield Counter
    finally:
        event.remove(engine, "before_cursor_execute", count)


def time_requests(client, urls, repeat: int, headers=None) -> list[float]:
    """Milliseconds per request, measured around the WSGI call (server side, no network)."""
    timings = []
    for _ in range(repeat):
        for url in urls:
            started = time.perf_counter()
            response = client.get(url, headers=headers or {})
            elapsed = (time.perf_counter() - started) * 1000
            if response.status_code != 200:
                raise RuntimeError(f"{url} answered {response.status_code}")
            response.close()
            timings.append(elapsed)
    return timings


def figure(suite, database, what, timings, queries=None, target_ms=None) -> Figure:
    ordered = sorted(timings)
    p95 = ordered[max(0, int(round(0.95 * len(ordered))) - 1)]
    return Figure(suite, database, what, len(ordered), round(statistics.median(ordered), 1), round(p95, 1), round(ordered[-1], 1), queries, target_ms)


def report(figures: list[Figure], extra: dict | None = None) -> None:
    """Print a Markdown table and append the run to bench/out/results.jsonl."""
    info = machine()
    print(f"\nmachine: {info['cpu']}, {info['cores']} cores, {info['memory']}, Python {info['python']}")
    memory = any(f.peak_mb is not None for f in figures)
    print("| suite | database | what | n | p50 ms | p95 ms | max ms | SQL/request | target p95 |" + (" peak MB | target MB |" if memory else "") + " met |")
    print("|---|---|---|---|---|---|---|---|---|" + ("---|---|" if memory else "") + "---|")
    for f in figures:
        memory_cells = f" {f.peak_mb if f.peak_mb is not None else ''} | {f.target_mb or ''} |" if memory else ""
        print(f"| {f.suite} | {f.database} | {f.what} | {f.n} | {f.p50_ms} | {f.p95_ms} | {f.max_ms} | {f.queries if f.queries is not None else ''} | {f.target_ms or ''} |{memory_cells} {f.met} |")
    OUT.mkdir(exist_ok=True)
    with (OUT / "results.jsonl").open("a", encoding="utf-8") as handle:
        handle.write(json.dumps({"at": time.strftime("%Y-%m-%dT%H:%M:%S"), "machine": info, "figures": [asdict(f) for f in figures], **(extra or {})}, ensure_ascii=False) + "\n")


def git_revision() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
