"""Demo exchange associations for `seed-demo`: Tottori and Hyogo, with members, fees over two 年度
(some unpaid) and programs with funding lines. Clearly fictitious; idempotent."""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from crm import clock
from crm.associations.models import (
    Association,
    AssociationKind,
    FundingLine,
    FundingSource,
    Member,
    MemberKind,
    MemberStatus,
    MemberType,
    MembershipFee,
    MunicipalitySize,
    PartnerKind,
    PaymentMethod,
    Program,
    ProgramKind,
    ProgramPartner,
    ProgramStatus,
    Secretariat,
)
from crm.extensions import db
from crm.reference.fiscal_year import fiscal_year_of

TOTTORI, HYOGO = 31, 28


DEMO_ASSOCIATIONS = (
    {"prefecture_id": TOTTORI, "name_ja": "公益財団法人鳥取県国際交流財団", "name_en": "Tottori Prefectural International Exchange Foundation",
     "kind": AssociationKind.PREFECTURAL, "officially_recognised": True, "secretariat": Secretariat.OWN_FACILITY,
     "staff_full_time": 9, "staff_on_loan": 2, "staff_volunteers": 45, "contact": "0857-00-0000 (demo)", "founded_year": 1990, "fee": 3000},
    {"prefecture_id": TOTTORI, "name_ja": "鳥取市国際交流協会", "name_en": "Tottori City International Exchange Association", "municipality": "鳥取市",
     "kind": AssociationKind.MUNICIPAL, "officially_recognised": False, "municipality_size": MunicipalitySize.MEDIUM,
     "secretariat": Secretariat.MUNICIPAL_DIVISION, "staff_full_time": 0, "staff_on_loan": 1, "staff_volunteers": 18, "founded_year": 1994, "fee": 2000},
    {"prefecture_id": HYOGO, "name_ja": "公益財団法人兵庫県国際交流協会", "name_en": "Hyogo International Association",
     "kind": AssociationKind.PREFECTURAL, "officially_recognised": True, "secretariat": Secretariat.OWN_FACILITY,
     "staff_full_time": 24, "staff_on_loan": 4, "staff_volunteers": 120, "contact": "078-000-0000 (demo)", "founded_year": 1990, "fee": 5000},
)
DEMO_MEMBERS = (
    ("山本 由美", "やまもと ゆみ", MemberKind.INDIVIDUAL), ("Chen Wei", None, MemberKind.INDIVIDUAL), ("田中 健一", "たなか けんいち", MemberKind.INDIVIDUAL),
    ("Maria Santos", None, MemberKind.INDIVIDUAL), ("佐藤 恵", "さとう めぐみ", MemberKind.INDIVIDUAL), ("株式会社砂丘フーズ（デモ）", None, MemberKind.BUSINESS),
    ("鳥取県立湖山高等学校（デモ）", None, MemberKind.SCHOOL), ("NPO法人こどもの国際ひろば（デモ）", None, MemberKind.NPO),
    ("Nguyen Thi Lan", None, MemberKind.INDIVIDUAL), ("小林 誠", "こばやし まこと", MemberKind.INDIVIDUAL),
)
DEMO_PROGRAMS = (
    # (title ja, title en, kind, days from today, hours, venue, participants JP/foreign, volunteers, budget, funding)
    ("外国人住民のための日本語教室", "Japanese class for foreign residents", ProgramKind.JAPANESE_CLASSES, 3, 2, "さざんか会館", (4, 22), 6, 120000,
     ((FundingSource.MUNICIPAL_GRANT, None, 80000), (FundingSource.MEMBERSHIP_FEES, None, 40000))),
    ("多言語防災訓練", "Multilingual disaster drill", ProgramKind.DISASTER_PREPAREDNESS, 12, 3, "鳥取市民体育館", (35, 41), 15, 300000,
     ((FundingSource.PRIVATE_GRANT, "自治体国際化協会（デモ）", 200000), (FundingSource.COMMISSIONED, None, 100000))),
    ("国際交流フェスタ", "International exchange festival", ProgramKind.CULTURAL_EVENT, -40, 6, "とりぎん文化会館", (480, 160), 60, 900000,
     ((FundingSource.MUNICIPAL_GRANT, None, 500000), (FundingSource.SPONSORSHIP, None, 250000), (FundingSource.MEMBERSHIP_FEES, None, 150000))),
    ("日本留学説明会", "Study in Japan information session", ProgramKind.STUDY_IN_JAPAN, -380, 2, "オンライン", (5, 38), 4, 60000,
     ((FundingSource.MUNICIPAL_GRANT, None, 60000),)),
)


def _seed_members(association: Association, fee: int, today: date) -> None:
    this_year = fiscal_year_of(today)
    for number, (name, kana, kind) in enumerate(DEMO_MEMBERS):
        status = MemberStatus.LAPSED if number == 9 else MemberStatus.ACTIVE
        member = Member(
            association_id=association.id, kind=kind, name=name, name_kana=kana, status=status,
            member_type=MemberType.SUPPORTING if kind != MemberKind.INDIVIDUAL else MemberType.REGULAR,
            joined_on=date(2015 + number % 8, 4, 1), email=f"member{number + 1}.{association.id}@example.jp",
            phone=f"0857-00-{1000 + number}", consent_to_contact=number % 4 != 3,
        )
        db.session.add(member)
        db.session.flush()
        amount = fee * (3 if kind != MemberKind.INDIVIDUAL else 1)
        for year in (this_year - 1, this_year):
            # Last year almost everyone paid; this year a third have not yet.
            unpaid = (year == this_year and number % 3 == 0) or (year < this_year and number == 9)
            paid_on = None if unpaid else min(today, date(year, 5, 10 + number))
            db.session.add(MembershipFee(
                member_id=member.id, fiscal_year=year, amount_due=amount, paid_on=paid_on,
                method=None if unpaid else (PaymentMethod.BANK_TRANSFER if number % 2 else PaymentMethod.CASH),
                receipt_number=None if unpaid else f"R{year}-{association.id:02d}{number + 1:03d}",
            ))


def _seed_programs(association: Association, today: date) -> None:
    for title_ja, title_en, kind, days, hours, venue, (japanese, foreign), volunteers, budget, funding in DEMO_PROGRAMS:
        starts = clock.start_of(today + timedelta(days=days)).replace(hour=13, minute=30)
        held = days < 0
        program = Program(
            association_id=association.id, title_ja=title_ja, title_en=title_en, kind=kind, starts_at=starts,
            ends_at=starts + timedelta(hours=hours), venue=venue, status=ProgramStatus.HELD if held else ProgramStatus.PLANNED,
            budget=budget, actual_cost=int(budget * 0.94) if held else None,
            participants_japanese=japanese if held else 0, participants_foreign=foreign if held else 0, volunteers=volunteers,
            outcome_notes="アンケートでは満足度が高かった。（デモ）" if held else None,
            funding_lines=[FundingLine(source=source, grantor=grantor, amount=amount) for source, grantor, amount in funding],
            partners=[ProgramPartner(kind=PartnerKind.UNIVERSITY, name="鳥取大学（デモ）"), ProgramPartner(kind=PartnerKind.BUSINESS, name="株式会社砂丘フーズ（デモ）")],
        )
        db.session.add(program)


def seed_associations() -> None:
    """Associations in Tottori and Hyogo with members, fees over two 年度 (some unpaid) and programs."""
    today = clock.today()
    for values in DEMO_ASSOCIATIONS:
        if db.session.scalar(select(Association.id).where(Association.name_ja == values["name_ja"])):
            continue
        fields = {key: value for key, value in values.items() if key != "fee"}
        association = Association(**fields)
        db.session.add(association)
        db.session.flush()
        _seed_members(association, values["fee"], today)
        _seed_programs(association, today)
