"""Benchmarks: generate data at the scale the issues name, then measure server-side latency.

Run `make bench` (all suites on SQLite, and PostgreSQL when CRM_BENCH_DATABASE_URL is set) or
`.venv/bin/python -m bench SUITE [--database URL]`. Figures are printed as a table and appended to
bench/out/results.jsonl with the machine they came from; README.md records the latest ones.
"""
