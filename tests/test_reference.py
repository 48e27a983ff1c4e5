"""Prefectures from pycountry with the right suffixes and regions; fiscal years (年度) and their labels."""
from datetime import date

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from crm.extensions import db
from crm.reference import fiscal_year
from crm.reference.models import Prefecture, Region


def test_all_47_prefectures_with_jis_codes(app_context):
    prefectures = db.session.scalars(select(Prefecture).order_by(Prefecture.id)).all()
    assert [p.id for p in prefectures] == list(range(1, 48))
    assert [p.code for p in prefectures][:2] == ["01", "02"]


@pytest.mark.parametrize(
    "code, name_ja, name_en, region",
    [
        (1, "北海道", "Hokkaido", Region.HOKKAIDO),
        (13, "東京都", "Tokyo", Region.KANTO),
        (26, "京都府", "Kyoto", Region.KINKI),
        (27, "大阪府", "Osaka", Region.KINKI),
        (28, "兵庫県", "Hyogo", Region.KINKI),
        (31, "鳥取県", "Tottori", Region.CHUGOKU),
        (15, "新潟県", "Niigata", Region.CHUBU),
        (7, "福島県", "Fukushima", Region.TOHOKU),
        (36, "徳島県", "Tokushima", Region.SHIKOKU),
        (47, "沖縄県", "Okinawa", Region.KYUSHU_OKINAWA),
    ],
)
def test_prefecture_names_and_regions(app_context, code, name_ja, name_en, region):
    prefecture = db.session.get(Prefecture, code)
    assert (prefecture.name_ja, prefecture.name_en, prefecture.region) == (name_ja, name_en, region)


def test_every_prefecture_has_exactly_one_suffix(app_context):
    names = db.session.scalars(select(Prefecture.name_ja)).all()
    assert all(name[-1] in "都道府県" for name in names)
    assert not any(name.endswith(("県県", "府県", "都県")) for name in names)


def test_region_sizes(app_context):
    counts = dict(db.session.execute(select(Prefecture.region, func.count()).group_by(Prefecture.region)).all())
    assert counts == {
        Region.HOKKAIDO: 1, Region.TOHOKU: 6, Region.KANTO: 7, Region.CHUBU: 9,
        Region.KINKI: 7, Region.CHUGOKU: 5, Region.SHIKOKU: 4, Region.KYUSHU_OKINAWA: 8,
    }


@pytest.mark.parametrize(
    "day, expected",
    [
        (date(2026, 3, 31), 2025),
        (date(2026, 4, 1), 2026),
        (date(2025, 12, 31), 2025),
        (date(2026, 1, 1), 2025),
        (date(2019, 4, 30), 2019),
        (date(2019, 5, 1), 2019),
    ],
)
def test_fiscal_year_of(day, expected):
    assert fiscal_year.fiscal_year_of(day) == expected


def test_fiscal_year_bounds():
    assert fiscal_year.bounds(2025) == (date(2025, 4, 1), date(2026, 3, 31))


@pytest.mark.parametrize(
    "year, label",
    [
        (2025, "令和7年度"),
        (2020, "令和2年度"),
        (2019, "令和元年度"),  # began in Heisei 31 (April 2019), named after Reiwa
        (2018, "平成30年度"),
        (1989, "平成元年度"),
        (1988, "昭和63年度"),  # Heisei began January 1989, inside FY1988
        (1926, "昭和元年度"),
    ],
)
def test_japanese_labels_across_era_boundaries(year, label):
    assert fiscal_year.japanese_label(year) == label


def test_label_follows_locale(app):
    with app.test_request_context():
        with force_locale("en"):
            assert fiscal_year.label(2025) == "FY2025"
        with force_locale("ja"):
            assert fiscal_year.label(2025) == "令和7年度"


def test_date_on_31_march_and_1_april_gets_consecutive_labels(app):
    with app.test_request_context(), force_locale("ja"):
        assert fiscal_year.label(fiscal_year.fiscal_year_of(date(2020, 3, 31))) == "令和元年度"
        assert fiscal_year.label(fiscal_year.fiscal_year_of(date(2020, 4, 1))) == "令和2年度"


@pytest.mark.parametrize("typed, expected", [
    ("2025", 2025), ("FY2025", 2025), ("令和7", 2025), ("令和7年度", 2025), ("R7", 2025), ("r7", 2025), ("７", 2025),
    ("7", 2025), ("7年度", 2025), ("令和元年度", 2019), ("H31", 2019), ("平成30", 2018), ("Ｓ62", 1987), ("２０２５", 2025),
    ("", None), ("soon", None), ("0", None), ("令和", None),
])
def test_a_fiscal_year_is_read_however_it_is_typed(typed, expected):
    assert fiscal_year.parse(typed) == expected


def test_a_fiscal_year_field_shows_the_label_and_takes_back_what_it_shows(app):
    from werkzeug.datastructures import MultiDict
    from wtforms import Form

    from crm.forms import FiscalYearField

    class YearForm(Form):
        year = FiscalYearField(earliest=1989)

    with app.test_request_context(), force_locale("ja"):
        shown = YearForm(data={"year": 2025})
        assert 'value="令和7年度"' in shown.year()
        typed_back = YearForm(MultiDict({"year": "令和7年度"}))
        assert typed_back.validate() and typed_back.year.data == 2025
        too_early = YearForm(MultiDict({"year": "1987"}))
        assert not too_early.validate() and "1989" in too_early.year.errors[0]
        nonsense = YearForm(MultiDict({"year": "next year"}))
        assert not nonsense.validate() and "令和7" in nonsense.year.errors[0]
    with app.test_request_context(), force_locale("en"):
        assert 'value="FY2025"' in YearForm(data={"year": 2025}).year()


def test_country_pickers_list_the_usual_countries_first_then_the_rest_as_people_read_them(app):
    from crm.reference.countries import MOST_PARTICIPANTS, country_choices

    with app.test_request_context(), force_locale("en"):
        english = country_choices()
        names = [name for _, name in english[len(MOST_PARTICIPANTS):]]
        assert [code for code, _ in english[:3]] == ["US", "GB", "CA"]
        assert names.index("Åland Islands") < names.index("Albania") and names[-1] == "Zimbabwe"
    with app.test_request_context(), force_locale("ja"):
        japanese = dict(country_choices())
        names = list(japanese.values())[len(MOST_PARTICIPANTS):]
        assert japanese["TZ"] == "タンザニア" and japanese["GE"] == "ジョージア"
        assert names[0].startswith("ア") and names[-1].startswith("ワ")
        # アルーバ reads あるうば: before アルジェリア, not after アルメニア.
        assert names.index("アルーバ") < names.index("アルジェリア")
        assert "アメリカ合衆国外諸島" in names and names.index("中央アフリカ共和国") < names.index("チリ")


def test_a_list_sorted_by_country_follows_the_names_shown(app, make_alumnus, signed_in):
    from crm.auth.models import User

    for family, country in (("Usa", "US"), ("Ala", "AX"), ("Zim", "ZW"), ("Alb", "AL")):
        make_alumnus(31, family=family, residence_country=country)
    client = signed_in()
    page = client.get("/alumni?sort=country").text
    assert page.index("ALA") < page.index("ALB") < page.index("USA") < page.index("ZIM")
    with app.app_context():
        db.session.execute(db.update(User).values(locale="ja"))
        db.session.commit()
    page = client.get("/alumni?sort=country").text  # オーランド, アルバニア, ジンバブエ, 米国 (べいこく)
    assert page.index("ALB") < page.index("ALA") < page.index("ZIM") < page.index("USA")
