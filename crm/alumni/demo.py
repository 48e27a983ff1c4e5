"""Demo alumni for Tottori and Hyogo: several countries, ALT/CIR/SEA, some placed in both prefectures,
katakana names, some without consent, contact entries with follow-ups, a fan club, associations abroad.
Every person is fictitious; addresses use example.org."""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from crm import clock
from crm.alumni import operations
from crm.alumni.models import (
    AlumniGroup, Alumnus, Channel, ContactEntry, Direction, JapanAlumniAssociation, JapaneseLevel, Platform, Position,
    Sector,
)
from crm.auth.models import User
from crm.extensions import db

TOTTORI, HYOGO = 31, 28

# family, given, katakana, residence, city, employer, sector, position, placements [(prefecture, organisation, start, end)], consent
PEOPLE = (
    ("Smith", "John", "ジョン・スミス", "US", "Seattle", "Port of Seattle", "government", "alt", [(TOTTORI, "鳥取市教育委員会", 2012, 2015)], True),
    ("O'Brien", "Siobhan", "シボーン・オブライエン", "IE", "Dublin", "Enterprise Ireland", "business", "cir", [(TOTTORI, "鳥取県庁", 2016, 2019)], True),
    ("Campbell", "Marcia", "マーシャ・キャンベル", "JM", "Kingston", "Jamaica Tourist Board", "tourism", "alt", [(TOTTORI, "米子市教育委員会", 2014, 2017)], True),
    ("Reyes", "Paolo", "パオロ・レイエス", "PH", "Manila", "Ateneo de Manila University", "education", "alt", [(TOTTORI, "倉吉市教育委員会", 2017, 2020)], False),
    ("Ngata", "Aroha", "アロハ・ンガタ", "NZ", "Wellington", "Te Papa", "research", "cir", [(TOTTORI, "鳥取県庁", 2010, 2013), (HYOGO, "兵庫県国際交流協会", 2013, 2015)], True),
    ("Thompson", "Emily", "エミリー・トンプソン", "GB", "Manchester", "BBC North", "media", "alt", [(TOTTORI, "境港市教育委員会", 2011, 2014)], True),
    ("Tremblay", "Luc", "リュック・トランブレ", "CA", "Montréal", "Ubisoft", "business", "alt", [(TOTTORI, "智頭町教育委員会", 2015, 2018)], True),
    ("Walker", "Chloe", "クロエ・ウォーカー", "AU", "Brisbane", "Queensland Government", "government", "cir", [(TOTTORI, "鳥取県庁", 2018, 2021)], True),
    ("Nguyen", "Anh", None, "US", "Houston", "Rice University", "research", "alt", [(TOTTORI, "湯梨浜町教育委員会", 2019, 2022)], False),
    ("Murphy", "Sean", "ショーン・マーフィー", "IE", "Cork", "Cork City Council", "government", "alt", [(TOTTORI, "北栄町教育委員会", 2008, 2011)], True),
    ("Brown", "Amelia", "アメリア・ブラウン", "GB", "Leeds", "Leeds Beckett University", "education", "alt", [(TOTTORI, "鳥取県教育委員会", 2013, 2016), (HYOGO, "神戸市教育委員会", 2016, 2018)], True),
    ("Wilson", "Jake", "ジェイク・ウィルソン", "AU", "Sydney", "Destination NSW", "tourism", "sea", [(TOTTORI, "鳥取県庁", 2019, 2021)], True),
    ("Harris", "Olivia", None, "NZ", "Auckland", "Fonterra", "business", "alt", [(TOTTORI, "八頭町教育委員会", 2016, 2019)], False),
    ("Santos", "Maria", "マリア・サントス", "PH", "Cebu", "Cebu Pacific", "tourism", "alt", [(TOTTORI, "岩美町教育委員会", 2018, 2021)], True),
    ("Clarke", "Daniel", "ダニエル・クラーク", "JM", "Montego Bay", "Ministry of Education and Youth", "government", "alt", [(TOTTORI, "琴浦町教育委員会", 2012, 2014)], True),
    ("Lee", "Rachel", "レイチェル・リー", "CA", "Vancouver", "CBC", "media", "cir", [(TOTTORI, "鳥取県庁", 2014, 2016), (HYOGO, "兵庫県庁", 2016, 2019)], True),
    ("Davies", "Gareth", "ガレス・デイヴィス", "GB", "Cardiff", "Welsh Government", "government", "alt", [(TOTTORI, "大山町教育委員会", 2009, 2012)], True),
    ("Kim", "Jennifer", None, "US", "Los Angeles", "JETRO Los Angeles", "business", "alt", [(TOTTORI, "日南町教育委員会", 2021, 2024)], True),
    ("Fitzgerald", "Aoife", "イーファ・フィッツジェラルド", "IE", "Galway", "NUI Galway", "research", "alt", [(TOTTORI, "三朝町教育委員会", 2015, 2017)], False),
    ("Johnson", "Michael", "マイケル・ジョンソン", "US", "Portland", "Nike", "business", "alt", [(HYOGO, "姫路市教育委員会", 2011, 2014)], True),
    ("Martin", "Sophie", "ソフィー・マーティン", "CA", "Toronto", "University of Toronto", "education", "cir", [(HYOGO, "兵庫県庁", 2013, 2016)], True),
    ("Evans", "Thomas", "トーマス・エヴァンス", "GB", "London", "Japan Foundation London", "ngo", "alt", [(HYOGO, "西宮市教育委員会", 2010, 2013)], True),
    ("Taylor", "Grace", "グレース・テイラー", "AU", "Melbourne", "Tourism Australia", "tourism", "alt", [(HYOGO, "豊岡市教育委員会", 2017, 2020)], False),
    ("Bautista", "Carlo", "カルロ・バウティスタ", "PH", "Davao", "Department of Foreign Affairs", "government", "alt", [(HYOGO, "明石市教育委員会", 2016, 2019)], True),
    ("Brown", "Kemar", "ケマー・ブラウン", "JM", "Kingston", "The Gleaner", "media", "alt", [(HYOGO, "淡路市教育委員会", 2015, 2018)], True),
    ("Robinson", "Hannah", None, "NZ", "Christchurch", "University of Canterbury", "research", "alt", [(HYOGO, "加古川市教育委員会", 2019, 2022)], True),
    ("Kelly", "Ciara", "キアラ・ケリー", "IE", "Limerick", "Shannon Group", "business", "sea", [(HYOGO, "兵庫県庁", 2018, 2020)], True),
    ("White", "Andrew", "アンドリュー・ホワイト", "US", "Boston", "Harvard University", "research", "cir", [(HYOGO, "神戸市役所", 2012, 2015)], False),
    ("Scott", "Laura", "ローラ・スコット", "GB", "Edinburgh", "VisitScotland", "tourism", "alt", [(HYOGO, "宝塚市教育委員会", 2014, 2017), (TOTTORI, "鳥取市教育委員会", 2017, 2018)], True),
)
FOLLOW_UP_SUMMARIES = (
    "Asked about bringing a trade delegation to the Sakaiminato port fair.",
    "Offered to write an article on nashi pears for a travel magazine.",
    "Interested in hosting students from the prefecture next spring.",
    "Will introduce us to the tourism board's Japan desk.",
)
GROUPS = (
    (TOTTORI, "World Tottori Fan Club", Platform.FAN_CLUB, "https://example.org/world-tottori-fan-club", 1450),
    (TOTTORI, "Tottori JET Alumni (LinkedIn)", Platform.LINKEDIN, "https://example.org/linkedin/tottori-jet", 380),
    (HYOGO, "Hyogo JET Alumni (Facebook)", Platform.FACEBOOK, "https://example.org/facebook/hyogo-jet", 920),
)
ASSOCIATIONS_ABROAD = (
    ("Japan Alumni Association of Jamaica", "JM", "Kingston", 1993, 120, "https://example.org/jaaj"),
    ("Philippine Japan Alumni Society", "PH", "Manila", 1977, 850, "https://example.org/pjas"),
    ("Japan Alumni of Ireland", "IE", "Dublin", 2001, 160, "https://example.org/jai"),
    ("New Zealand Japan Alumni Network", "NZ", "Wellington", 2005, 210, "https://example.org/nzjan"),
)


def _email(family: str, given: str) -> str:
    return f"{given}.{family}".lower().replace("'", "").replace(" ", "") + "@example.org"


def seed_alumni() -> None:
    """Add the demo alumni, networks and associations abroad that are not there yet."""
    staff = {user.prefecture_id: user for user in db.session.scalars(select(User).where(User.email.like("%@demo.furusato.jp")))}
    today = clock.today()
    for number, (family, given, kana, country, city, employer, sector, position, placements, consent) in enumerate(PEOPLE):
        email = _email(family, given)
        if db.session.scalar(select(Alumnus.id).where(Alumnus.email == email)) is not None:
            continue
        first, *others = placements
        values = {
            "family_name": family, "given_name": given, "name_katakana": kana, "email": email, "citizenship": country,
            "residence_country": country, "city": city, "employer": employer, "sector": Sector(sector),
            "japanese_level": list(JapaneseLevel)[number % 6], "languages": "English, Japanese",
            "contact_consent": consent, "preferred_language": "ja" if country == "JP" else "en",
            "consent_on": date(2024, 4, 1) + timedelta(days=number * 9) if consent else None,
            "consent_source": "Alumni reception sign-up form" if consent else None,
        }
        alumnus = operations.create_alumnus(values, {"prefecture_id": first[0], "organisation": first[1], "position": Position(position),
                                                     "start_year": first[2], "end_year": first[3]})
        for prefecture, organisation, start, end in others:
            operations.add_placement(alumnus, {"prefecture_id": prefecture, "organisation": organisation,
                                               "position": Position(position), "start_year": start, "end_year": end})
        writer = staff.get(first[0])
        if writer is not None and number % 2 == 0:
            db.session.add(ContactEntry(
                alumnus_id=alumnus.id, prefecture_id=first[0], contacted_on=today - timedelta(days=20 + number),
                channel=Channel.EMAIL, direction=Direction.OUTGOING, summary=FOLLOW_UP_SUMMARIES[number % 4], staff_id=writer.id,
                follow_up_on=today + timedelta(days=(number % 5) - 3), assignee_id=writer.id,
            ))
    for prefecture, name, platform, url, members in GROUPS:
        if db.session.scalar(select(AlumniGroup.id).where(AlumniGroup.name == name)) is None:
            db.session.add(AlumniGroup(prefecture_id=prefecture, name=name, platform=platform, url=url, member_count=members))
    for name, country, city, founded, members, website in ASSOCIATIONS_ABROAD:
        if db.session.scalar(select(JapanAlumniAssociation.id).where(JapanAlumniAssociation.name == name)) is None:
            db.session.add(JapanAlumniAssociation(name=name, country=country, city=city, founded_year=founded,
                                                  member_count=members, website=website))
    db.session.flush()
    fan_club = db.session.scalar(select(AlumniGroup).where(AlumniGroup.name == "World Tottori Fan Club"))
    if fan_club is not None and not fan_club.members:
        fan_club.members.extend(db.session.scalars(select(Alumnus).where(Alumnus.email.in_(
            [_email("Smith", "John"), _email("O'Brien", "Siobhan"), _email("Ngata", "Aroha"), _email("Campbell", "Marcia")]))))
