"""The bare Flask page the alumni list is measured against (bench/throughput.py): one indexed query
(Tottori's alumni by family name, through the placements index) and a 50-row table from an inline
template — no sign-in, scope, filters, translations or layout. Served by gunicorn as `bench.bare:app`
with BENCH_BARE_DATABASE_URL naming the benchmark's database."""
from __future__ import annotations

import os

from flask import Flask, render_template_string
from sqlalchemy import create_engine, text

TOTTORI = 31
QUERY = text(
    "SELECT a.id, a.family_name, a.given_name, a.residence_country, a.employer, a.updated_at FROM alumni a"
    " WHERE a.id IN (SELECT p.alumnus_id FROM placements p WHERE p.prefecture_id = :prefecture)"
    " ORDER BY a.family_name, a.id LIMIT 50"
)
PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Alumni</title></head><body>
<h1>Alumni</h1><table><thead><tr><th>Name</th><th>Residence</th><th>Employer</th><th>Updated</th></tr></thead><tbody>
{% for row in rows %}<tr><td><a href="/alumni/{{ row.id }}">{{ row.family_name }}, {{ row.given_name }}</a></td>
<td>{{ row.residence_country }}</td><td>{{ row.employer or "—" }}</td><td>{{ row.updated_at }}</td></tr>
{% endfor %}</tbody></table></body></html>"""

app = Flask(__name__)
engine = create_engine(os.environ.get("BENCH_BARE_DATABASE_URL", "sqlite:///bench/out/throughput.sqlite"))


@app.get("/alumni")
def alumni():
    with engine.connect() as connection:
        rows = connection.execute(QUERY, {"prefecture": TOTTORI}).all()
    return render_template_string(PAGE, rows=rows)
