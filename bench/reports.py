"""Issue 6 at scale: the alumni suite's registry plus 200,000 activities over 10 年度, ambassadors, and
investment rows for all 47 prefectures and years.

Measures server-side p50/p95 of the local return report of one prefecture with typical volume
(Tottori: about 1/47 of the registry, like every prefecture here) as its own staff (full figures and
notable activities) and as the ministry reviewer (statistical disclosure control), and of the
ministry dashboard: the page, the tile-map partial for each indicator, and the drill-down to one
prefecture's aggregates — with the SQL statements each request runs.
Target (issue 6): p95 ≤ 150 ms for the report and the dashboard.

Figures are served from the precomputed store (crm.reports.precomputed) once computed, so the cases
above measure what a reader gets when nothing changed since the last view. What freshness costs is
measured separately, each request right after a real write through the ORM (not timed): an
activity (recomputes the activity part of one 年度 of one prefecture), a consent change (the cohort
part of every 年度 of one prefecture), and a cold dashboard (no stored figures: every prefecture
computed, as after a deploy without `flask --app crm reports warm`).

Without `--reuse` the registry is generated first (bench.alumni.generate, 100,000 alumni and
1,000,000 contact entries at scale 1). With `--reuse` the previous run's data is measured; if that
run was the alumni suite's (no activities yet), the activities and investment are added to it once.
"""
from __future__ import annotations

import random
import time
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import delete, func, insert, select

from bench.alumni import ALUMNI, CONTACTS, COUNTRIES, TOTTORI, _chunks, _signed_in_client, generate
from bench.harness import analyze, bench_app, counting_queries, database_label, figure, time_requests
from crm.alumni.models import Alumnus, Placement
from crm.ambassadors import operations as ambassador_operations
from crm.ambassadors.models import Activity, ActivityKind, ActivityStatus, Ambassador, Investment
from crm.auth.models import Role
from crm.extensions import db
from crm.reference import fiscal_year
from crm.reports.models import ReportFigures, ReportPublication
from crm.reports.returns import INDICATORS

ACTIVITIES, YEARS = 200_000, 10
AMBASSADORS_PER_PREFECTURE = 12
TARGET_MS = 150
KINDS = list(ActivityKind)
# Most activities get verified; some wait for review, a few are rejected (neither counts).
STATUSES = [ActivityStatus.VERIFIED] * 7 + [ActivityStatus.REPORTED] * 2 + [ActivityStatus.REJECTED]


def generate_activities(app, activities: int, seed: int = 6) -> dict:
    """Bulk-insert activities, ambassadors and investment (Core inserts, no audit rows)."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    started = time.perf_counter()
    this_year = fiscal_year.fiscal_year_of(date.today())
    first_year = this_year - YEARS + 1
    with app.app_context():
        placements = db.session.execute(select(Placement.alumnus_id, Placement.prefecture_id)).all()
        db.session.remove()
        first_day, last_day = fiscal_year.bounds(first_year)[0], date.today()
        span = (last_day - first_day).days
        rows = []
        for _ in range(activities):
            alumnus_id, prefecture_id = placements[rng.randrange(len(placements))]
            occurred = first_day + timedelta(days=rng.randint(0, span))
            kind = rng.choice(KINDS)
            rows.append({
                "alumnus_id": alumnus_id, "prefecture_id": prefecture_id, "occurred_on": occurred,
                "fiscal_year": fiscal_year.fiscal_year_of(occurred), "kind": kind, "country": rng.choice(COUNTRIES),
                "description": "Introduced the prefecture at a regional festival and answered questions about visiting.",
                "people_reached": rng.randint(0, 500), "visitors_brought": rng.randint(0, 20) if rng.random() < 0.3 else 0,
                "economic_value_yen": rng.randint(0, 2_000_000) if rng.random() < 0.4 else 0,
                "economic_value_basis": "Visitors × average spend (prefectural tourism survey)",
                "funds_raised_yen": rng.randint(0, 500_000) if kind == ActivityKind.FUNDRAISING else 0,
                "media_items": rng.randint(0, 3) if kind == ActivityKind.ARTICLE else 0,
                "status": rng.choice(STATUSES), "created_at": now, "version": 1,
            })
        ambassadors = []
        by_prefecture: dict[int, list[int]] = {}
        for alumnus_id, prefecture_id in placements:
            by_prefecture.setdefault(prefecture_id, []).append(alumnus_id)
        for prefecture_id, members in sorted(by_prefecture.items()):
            for alumnus_id in rng.sample(members, min(AMBASSADORS_PER_PREFECTURE, len(members))):
                start = fiscal_year.bounds(rng.randint(first_year, this_year))[0]
                end = start + timedelta(days=365 * rng.randint(1, 4) - 1) if rng.random() < 0.7 else None
                ambassadors.append({"alumnus_id": alumnus_id, "prefecture_id": prefecture_id, "title": "ふるさと大使",
                                    "region": "North America", "term_start_on": start, "term_end_on": end,
                                    "created_at": now, "version": 1})
        investments = [{"prefecture_id": prefecture_id, "fiscal_year": year, "alt_count": rng.randint(40, 300),
                        "cir_count": rng.randint(2, 15), "sea_count": rng.randint(0, 3),
                        "hosting_cost_yen": rng.randint(200, 1_800) * 1_000_000,
                        "programme_spending_yen": rng.randint(1, 30) * 1_000_000, "version": 1}
                       for prefecture_id in range(1, 48) for year in range(first_year, this_year + 1)]
        with db.engine.begin() as connection:
            for chunk in _chunks(rows):
                connection.execute(insert(Activity), chunk)
            connection.execute(insert(Ambassador), ambassadors)
            connection.execute(insert(Investment), investments)
        db.session.remove()
    analyze(app)
    return {"seconds": round(time.perf_counter() - started, 1), "activities": activities,
            "ambassadors": len(ambassadors), "investment_rows": len(investments), "years": f"FY{first_year}–FY{this_year}"}


def run(database_url: str, scale: float = 1.0, reuse: bool = False, budget_s: float = 60):
    app = bench_app(database_url, reuse)
    app.config["WTF_CSRF_ENABLED"] = False  # the benchmark signs in with a plain POST
    label = database_label(app)
    if not reuse:
        print(f"{label}: generated {generate(app, int(ALUMNI * scale), int(CONTACTS * scale))}")
    with app.app_context():
        has_activities = db.session.scalar(select(func.count()).select_from(select(Activity.id).limit(1).subquery()))
        alumni = db.session.scalar(select(func.count(Alumnus.id)))
        db.session.remove()
    if not has_activities:
        print(f"{label}: generated {generate_activities(app, int(ACTIVITIES * scale))} on {alumni} alumni")
    year = fiscal_year.fiscal_year_of(date.today()) - 1  # the default year of report and dashboard
    htmx = {"HX-Request": "true"}
    staff = _signed_in_client(app, Role.PREFECTURE_STAFF, TOTTORI)
    ministry = _signed_in_client(app, Role.MINISTRY_REVIEWER)
    report = f"/reports/return/{TOTTORI}"
    cases = (
        (staff, "Tottori staff: own return report (full)", [report, f"{report}?year={year - 1}"], None),
        (ministry, "ministry: prefecture report (suppressed)", [report, f"{report}?year={year - 1}"], None),
        (ministry, "ministry: dashboard page", ["/reports/national", "/reports/national?sort=-economic_value"], None),
        (ministry, "ministry: map partial, each indicator", [f"/reports/national/map?indicator={key}" for key in INDICATORS], htmx),
        (ministry, "ministry: drill-down to a prefecture", [f"/reports/return/{p}" for p in (13, 27, 31, 47, 1)], None),
    )
    figures = []
    tottori_alumnus = _tottori_alumnus(app)
    # The target applies to every reader; a cold start (after a deploy) is shown for its price.
    after_writes = (
        (staff, "Tottori staff: own report right after an activity in Tottori", report,
         lambda: _log_activity(app, tottori_alumnus, year), TARGET_MS),
        (staff, "Tottori staff: own report right after a consent change in Tottori", report,
         lambda: _toggle_consent(app, tottori_alumnus), TARGET_MS),
        (ministry, "ministry: Tottori's report right after an activity in Tottori", report,
         lambda: _log_activity(app, tottori_alumnus, year), TARGET_MS),
        (ministry, "ministry: dashboard right after an activity in Tottori", "/reports/national",
         lambda: _log_activity(app, tottori_alumnus, year), TARGET_MS),
        (ministry, "ministry: dashboard right after a consent change in Tottori", "/reports/national",
         lambda: _toggle_consent(app, tottori_alumnus), TARGET_MS),
        (ministry, "ministry: dashboard cold (nothing stored)", "/reports/national", lambda: _forget_figures(app), None),
    )
    for client, what, urls, headers in cases:
        time_requests(client, urls, 1, headers)  # warm caches, and compute and store every figure the URLs show
        warm = time_requests(client, urls[:1], 1, headers)[0]
        # About 30 requests a case; fewer (at least one round of the URLs) when each takes seconds.
        rounds = max(1, min(30 // len(urls), int(budget_s * 1000 / warm / len(urls))))
        with counting_queries(app) as counter:
            timings = time_requests(client, urls, rounds, headers)
        figures.append(figure("reports", label, what, timings, round(counter.n / len(timings), 1), TARGET_MS))
    for client, what, url, write, target in after_writes:
        timings, queries = [], 0
        started = time.perf_counter()
        while len(timings) < 20 and (time.perf_counter() - started < budget_s or len(timings) < 3):
            write()
            with counting_queries(app) as counter:
                timings += time_requests(client, [url], 1)
            queries += counter.n
        figures.append(figure("reports", label, what, timings, round(queries / len(timings), 1), target))
    return figures


def _tottori_alumnus(app) -> int:
    with app.app_context():
        alumnus_id = db.session.scalar(select(Placement.alumnus_id).where(Placement.prefecture_id == TOTTORI).order_by(Placement.id).limit(1))
        db.session.remove()
    return alumnus_id


def _log_activity(app, alumnus_id: int, year: int) -> None:
    """A verified activity in the dashboard's 年度, logged as staff do (ORM, triggers, audit)."""
    with app.app_context():
        activity = ambassador_operations.log_activity(db.session.get(Alumnus, alumnus_id), TOTTORI, {
            "occurred_on": date(year, 6, 1), "kind": ActivityKind.TOURISM.value, "description": "Benchmark write",
            "economic_value_yen": 10_000, "economic_value_basis": "benchmark"})
        activity.status = ActivityStatus.VERIFIED
        db.session.commit()
        db.session.remove()


def _toggle_consent(app, alumnus_id: int) -> None:
    with app.app_context():
        alumnus = db.session.get(Alumnus, alumnus_id)
        alumnus.contact_consent = not alumnus.contact_consent
        db.session.commit()
        db.session.remove()


def _forget_figures(app) -> None:
    with app.app_context():
        db.session.execute(delete(ReportFigures))
        db.session.execute(delete(ReportPublication))
        db.session.commit()
        db.session.remove()
