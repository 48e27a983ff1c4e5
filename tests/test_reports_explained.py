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
        assert html.count('<p class="definition">') == 5
        assert text in html
        assert 'class="print-button"' in html


@pytest.fixture
def five_years_of_programs(make_association, make_program, make_member, make_fee):
    """An association with programs in three of the five 年度 up to 2025, two kinds in 2025, and fees
    due and partly collected in two years."""
    from crm.associations.models import ProgramKind, ProgramStatus

    association = make_association(TOTTORI)
    for year, japanese in ((2021, 12), (2023, 30), (2025, 45)):
        make_program(association, title=f"祭{year}", day=date(year, 7, 1), status=ProgramStatus.HELD, participants_japanese=japanese,
                     participants_foreign=japanese // 3, volunteers=4, actual_cost=80_000,
                     funding=(("municipal_grant", None, 100_000), ("membership_fees", None, 25_000 * (year - 2020))))
    make_program(association, title="語学", day=date(2025, 9, 1), status=ProgramStatus.HELD, kind=ProgramKind.JAPANESE_CLASSES,
                 participants_japanese=8, participants_foreign=11, volunteers=2, actual_cost=10_000)
    make_program(association, title="中止", day=date(2024, 9, 1), status=ProgramStatus.CANCELLED, participants_japanese=99)
    for index in range(3):
        member = make_member(association, name=f"会員{index}")
        make_fee(member, fiscal_year=2024, amount_due=3000, paid_on=date(2024, 5, 1))
        make_fee(member, fiscal_year=2025, amount_due=3000, paid_on=date(2025, 5, 1) if index == 0 else None)
    return association


def _chart_figures(html: str) -> dict[str, dict[str, str]]:
    """{chart id: {bar label: value shown}} of every chart of the page: the year under a trend bar and
    the figure above it; a horizontal bar's name and figure from its title."""
    result = {}
    for chart_id, svg in re.findall(r'<svg role="img" aria-labelledby="([\w-]+)-title \1-desc"[^>]*>(.*?)</svg>', html, re.S):
        bars = {}
        for group in re.findall(r"<g>(.*?)</g>", svg, re.S):
            texts = re.findall(r"<text[^>]*>([^<]*)</text>", group)
            named = re.match(r"<title>(.*): ([^<]*)</title>", group)
            label, shown = (named.group(1), named.group(2)) if named else texts
            bars[label] = shown
        result[chart_id] = bars
    return result


def _table(html: str, table_id: str) -> list[list[str]]:
    """The cells of a table's body rows, header cell first, as text."""
    body = re.search(rf'<table[^>]* id="{table_id}">.*?<tbody>(.*?)</tbody>', html, re.S).group(1)
    return [[re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)]


@pytest.mark.parametrize("headers", [{}, JA])
def test_the_association_annual_report_draws_each_figure_as_the_table_beside_it_shows_it(signed_in, five_years_of_programs, headers):
    from crm.associations.reports import TREND_CHARTS
    from crm.reference.fiscal_year import english_label, japanese_label

    staff = signed_in(Role.ASSOCIATION_STAFF, association=five_years_of_programs)
    html = staff.get(f"/associations/{five_years_of_programs}/report?fy=2025", headers=headers).get_data(as_text=True)
    drawn = _chart_figures(html)
    # Every chart is an image named by its title and described by its description.
    assert set(drawn) == {"annual-kinds", "annual-sources", *(f"annual-{key}" for keys in TREND_CHARTS.values() for key in keys)}
    for chart_id in drawn:
        assert f'<title id="{chart_id}-title">' in html and f'<desc id="{chart_id}-desc">' in html
    for ink_colour, background in _svg_texts(html):
        assert contrast(ink_colour, background) >= AA
    # Five 年度 per trend chart, each bar showing what its table shows for that year.
    for section, keys in TREND_CHARTS.items():
        rows = _table(html, f"trend-{section}")
        assert len(rows) == 5
        columns = re.findall(r'data-key="(\w+)"', re.search(rf'id="trend-{section}">.*?</tr>.*?</tr>', html, re.S).group(0))
        for key in keys:
            assert drawn[f"annual-{key}"] == {row[0]: row[1 + columns.index(key)] for row in rows}, key
    # The year's programs by kind and funding by source, in the order and figures of their tables.
    assert drawn["annual-kinds"] == {row[0]: row[1] for row in _table(html, "by-kind")[:-1]}
    assert drawn["annual-sources"] == {row[0]: row[1] for row in _table(html, "by-source")}
    label = japanese_label if headers else english_label
    year, cancelled, empty = (label(y) for y in (2025, 2024, 2022))
    assert drawn["annual-programs"][year] == "2" and drawn["annual-programs"][cancelled] == "0"
    assert drawn["annual-japanese"][year] == "53" and drawn["annual-collection_rate"][year] == "33.3%"
    assert drawn["annual-self_raised_share"][empty] == "—"  # no funding that year


def test_charts_of_one_unit_share_a_scale_and_percentages_are_drawn_against_100(app):
    from crm.associations.operations import FeeSummary
    from crm.associations.reports import AnnualReport, FundingMix, YearFigures, report_charts

    years = [YearFigures(year, 1, 0, 0, 0, FeeSummary(year, 0, 0, 0, 0)) for year in range(2021, 2024)]
    years += [YearFigures(2024, 1, 20, 10, 2, FeeSummary(2024, 3, 3, 9000, 9000)),
              YearFigures(2025, 2, 53, 26, 6, FeeSummary(2025, 3, 1, 9000, 3000))]
    trend = [FundingMix(year) for year in range(2021, 2026)]
    with app.test_request_context():
        drawn = report_charts(AnnualReport(None, 2025, [], trend[-1], trend, years[-1].fees, years))
    chart = {c.key: [bar.height for bar in c.bars] for section in ("programs", "funding", "fees") for c in drawn[section]}
    # People on one scale: 53 Japanese residents are the tallest bar, 26 foreign residents half as tall.
    assert chart["japanese"][-1] == 70 and chart["foreign"][-1] == round(70 * 26 / 53) and chart["volunteers"][-1] == round(70 * 6 / 53)
    # Fees due and collected on one scale; a rate against 100%; no funding, no bar.
    assert chart["fees_due"][-1] == 70 and chart["fees_collected"][-1] == round(70 / 3)
    assert chart["collection_rate"][-2:] == [70, round(70 * 33.3 / 100)]
    assert chart["self_raised_share"] == [0] * 5 and chart["programs"] == [35, 35, 35, 35, 70]


def test_no_hyogo_tile_link_for_tottori_staff(signed_in):
    staff = signed_in(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    assert f'href="/reports/return/{HYOGO}' not in staff.get("/reports/national?year=2025").text
