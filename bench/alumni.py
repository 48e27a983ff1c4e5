"""Issue 3 at scale: 100,000 alumni with placements across 47 prefectures and 1,000,000 contact entries.

Measures server-side p50/p95 of the list page with a filter, the active-search partial and the detail
page with its timeline, as Tottori staff (scoped: about 1/47 of the registry plus shared alumni) and as
an administrator (the whole registry), and the SQL statements each request runs.
Targets (issue 3): search partial p95 ≤ 30 ms, list and detail p95 ≤ 50 ms.
"""
from __future__ import annotations

import random
import time
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, insert, select

from bench.harness import analyze, bench_app, counting_queries, database_label, figure, time_requests
from crm.alumni import names
from crm.alumni.models import Alumnus, Channel, ContactEntry, Direction, Placement, Position, Sector
from crm.auth import operations as accounts
from crm.auth.models import Role
from crm.extensions import db

ALUMNI, CONTACTS = 100_000, 1_000_000
CHUNK = 5_000
TOTTORI = 31
PASSWORD = "benchmark-pass-phrase"

GIVEN = ["John", "Emily", "Michael", "Sarah", "David", "Jessica", "Matthew", "Olivia", "Daniel", "Sophie",
         "James", "Hannah", "Robert", "Chloe", "Thomas", "Grace", "Andrew", "Laura", "Ryan", "Megan",
         "Kevin", "Rachel", "Brian", "Amanda", "Patrick", "Siobhan", "Liam", "Aoife", "Jerome", "Kezia",
         "Marco", "Ana", "Wei", "Min-jun", "Ji-woo", "Pierre", "Claire", "Lukas", "Lena", "Joao"]
FAMILY = ["Smith", "Johnson", "Brown", "Williams", "Jones", "Taylor", "Miller", "Wilson", "Davis", "Clark",
          "Lewis", "Walker", "Hall", "Young", "King", "Wright", "Scott", "Green", "Baker", "Adams",
          "Murphy", "Kelly", "O'Brien", "Ryan", "Campbell", "Stewart", "Morris", "Reid", "Thompson", "White",
          "Martin", "Dubois", "Muller", "Schmidt", "Santos", "Silva", "Chen", "Wang", "Kim", "Park"]
KATAKANA = {"John": "ジョン", "Emily": "エミリー", "Michael": "マイケル", "Sarah": "サラ", "David": "デイビッド",
            "Smith": "スミス", "Johnson": "ジョンソン", "Brown": "ブラウン", "Williams": "ウィリアムズ", "Jones": "ジョーンズ"}
COUNTRIES = ["US"] * 40 + ["GB"] * 12 + ["CA"] * 10 + ["AU"] * 9 + ["NZ"] * 5 + ["IE"] * 5 + ["JM"] * 3 + ["ZA"] * 3 + ["PH"] * 3 + ["SG"] * 2 + ["FR"] * 2 + ["DE"] * 2 + ["BR"] * 2 + ["CN"] * 1 + ["KR"] * 1
CITIES = ["Seattle", "Boston", "London", "Dublin", "Toronto", "Sydney", "Auckland", "Kingston", "Manila", "Paris"]
EMPLOYERS = ["JETRO", "State Department", "Rakuten", "University of Leeds", "Tourism NZ", "Toyota", "Deloitte", "Self-employed"]
SECTORS = list(Sector)
POSITIONS = [Position.ALT] * 9 + [Position.CIR]
CHANNELS = [channel for channel in Channel if channel != Channel.NOTE]
DIRECTIONS = [Direction.OUTGOING, Direction.INCOMING]


def _chunks(rows, size=CHUNK):
    for start in range(0, len(rows), size):
        yield rows[start:start + size]


def generate(app, alumni: int, contacts: int, seed: int = 31) -> dict:
    """Bulk-insert the registry with Core (no ORM objects, no audit rows: this is data at rest)."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    keys = {}
    started = time.perf_counter()
    with app.app_context():
        alumni_rows, placement_rows, homes = [], [], []
        for alumnus_id in range(1, alumni + 1):
            given, family = rng.choice(GIVEN), rng.choice(FAMILY)
            if (family, given) not in keys:
                keys[(family, given)] = names.latin_name_key(family, given)
            kana = f"{KATAKANA[given]}・{KATAKANA[family]}" if given in KATAKANA and family in KATAKANA and rng.random() < 0.5 else None
            alumni_rows.append({
                "id": alumnus_id, "family_name": family, "given_name": given, "name_katakana": kana,
                "email": f"{given}.{family}.{alumnus_id}@example.org".lower().replace("'", ""),
                "residence_country": rng.choice(COUNTRIES), "citizenship": rng.choice(COUNTRIES),
                "city": rng.choice(CITIES), "employer": rng.choice(EMPLOYERS), "sector": rng.choice(SECTORS),
                "contact_consent": rng.random() < 0.8, 
                "cease_use": rng.random() < 0.01, "latin_key": keys[(family, given)],
                "kana_key": names.kana_name_key(kana) if kana else None,
                "created_at": now, "updated_at": now, "version": 1,
            })
            start_year = rng.randint(1990, 2024)
            home = rng.randint(1, 47)
            homes.append([home])
            placement_rows.append({"alumnus_id": alumnus_id, "prefecture_id": home, "organisation": "Board of Education",
                                   "position": rng.choice(POSITIONS), "start_year": start_year, "end_year": start_year + rng.randint(0, 4), "version": 1})
            if rng.random() < 0.1:  # served in a second prefecture
                second = rng.randint(1, 47)
                homes[-1].append(second)
                placement_rows.append({"alumnus_id": alumnus_id, "prefecture_id": second, "organisation": "City Hall",
                                       "position": Position.CIR, "start_year": start_year + 5, "end_year": start_year + 6, "version": 1})
        with db.engine.begin() as connection:
            for chunk in _chunks(alumni_rows):
                connection.execute(insert(Alumnus), chunk)
            for chunk in _chunks(placement_rows):
                connection.execute(insert(Placement), chunk)
        today = date.today()
        with db.engine.begin() as connection:
            batch = []
            for number in range(contacts):
                alumnus_id = rng.randint(1, alumni)
                batch.append({
                    "alumnus_id": alumnus_id, "prefecture_id": rng.choice(homes[alumnus_id - 1]),
                    "contacted_on": today - timedelta(days=rng.randint(0, 3650)),
                    "channel": rng.choice(CHANNELS), "direction": rng.choice(DIRECTIONS),
                    "summary": "Followed up on the prefecture newsletter and upcoming events.",
                    "follow_up_on": today + timedelta(days=rng.randint(-30, 60)) if rng.random() < 0.05 else None,
                    "created_at": now,
                })
                if len(batch) == CHUNK or number == contacts - 1:
                    connection.execute(insert(ContactEntry), batch)
                    batch = []
        db.session.remove()
    analyze(app)
    return {"seconds": round(time.perf_counter() - started, 1), "alumni": alumni, "placements": len(placement_rows), "contacts": contacts}


def _signed_in_client(app, role: Role, prefecture: int | None = None):
    with app.app_context():
        email = f"bench-{role.value}@example.jp"
        if accounts.find_by_email(email) is None:
            accounts.create_user(email, "Bench", role, PASSWORD, prefecture_id=prefecture)
            db.session.commit()
    client = app.test_client()
    response = client.post("/login", data={"email": email, "password": PASSWORD})
    assert response.status_code == 303, response.status_code
    return client


def run(database_url: str, scale: float = 1.0, reuse: bool = False):
    app = bench_app(database_url, reuse)
    app.config["WTF_CSRF_ENABLED"] = False  # the benchmark signs in with a plain POST
    label = database_label(app)
    if not reuse:
        generated = generate(app, int(ALUMNI * scale), int(CONTACTS * scale))
        print(f"{label}: generated {generated}")
    with app.app_context():
        tottori_ids = list(db.session.scalars(
            select(Placement.alumnus_id).where(Placement.prefecture_id == TOTTORI).order_by(func.random()).limit(30)))
        any_ids = list(db.session.scalars(select(Alumnus.id).order_by(func.random()).limit(30)))
        db.session.remove()
    htmx = {"HX-Request": "true"}
    figures = []
    for who, client, detail_ids in (
        ("Tottori staff", _signed_in_client(app, Role.PREFECTURE_STAFF, TOTTORI), tottori_ids),
        ("admin", _signed_in_client(app, Role.ADMIN), any_ids),
    ):
        cases = (
            ("list page, filter country & position", ["/alumni?country=US&position=alt", "/alumni?country=GB&position=cir&sort=-name"], None, 50),
            ("search partial (as you type)", ["/alumni?q=smi", "/alumni?q=jon", "/alumni?q=seattle", "/alumni?q=ジョ", "/alumni?q=rakuten"], htmx, 30),
            ("detail page with timeline", [f"/alumni/{alumnus_id}" for alumnus_id in detail_ids], None, 50),
        )
        for what, urls, headers, target in cases:
            time_requests(client, urls[:2], 1, headers)  # warm caches
            with counting_queries(app) as counter:
                timings = time_requests(client, urls, max(1, 60 // len(urls)), headers)
            figures.append(figure("alumni", label, f"{who}: {what}", timings, round(counter.n / len(timings), 1), target))
    return figures
