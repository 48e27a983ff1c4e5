"""The home pages as work queues, on the alumni suite's registry (100,000 alumni, 1,000,000 contact
entries at full scale, 5 % of them with a follow-up date between 30 days ago and 60 days ahead).

Measures server-side p50/p95 of `/` for Tottori staff (follow-ups mine and the office's, activities
to verify, terms ending, recent imports), an administrator (denials, failed imports) and the
ministry (the national headline from the protected publication), and the SQL statements each runs.
Target: p95 ≤ 50 ms, as the alumni list and detail pages.
"""
from __future__ import annotations

from sqlalchemy import select, update

from bench import alumni
from bench.harness import bench_app, counting_queries, database_label, figure, time_requests
from crm.alumni.models import ContactEntry
from crm.auth.models import Role, User
from crm.extensions import db


def run(database_url: str, scale: float = 1.0, reuse: bool = False):
    app = bench_app(database_url, reuse)
    app.config["WTF_CSRF_ENABLED"] = False  # the benchmark signs in with a plain POST
    label = database_label(app)
    if not reuse:
        generated = alumni.generate(app, int(alumni.ALUMNI * scale), int(alumni.CONTACTS * scale))
        print(f"{label}: generated {generated}")
    tottori = alumni._signed_in_client(app, Role.PREFECTURE_STAFF, alumni.TOTTORI)
    with app.app_context():
        # A third of Tottori's follow-ups are the bench user's own; the rest are the office's.
        user_id = db.session.scalar(select(User.id).where(User.email == f"bench-{Role.PREFECTURE_STAFF.value}@example.jp"))
        db.session.execute(update(ContactEntry).where(ContactEntry.prefecture_id == alumni.TOTTORI, ContactEntry.follow_up_on.is_not(None),
                                                      ContactEntry.id % 3 == 0).values(assignee_id=user_id))
        db.session.commit()
        db.session.remove()
    figures = []
    for who, client in (("Tottori staff", tottori), ("admin", alumni._signed_in_client(app, Role.ADMIN)),
                        ("ministry", alumni._signed_in_client(app, Role.MINISTRY_REVIEWER))):
        time_requests(client, ["/"], 2)  # warm caches (and the ministry's publication)
        with counting_queries(app) as counter:
            timings = time_requests(client, ["/"], 40)
        figures.append(figure("home", label, f"{who}: home page (work queues)", timings, round(counter.n / len(timings), 1), 50))
    return figures
