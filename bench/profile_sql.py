"""`python -m bench.profile_sql DATABASE_URL URL [ROLE] [PREFECTURE] [--htmx]`: per-statement timings of one request
(on a database a benchmark generated), slowest first, with the SQL text."""
from __future__ import annotations

import sys
import time

from sqlalchemy import event

from bench.alumni import _signed_in_client
from bench.harness import bench_app
from crm.auth.models import Role
from crm.extensions import db


def main() -> None:
    arguments = [argument for argument in sys.argv[1:] if not argument.startswith("--")]
    database_url, url = arguments[0], arguments[1]
    role = Role(arguments[2]) if len(arguments) > 2 else Role.ADMIN
    prefecture = int(arguments[3]) if len(arguments) > 3 else None
    app = bench_app(database_url, reuse=True)
    app.config["WTF_CSRF_ENABLED"] = False
    client = _signed_in_client(app, role, prefecture)
    headers = {"HX-Request": "true"} if "--htmx" in sys.argv else {}
    client.get(url, headers=headers).close()
    timings = []

    def before(conn, cursor, statement, parameters, context, executemany):
        conn.info["started"] = time.perf_counter()

    def after(conn, cursor, statement, parameters, context, executemany):
        timings.append(((time.perf_counter() - conn.info["started"]) * 1000, statement, parameters))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    started = time.perf_counter()
    response = client.get(url, headers=headers)
    total = (time.perf_counter() - started) * 1000
    print(f"{url}: {response.status_code}, {total:.1f} ms, {len(timings)} statements, {sum(t[0] for t in timings):.1f} ms in SQL")
    for ms, statement, parameters in sorted(timings, key=lambda t: -t[0]):
        print(f"--- {ms:.1f} ms  {parameters}\n{statement}\n")


if __name__ == "__main__":
    main()
