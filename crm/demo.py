"""Demo data for `flask seed-demo` and `make run`: idempotent, realistic, clearly fictitious.

Each domain contributes a `seed_*` step below; a step adds only what is missing.
"""
from __future__ import annotations

from sqlalchemy import select

from crm.alumni.demo import seed_alumni
from crm.ambassadors.demo import seed_ambassadors
from crm.associations.demo import seed_associations
from crm.associations.models import Association
from crm.auth import operations as accounts
from crm.auth.models import Role
from crm.extensions import db
from crm.outreach.demo import seed_outreach
from crm.reference.prefectures import sync_prefectures

TOTTORI, HYOGO = 31, 28

# Documented in the README. Never use these outside a demo.
DEMO_ACCOUNTS = (
    {"email": "admin@demo.furusato.jp", "name": "Demo Administrator", "role": Role.ADMIN, "password": "kasumi-lantern-2026"},
    {"email": "tottori@demo.furusato.jp", "name": "鳥取 花子", "role": Role.PREFECTURE_STAFF, "prefecture": TOTTORI, "password": "sand-dunes-nashi-31"},
    {"email": "hyogo@demo.furusato.jp", "name": "兵庫 太郎", "role": Role.PREFECTURE_STAFF, "prefecture": HYOGO, "password": "kobe-harbour-lights-28"},
    {"email": "ministry@demo.furusato.jp", "name": "Ministry Reviewer", "role": Role.MINISTRY_REVIEWER, "password": "kasumigaseki-review-47"},
    # Bound by name to an association from crm/associations/demo.py.
    {"email": "tia@demo.furusato.jp", "name": "因幡 さくら", "role": Role.ASSOCIATION_STAFF, "association": "公益財団法人鳥取県国際交流財団", "password": "uradome-coast-kaisen-85"},
)


def seed_accounts() -> None:
    for account in DEMO_ACCOUNTS:
        if accounts.find_by_email(account["email"]) is None:
            association_id = None
            if account.get("association"):
                association_id = db.session.scalar(select(Association.id).where(Association.name_ja == account["association"]))
            accounts.create_user(
                account["email"], account["name"], account["role"], account["password"],
                prefecture_id=account.get("prefecture"), association_id=association_id,
            )


# Associations first: the association-staff demo account is bound to one. Ambassadors and mailing
# lists last: they build on the demo alumni.
SEED_STEPS = (seed_associations, seed_accounts, seed_alumni, seed_ambassadors, seed_outreach)


def seed() -> None:
    sync_prefectures(db.session.connection())
    for step in SEED_STEPS:
        step()
        db.session.flush()
    db.session.commit()
