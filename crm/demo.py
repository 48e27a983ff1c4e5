"""Demo data for `flask seed-demo` and `make run`: idempotent, realistic, clearly fictitious.

Each domain contributes a `seed_*` step below; a step adds only what is missing.
"""
from __future__ import annotations

from crm.auth import operations as accounts
from crm.auth.models import Role
from crm.extensions import db
from crm.reference.prefectures import sync_prefectures

TOTTORI, HYOGO = 31, 28

# Documented in the README. Never use these outside a demo.
DEMO_ACCOUNTS = (
    {"email": "admin@demo.furusato.jp", "name": "Demo Administrator", "role": Role.ADMIN, "password": "kasumi-lantern-2026"},
    {"email": "tottori@demo.furusato.jp", "name": "鳥取 花子", "role": Role.PREFECTURE_STAFF, "prefecture": TOTTORI, "password": "sand-dunes-nashi-31"},
    {"email": "hyogo@demo.furusato.jp", "name": "兵庫 太郎", "role": Role.PREFECTURE_STAFF, "prefecture": HYOGO, "password": "kobe-harbour-lights-28"},
    {"email": "ministry@demo.furusato.jp", "name": "Ministry Reviewer", "role": Role.MINISTRY_REVIEWER, "password": "kasumigaseki-review-47"},
)


def seed_accounts() -> None:
    for account in DEMO_ACCOUNTS:
        if accounts.find_by_email(account["email"]) is None:
            accounts.create_user(
                account["email"], account["name"], account["role"], account["password"],
                prefecture_id=account.get("prefecture"), association_id=account.get("association"),
            )


def seed_ambassadors() -> None:
    from crm.ambassadors.demo import seed_ambassadors as seed

    seed()


SEED_STEPS = (seed_accounts, seed_ambassadors)


def seed() -> None:
    sync_prefectures(db.session.connection())
    for step in SEED_STEPS:
        step()
        db.session.flush()
    db.session.commit()
