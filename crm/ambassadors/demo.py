"""Demo data for the local return report and the national dashboard (`seed-demo`).

Every prefecture gets a generated cohort of fictitious alumni (names drawn from common names of their
country of residence, addresses at example.org), five 年度 of
activities (most verified, some reported or rejected) and investment rows, so the dashboard and map
have something to compare. Sizes vary on purpose: a few prefectures have fewer than 10 alumni and
show "<10". Tottori and Hyogo get larger cohorts and Hometown Ambassadors, and alumni already in the
registry there (from the alumni demo) take part too. Deterministic (seeded) and idempotent: nothing
is added once Tottori has investment rows.
"""
from __future__ import annotations

import random
import unicodedata
from datetime import date

from sqlalchemy import select

from crm.alumni.models import Alumnus, Placement, Position
from crm.alumni.names import latin_name_key
from crm.ambassadors.models import Activity, ActivityKind, ActivityStatus, Ambassador, Investment
from crm.extensions import db
from crm.reference.fiscal_year import bounds, current as current_fiscal_year

TOTTORI, HYOGO = 31, 28
COUNTRIES = ("US", "GB", "CA", "AU", "NZ", "IE", "SG", "PH", "FR", "DE", "KR", "CN", "JM", "ZA")
_ENGLISH = (("Emma", "Liam", "Olivia", "Noah", "Ava", "Ethan", "Mia", "Lucas", "Isla", "Jack", "Chloe", "Ryan", "Zoe",
             "Nathan", "Hannah", "Owen", "Grace", "Dylan", "Ella", "Caleb"),
            ("Anderson", "Baker", "Carter", "Dixon", "Ellis", "Foster", "Graham", "Hughes", "Irwin", "Jenkins", "Keller",
             "Lawson", "Mitchell", "Nolan", "Parker", "Quinn", "Russell", "Sullivan", "Turner", "Walsh"))
# (given names, family names) by country of residence; the rest draw from the English lists.
NAMES = {
    "SG": (("Wei Ling", "Jun Jie", "Hui Min", "Marcus", "Rachel", "Darren"), ("Tan", "Lim", "Ng", "Goh", "Teo", "Chua")),
    "PH": (("Miguel", "Andrea", "Joshua", "Patricia", "Rafael", "Camille"), ("Cruz", "Garcia", "Mendoza", "Ramos", "Villanueva", "Aquino")),
    "FR": (("Camille", "Louis", "Léa", "Hugo", "Chloé", "Théo"), ("Martin", "Bernard", "Dubois", "Laurent", "Lefèvre", "Moreau")),
    "DE": (("Lukas", "Anna", "Felix", "Lena", "Jonas", "Marie"), ("Müller", "Schmidt", "Weber", "Fischer", "Becker", "Hoffmann")),
    "KR": (("Minjun", "Seoyeon", "Jiho", "Hayun", "Dohyun", "Jiwoo"), ("Kim", "Lee", "Park", "Choi", "Jung", "Kang")),
    "CN": (("Wei", "Jing", "Hao", "Xin", "Yang", "Lin"), ("Wang", "Li", "Zhang", "Liu", "Chen", "Zhao")),
}
YEARS = 5


def _cohort_size(prefecture: int, rng: random.Random) -> int:
    if prefecture in (TOTTORI, HYOGO):
        return 60
    # A handful of small prefectures keep the "<10" suppression visible on the map.
    return rng.choice((4, 7)) if prefecture % 11 == 0 else rng.randint(12, 45)


def seed_ambassadors() -> None:
    if db.session.scalar(select(Investment.id).where(Investment.prefecture_id == TOTTORI)) is not None:
        return
    rng = random.Random(2026)
    this_year = current_fiscal_year()
    years = range(this_year - YEARS, this_year)
    for prefecture in range(1, 48):
        alumni = _generated_alumni(prefecture, _cohort_size(prefecture, rng), rng)
        if prefecture in (TOTTORI, HYOGO):
            alumni += list(db.session.scalars(select(Alumnus).join(Placement).where(
                Placement.prefecture_id == prefecture, Alumnus.id.not_in([a.id for a in alumni]))).unique())
            _ambassadors(prefecture, alumni, years)
        for year in years:
            _activities(prefecture, alumni, year, rng)
            participants = rng.randint(40, 300)
            db.session.add(Investment(prefecture_id=prefecture, fiscal_year=year, alt_count=participants,
                                      cir_count=rng.randint(1, 15), sea_count=rng.randint(0, 2),
                                      hosting_cost_yen=participants * 6_000_000, programme_spending_yen=rng.randint(1, 20) * 500_000))
        db.session.flush()


def _generated_alumni(prefecture: int, count: int, rng: random.Random) -> list[Alumnus]:
    alumni, taken = [], set()
    while len(alumni) < count:
        country = rng.choice(COUNTRIES)
        given_names, family_names = NAMES.get(country, _ENGLISH)
        given, family = rng.choice(given_names), rng.choice(family_names)
        if (given, family) in taken:  # one person of a name per prefecture keeps duplicate warnings meaningful
            continue
        taken.add((given, family))
        start = rng.randint(2005, 2022)
        alumnus = Alumnus(family_name=family, given_name=given, latin_key=latin_name_key(family, given),
                          email=_ascii(f"{given}.{family}.{prefecture:02d}".lower().replace(" ", "")) + "@example.org",
                          residence_country=country, contact_consent=rng.random() < 0.7)
        alumnus.placements.append(Placement(prefecture_id=prefecture, start_year=start, end_year=start + rng.randint(1, 4),
                                            position=Position.CIR if rng.random() < 0.15 else Position.ALT))
        alumni.append(alumnus)
    db.session.add_all(alumni)
    db.session.flush()
    return alumni


def _ascii(text: str) -> str:
    """Léa.Müller → lea.muller: addresses that every mail form accepts."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def _ambassadors(prefecture: int, alumni: list[Alumnus], years) -> None:
    title = "鳥取県ふるさと大使" if prefecture == TOTTORI else "ひょうご親善大使"
    first = bounds(years[0])[0]
    terms = ((first, bounds(years[1])[1]), (bounds(years[2])[0], None), (bounds(years[3])[0], None))
    for alumnus, (start, end) in zip(alumni[:3], terms):
        db.session.add(Ambassador(alumnus=alumnus, prefecture_id=prefecture, title=title,
                                  region=alumnus.residence_country, term_start_on=start, term_end_on=end))


def _activities(prefecture: int, alumni: list[Alumnus], year: int, rng: random.Random) -> None:
    first, last = bounds(year)
    kinds = list(ActivityKind)
    for alumnus in alumni:
        if rng.random() > 0.45:
            continue
        kind = rng.choice(kinds)
        value = rng.choice((0, 0, 50_000, 200_000, 1_000_000, 3_000_000))
        status = rng.choices((ActivityStatus.VERIFIED, ActivityStatus.REPORTED, ActivityStatus.REJECTED), (8, 1, 1))[0]
        occurred = date.fromordinal(rng.randint(first.toordinal(), last.toordinal()))
        db.session.add(Activity(
            alumnus=alumnus, prefecture_id=prefecture, occurred_on=occurred, fiscal_year=year, kind=kind,
            country=alumnus.residence_country, description=f"{kind.value.replace('_', ' ').capitalize()} (demo)",
            people_reached=rng.randint(0, 500), visitors_brought=rng.randint(0, 30) if kind == ActivityKind.INBOUND_VISITORS else 0,
            economic_value_yen=value, economic_value_basis="Demo estimate" if value else None,
            funds_raised_yen=rng.randint(1, 50) * 10_000 if kind == ActivityKind.FUNDRAISING else 0,
            media_items=rng.randint(1, 3) if kind == ActivityKind.ARTICLE else 0, status=status))
