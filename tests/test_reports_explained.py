"""Reports that explain themselves: every indicator with its definition beside it, filters that say
what they change, server-drawn charts with their tables, a tile map with unambiguous names, AA
contrast for every SVG text, tiles that are links, figures per JET participant under disclosure
control, a prefecture × 年度 comparison, and sorting that keeps the table in view."""
import re
from datetime import date

import pytest

from crm.auth.models import Role
from crm.disclosure import Suppressed
from crm.charts import AA, contrast, ink
from crm.reports import charts, definitions, returns
from crm.reports.views import INDICATOR_LABELS
from tests.conftest import HYOGO, TOTTORI, fragment

JA = {"Accept-Language": "ja"}


@pytest.fixture
def tottori_figures(make_alumnus, make_activity, make_investment):
    """Twelve Tottori alumni in the US with verified activities (shown under disclosure control),
    two in GB; 12 JET participants hosted."""
    for index in range(12):
        make_activity(make_alumnus(TOTTORI, family=f"Us{index}", residence_country="US"), on=date(2025, 6, 1),
                      economic_value_yen=100_000, economic_value_basis="Trade fair orders", funds_raised_yen=20_000)
    for index in range(2):
        make_activity(make_alumnus(TOTTORI, family=f"Gb{index}", residence_country="GB"), on=date(2025, 6, 1),
                      economic_value_yen=1_000_000, economic_value_basis="Orders")
    make_investment(TOTTORI, 2025, alt_count=10, cir_count=2, hosting_cost_yen=30_000_000, programme_spending_yen=0)


def _svg_texts(html: str):
    """(fill of each <text>, fill of the shape drawn under it) in every SVG of the page: the text's
    background is the last rect drawn before it whose box contains the text's anchor point."""
    result = []
    for svg in re.findall(r"<svg[^>]*>.*?</svg>", html, re.S):
        shapes = []
        for match in re.finditer(r'<rect([^>]*)/?>|<text([^>]*)>', svg):
            attrs = dict(re.findall(r'([\w-]+)="([^"]*)"', match.group(1) or match.group(2)))
            if match.group(1) is not None:
                if "fill" in attrs and "width" in attrs:
                    shapes.append(attrs)
                continue
            x, y = float(attrs["x"]), float(attrs["y"])
            under = "#ffffff"  # the page: white
            for shape in shapes:
                left, top = float(shape.get("x", 0)), float(shape.get("y", 0))
                if left <= x <= left + float(shape["width"]) and top <= y - 4 <= top + float(shape["height"]):
                    under = shape["fill"]
            assert "fill" in attrs, f"SVG text without an explicit fill: {match.group(0)}"
            result.append((attrs["fill"], under))
    return result


def test_every_palette_colour_carries_its_label_at_aa_contrast():
    assert contrast("#ffffff", "#3f86c4") < 4.5  # the old middle blue, with white
    for background in (*charts.PALETTE, charts.SUPPRESSED_FILL, charts.EMPTY_FILL):
        assert contrast(ink(background), background) >= AA, background


def test_tile_labels_are_whole_names_no_two_alike(app_context):
    from crm.extensions import db
    from crm.reference.models import Prefecture

    prefectures = list(db.session.scalars(db.select(Prefecture)))
    for japanese in (True, False):
        labels = [charts.tile_label(p.name_ja, p.name_en, japanese) for p in prefectures]
        assert len(set(labels)) == 47
    assert charts.tile_label("北海道", "Hokkaido", True) == "北海道"
    assert charts.tile_label("神奈川県", "Kanagawa", True) == "神奈川"
    assert charts.tile_label("和歌山県", "Wakayama", True) == "和歌山"
    assert {charts.tile_label(j, e, False) for j, e in (("福井県", "Fukui"), ("福岡県", "Fukuoka"), ("福島県", "Fukushima"))} == {
        "Fukui", "Fukuoka", "Fukushima"}


@pytest.mark.parametrize("headers", [{}, JA])
@pytest.mark.parametrize("role", [Role.MINISTRY_REVIEWER, Role.PREFECTURE_STAFF])
def test_national_dashboard_svg_text_has_aa_contrast_and_tiles_are_links(signed_in, tottori_figures, role, headers):
    client = signed_in(role, prefecture=TOTTORI if role == Role.PREFECTURE_STAFF else None)
    html = client.get("/reports/national?year=2025", headers=headers).get_data(as_text=True)
    texts = _svg_texts(html)
    assert len(texts) >= 47
    for ink, background in texts:
        assert contrast(ink, background) >= 4.5, (ink, background)
    links = re.findall(r'<a href="/reports/return/(\d+)[^"]*" aria-label="[^"]+">\s*<g class="tile', html)
    # The ministry opens every prefecture's aggregates; prefecture staff only their own.
    assert links == ([str(code) for code in range(1, 48)] if role == Role.MINISTRY_REVIEWER else [str(TOTTORI)])
    label = "神奈川" if headers else "Kanagawa"
    assert f">{label}</text>" in html
    for ambiguous in (">北海</text>", ">和歌</text>", ">Fuk</text>", ">Yam</text>"):
        assert ambiguous not in html


def test_return_report_has_a_definition_beside_every_indicator_and_aa_charts(signed_in, tottori_figures):
    staff = signed_in(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    for headers in ({}, JA):
        html = staff.get(f"/reports/return/{TOTTORI}?year=2025", headers=headers).get_data(as_text=True)
        rows = re.findall(r'<tr data-indicator="(\w+)">(.*?)</tr>', html, re.S)
        assert len(rows) == 16
        for key, row in rows:
            assert '<span class="definition">' in row, key
        for ink, background in _svg_texts(html):
            assert contrast(ink, background) >= 4.5
        # A chart for each indicator of the trend, and activities by kind, each with its table.
        assert html.count('class="trend chart"') == 12
        assert 'id="kinds-chart-title"' in html and 'id="by-kind"' in html and 'id="trend-table"' in html
        assert 'class="print-button"' in html
    assert "Verified: a prefecture staff member checked" in staff.get(f"/reports/return/{TOTTORI}?year=2025").text
    assert "確認済み：都道府県の職員" in staff.get(f"/reports/return/{TOTTORI}?year=2025", headers=JA).text


def test_a_country_filter_narrows_the_return_not_the_investment_and_says_so(app, signed_in, tottori_figures):
    with app.test_request_context():
        whole = returns.report(TOTTORI, returns.Filters(2025), True)["current"]
        narrowed = returns.report(TOTTORI, returns.Filters(2025, country="US"), True)["current"]
    assert narrowed["tracked"] == 12 < whole["tracked"] == 14
    assert narrowed["economic_value"] == 1_200_000 < whole["economic_value"] == 3_200_000
    assert narrowed["investment_yen"] == whole["investment_yen"] == 30_000_000
    assert narrowed["participants"] == whole["participants"] == 12
    assert narrowed["return_ratio"] == round(100 * 1_440_000 / 30_000_000, 1)
    assert narrowed["return_per_participant"] == 120_000
    staff = signed_in(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    note = "The investment and JET participants hosted are the prefecture&#39;s whole figures, not narrowed"
    assert note in staff.get(f"/reports/return/{TOTTORI}?year=2025&country=US").text
    assert note not in staff.get(f"/reports/return/{TOTTORI}?year=2025").text


def test_figures_per_participant_hide_with_their_parts():
    assert definitions.per_participant(1_200_000, 12) == 100_000
    assert definitions.per_participant(1_200_000, 0) is None
    assert definitions.per_participant(None, 12) is None
    assert isinstance(definitions.per_participant(returns.HIDDEN, 12), Suppressed)
    assert isinstance(definitions.per_participant(5, Suppressed("<10")), Suppressed)
    row = returns.with_per_participant({"economic_value": returns.HIDDEN, "funds_raised": 10, "participants": 12})
    assert isinstance(row["economic_value_per_participant"], Suppressed) and isinstance(row["return_per_participant"], Suppressed)


def test_national_dashboard_compares_prefectures_by_year_per_participant_under_disclosure(app, signed_in, tottori_figures):
    ministry = signed_in(Role.MINISTRY_REVIEWER)
    with app.test_request_context():
        data = returns.national(returns.Filters(2025))
    tottori = data["rows"][TOTTORI]
    assert tottori["participants"] == 12
    if isinstance(tottori["economic_value"], Suppressed):
        assert isinstance(tottori["economic_value_per_participant"], Suppressed)
    else:
        assert tottori["economic_value_per_participant"] == round(tottori["economic_value"] / 12)
    assert set(data["by_year"]) == set(data["years"])
    html = ministry.get("/reports/national?year=2025&indicator=economic_value_per_participant").get_data(as_text=True)
    table = re.search(r'<table class="records figures-table" id="comparison-table">(.*?)</table>', html, re.S).group(1)
    assert table.count("<tr>") == 48 and table.count('<th scope="col">') == 6
    assert str(INDICATOR_LABELS["economic_value_per_participant"]) in html
    for key in returns.INDICATORS:  # every column defined beside the table
        assert f"<dd>{definitions.indicator(key)}</dd>" in html.replace("&#39;", "'")


def test_sorting_keeps_the_table_in_view(signed_in):
    ministry = signed_in(Role.MINISTRY_REVIEWER)
    html = ministry.get("/reports/national?year=2025").get_data(as_text=True)
    heading = re.search(r'<a href="([^"]*sort=-?tracked[^"]*)" hx-get="[^"]*" hx-target="#national" hx-swap="([^"]*)"', html)
    assert heading.group(1).endswith("#prefecture-table")
    assert "show:#prefecture-table:top" in heading.group(2)
    answer = ministry.htmx_get("/reports/national?year=2025&sort=-tracked")
    assert fragment(answer.get_data(as_text=True)) and 'id="prefecture-table"' in answer.text


def test_the_association_annual_report_explains_its_figures_and_prints(signed_in, make_association):
    association = make_association(TOTTORI)
    staff = signed_in(Role.ASSOCIATION_STAFF, association=association)
    for headers, text in (({}, str(definitions.ASSOCIATION["fees"])), (JA, "収納率は収納済み額")):
        html = staff.get(f"/associations/{association}/report?fy=2025", headers=headers).get_data(as_text=True)
        assert html.count('<p class="definition">') == 4
        assert text in html
        assert 'class="print-button"' in html


def test_no_hyogo_tile_link_for_tottori_staff(signed_in):
    staff = signed_in(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    assert f'href="/reports/return/{HYOGO}' not in staff.get("/reports/national?year=2025").text
