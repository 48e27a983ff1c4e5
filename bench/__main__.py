"""`python -m bench [SUITE ...] [--database URL] [--scale N]`: run benchmark suites and print figures."""
from __future__ import annotations

import argparse
import importlib
import os

from bench.harness import report

# Each suite module has `run(database_url: str, scale: float, reuse: bool) -> list[Figure]`.
SUITES = {"alumni": "bench.alumni", "reports": "bench.reports", "imports": "bench.imports", "writes": "bench.writes",
          "mail": "bench.mail", "outreach": "bench.outreach"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("suites", nargs="*", choices=[*SUITES, []], help="default: all")
    parser.add_argument("--database", action="append", help="SQLAlchemy URL; repeat for several (default: a SQLite file in bench/out, plus CRM_BENCH_DATABASE_URL if set)")
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the issue's data volume (1.0 = full scale)")
    parser.add_argument("--reuse", action="store_true", help="measure the data a previous run generated instead of generating anew")
    args = parser.parse_args()
    databases = args.database or [f"sqlite:///{os.path.abspath('bench/out/bench.sqlite')}"] + (
        [os.environ["CRM_BENCH_DATABASE_URL"]] if os.environ.get("CRM_BENCH_DATABASE_URL") else []
    )
    os.makedirs("bench/out", exist_ok=True)
    figures = []
    for name in args.suites or list(SUITES):
        suite = importlib.import_module(SUITES[name])
        for url in databases:
            figures.extend(suite.run(url, args.scale, reuse=args.reuse))
    report(figures, {"scale": args.scale})


if __name__ == "__main__":
    main()
