"""The Local Return on JET-vestment report and the national dashboard: figures checked by hand on a
small fixture, statistical disclosure control, refused narrow filters, no personal data for the
ministry, and a fixed number of queries whatever the data."""
import csv
import io
import re
import zipfile
from datetime import date

import pytest
from sqlalchemy import event

from crm.auth.models import Role
from crm.extensions import db
from crm.reports import returns
from crm.disclosure import Suppressed
from tests.conftest import HYOGO, TOTTORI, fragment


@pytest.fixture
def small_tottori(make_alumnus, make_activity, make_ambassador, make_investment, make_contact):
    """Four Tottori alumni (one also in Hyogo) and one Hyogo-only alumnus; see the expectations below."""
    a1 = make_alumnus(TOTTORI, family="Able", residence_country="US", contact_consent=True)
    a2 = make_alumnus(TOTTORI, family="Baker", residence_country="US")
    a3 = make_alumnus(TOTTORI, family="Cole", residence_country="GB", contact_consent=True, cease_use=True)
    a4 = make_alumnus(TOTTORI, HYOGO, family="Dunn", residence_country="CA", contact_consent=True)
    a5 = make_alumnus(HYOGO, family="Evans", residence_country="US", contact_consent=True)
    make_activity(a1, on=date(2025, 3, 31), kind="tourism", economic_value_yen=1_000_000, economic_value_basis="x", visitors_brought=20, country="US")
    make_activity(a1, on=date(2025, 4, 1), kind="tourism", economic_value_yen=500_000, economic_value_basis="x")
    make_activity(a2, on=date(2024, 4, 1), kind="business", economic_value_yen=2_000_000, economic_value_basis="x",
                  funds_raised_yen=100_000, people_reached=50, country="US")
    make_activity(a4, on=date(2024, 10, 10), status="reported", economic_value_yen=9_999_999, economic_value_basis="x")
    make_activity(a3, on=date(2024, 12, 1), status="rejected", economic_value_yen=7_777, economic_value_basis="x")
    make_activity(a5, HYOGO, on=date(2024, 6, 1), economic_value_yen=123_456, economic_value_basis="x")
    make_contact(a3, TOTTORI, contacted_on=date(2025, 3, 31))
    make_contact(a2, TOTTORI, contacted_on=date(2024, 3, 31))
    make_contact(a5, HYOGO, contacted_on=date(2024, 5, 1))
    make_ambassador(a1, start=date(2023, 4, 1), end=date(2025, 3, 31))
    make_investment(TOTTORI, 2024, alt_count=10, cir_count=2, hosting_cost_yen=30_000_000, programme_spending_yen=2_000_000)


def test_report_figures_match_the_hand_computed_fixture(app, small_tottori):
    with app.test_request_context():
        data = returns.report(TOTTORI, returns.Filters(2024), full=True)
    now = data["current"]
    assert (now["tracked"], now["reachable"], now["engaged"], now["ambassadors"]) == (4, 2, 4, 1)
    # Verified only: 31 March 2025 is FY2024, 1 April 2025 is FY2025; reported and rejected ignored.
    assert (now["activities"], now["economic_value"], now["funds_raised"]) == (2, 3_000_000, 100_000)
    assert (now["people_reached"], now["visitors"], now["participants"], now["investment_yen"]) == (50, 20, 12, 32_000_000)
    assert now["return_ratio"] == round(100 * 3_100_000 / 32_000_000, 1)
    assert data["kinds"]["rows"][returns.ActivityKind.BUSINESS]["economic_value"] == 2_000_000
    assert data["kinds"]["rows"][returns.ActivityKind.TOURISM]["activities"] == 1
    assert data["countries"]["residence"] == {"US": 2, "CA": 1, "GB": 1, "other": 0}
    assert data["countries"]["activity"] == {"US": 2}
    fy2023 = data["trend"][2023]
    # Baker's contact of 31 March 2024 makes one engaged alumnus in FY2023, not FY2024.
    assert (fy2023["ambassadors"], fy2023["activities"], fy2023["engaged"]) == (1, 0, 1)
    with app.test_request_context():
        next_year = returns.report(TOTTORI, returns.Filters(2025), full=True)
    assert (next_year["current"]["activities"], next_year["current"]["economic_value"], next_year["current"]["ambassadors"]) == (1, 500_000, 0)
    assert next_year["change"]["activities"] == -1 and next_year["change"]["economic_value"] == -2_500_000


def test_tottori_staff_see_their_full_report_and_the_ministry_sees_it_suppressed(signed_in, small_tottori, client):
    staff = signed_in(Role.PREFECTURE_STAFF)
    page = staff.get(f"/reports/return/{TOTTORI}?year=2024").text
    assert "¥3,000,000" in page and "ABLE" in page  # notable activities name the alumnus for the owner
    staff.post("/logout", data={"csrf_token": staff.csrf_token()})
    ministry = signed_in(Role.MINISTRY_REVIEWER)
    page = ministry.get(f"/reports/return/{TOTTORI}?year=2024").text
    assert "¥3,000,000" not in page and "ABLE" not in page and "&lt;10" in page


def _residence_rows(text: str) -> dict:
    rows = {}
    for line in csv.reader(io.StringIO(text.lstrip("\ufeff"))):
        if line and line[2].startswith("Alumni living in"):
            rows[line[2].removeprefix("Alumni living in ")] = line[3]
    return rows


def test_three_alumni_from_one_country_show_as_under_ten_and_cannot_be_recovered(signed_in, make_alumnus):
    for index in range(3):
        make_alumnus(TOTTORI, family=f"Kiwi{index}", residence_country="NZ")
    for index in range(15):
        make_alumnus(TOTTORI, family=f"Yank{index}", residence_country="US")
    for index in range(12):
        make_alumnus(TOTTORI, family=f"Brit{index}", residence_country="GB")
    ministry = signed_in(Role.MINISTRY_REVIEWER)
    page = ministry.get(f"/reports/return/{TOTTORI}?year=2025").text
    table = re.search(r'<table[^>]*id="residence".*?</table>', page, re.S).group(0)
    cells = dict(re.findall(r'<th scope="row">([^<]+)</th><td class="number">((?:&lt;10)?[^<]*)</td>', table))
    assert cells["New Zealand"] == "&lt;10"
    # A count hidden to protect another is 10 or more: it reads "X" (withheld), not "<10".
    hidden = [name for name, value in cells.items() if value in ("&lt;10", "X")]
    assert len(hidden) >= 2, "total minus the shown cells would reveal the hidden one"
    with ministry.get(f"/reports/return/{TOTTORI}/export?format=csv&year=2025") as response:
        rows = _residence_rows(response.get_data(as_text=True))
    assert rows["New Zealand"] == "<10" and list(rows.values()).count("<10") + list(rows.values()).count("X") >= 2
    assert "3" not in rows.values()
    shown = [int(v) for v in rows.values() if v.isdigit()]
    assert sum(shown) != 30 - 3  # the total (30) minus the visible cells does not give 3


def test_a_filter_narrowing_below_ten_people_is_refused_for_the_ministry(signed_in, make_alumnus):
    """Every sub-group filter is refused to the ministry, small or not (the filtered totals
    of large groups, subtracted from the unfiltered ones, gave the small group's exact figure)."""
    for index in range(3):
        make_alumnus(TOTTORI, family=f"Kiwi{index}", residence_country="NZ")
    for index in range(12):
        make_alumnus(TOTTORI, family=f"Yank{index}", residence_country="US")
    ministry = signed_in(Role.MINISTRY_REVIEWER)
    response = ministry.get(f"/reports/return/{TOTTORI}?year=2025&country=NZ")
    assert response.status_code == 422 and "could reveal a hidden figure" in response.text
    assert ministry.htmx_get(f"/reports/return/{TOTTORI}?year=2025&country=NZ").status_code == 422
    with ministry.get(f"/reports/return/{TOTTORI}/export?format=csv&year=2025&country=NZ") as response:
        assert response.status_code == 422
    assert ministry.get("/reports/national?year=2025&country=NZ").status_code == 422
    assert ministry.get("/reports/national/map?year=2025&country=NZ&indicator=tracked").status_code == 422
    with ministry.get("/reports/national/export?format=csv&year=2025&country=NZ") as response:
        assert response.status_code == 422
    assert ministry.get(f"/reports/return/{TOTTORI}?year=2025&country=US").status_code == 422
    assert ministry.get(f"/reports/return/{TOTTORI}?year=2025").status_code == 200
    assert 'name="country"' not in ministry.get(f"/reports/return/{TOTTORI}?year=2025").text


def test_own_staff_still_filter_their_report_but_not_the_national_figures(signed_in, make_alumnus):
    for index in range(12):
        make_alumnus(TOTTORI, family=f"Yank{index}", residence_country="US")
    staff = signed_in(Role.PREFECTURE_STAFF)
    page = staff.get(f"/reports/return/{TOTTORI}?year=2025&country=US")
    assert page.status_code == 200 and 'name="country"' in page.text
    assert staff.get("/reports/national?year=2025&country=US").status_code == 422
    assert 'name="country"' not in staff.get("/reports/national?year=2025").text


MARKERS = ("Zqxmarkerfamily", "Zqxmarkergiven", "zqxmarker@example.org", "ZQXMARKER-DESCRIPTION", "ZQXMARKER-BASIS",
           "ZQXMARKER-CONTACT", "ZQXMARKER-TITLE", "ZQXMARKER-REGION")


def test_ministry_pages_and_downloads_contain_no_name_email_or_free_text(app, signed_in, make_alumnus, make_activity,
                                                                       make_contact, make_ambassador, make_investment):
    ids = [make_alumnus(TOTTORI, family=f"{MARKERS[0]}{i}", given=MARKERS[1], email=f"{i}{MARKERS[2]}", residence_country="US",
                        contact_consent=True) for i in range(12)]
    for alumnus in ids:
        make_activity(alumnus, description=MARKERS[3], economic_value_yen=5000, economic_value_basis=MARKERS[4], country="US")
        make_contact(alumnus, TOTTORI, summary=MARKERS[5])
    make_ambassador(ids[0], title=MARKERS[6], region=MARKERS[7])
    make_investment(TOTTORI, 2025)
    ministry = signed_in(Role.MINISTRY_REVIEWER)
    bodies = []
    for url in ("/", "/reports/national?year=2025", "/reports/national?year=2025&sort=-economic_value",
                f"/reports/return/{TOTTORI}?year=2025", f"/reports/return/{HYOGO}?year=2025"):
        bodies += [ministry.get(url).get_data(as_text=True), ministry.htmx_get(url).get_data(as_text=True)]
    for indicator in returns.INDICATORS:
        bodies.append(ministry.htmx_get(f"/reports/national/map?year=2025&indicator={indicator}").get_data(as_text=True))
    for url in (f"/reports/return/{TOTTORI}/export?year=2025", "/reports/national/export?year=2025"):
        with ministry.get(url + "&format=csv") as response:
            bodies.append(response.get_data(as_text=True))
        with ministry.get(url + "&format=xlsx") as response:
            with zipfile.ZipFile(io.BytesIO(response.get_data())) as workbook:
                bodies += [workbook.read(name).decode() for name in workbook.namelist()]
    assert any("¥60,000" in body or "60000" in body for body in bodies), "the figures themselves are there"
    for body in bodies:
        for marker in MARKERS:
            assert marker.lower() not in body.lower(), marker
    # The same report shows the notable activity (with its free text) to Tottori's own staff.
    ministry.post("/logout", data={"csrf_token": ministry.csrf_token()})
    staff = signed_in(Role.PREFECTURE_STAFF)
    assert MARKERS[3] in staff.get(f"/reports/return/{TOTTORI}?year=2025").text


def test_national_dashboard_suppresses_small_prefectures_and_protects_the_total(app, signed_in, make_alumnus, make_activity):
    for index in range(3):
        make_activity(make_alumnus(HYOGO, family=f"Few{index}"), HYOGO, economic_value_yen=1_000, economic_value_basis="x")
    for index in range(12):
        make_activity(make_alumnus(TOTTORI, family=f"Many{index}"), economic_value_yen=10_000, economic_value_basis="x")
    with app.test_request_context():
        data = returns.national(returns.Filters(2025))
    assert isinstance(data["rows"][HYOGO]["economic_value"], Suppressed)
    assert isinstance(data["rows"][HYOGO]["tracked"], Suppressed)
    # Only two prefectures have a value: with the total shown, Tottori's must be hidden too (or the total).
    assert isinstance(data["rows"][TOTTORI]["economic_value"], Suppressed) or isinstance(data["totals"]["economic_value"], Suppressed)
    assert isinstance(data["rows"][TOTTORI]["tracked"], Suppressed) or isinstance(data["totals"]["tracked"], Suppressed)


def test_protect_derived_hides_a_second_cell_when_one_is_hidden():
    values, total = returns.protect_derived({"a": 100, "b": 50, "c": 70}, {"a": 3, "b": 20, "c": 15}, 220, 38)
    assert isinstance(values["a"], Suppressed) and isinstance(values["b"], Suppressed) and values["c"] == 70 and total == 220


def _count_queries(app, action) -> int:
    count = 0

    def before(*_args):
        nonlocal count
        count += 1

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", before)
        try:
            with app.test_request_context():
                action()
        finally:
            event.remove(db.engine, "before_cursor_execute", before)
    return count


def test_report_and_dashboard_queries_do_not_grow_with_data(app, make_alumnus, make_activity, make_investment):
    run = lambda: (returns.report(TOTTORI, returns.Filters(2025), full=True), returns.national(returns.Filters(2025)))  # noqa: E731
    make_activity(make_alumnus(TOTTORI))
    small = _count_queries(app, run)
    for index in range(15):
        alumnus = make_alumnus(TOTTORI if index % 2 else HYOGO, family=f"Extra{index}", residence_country="FR")
        make_activity(alumnus, TOTTORI if index % 2 else HYOGO, on=date(2021 + index % 5, 5, 1))
    make_investment(HYOGO, 2025)
    assert _count_queries(app, run) == small


def test_report_and_dashboard_partials_are_fragments_for_htmx(signed_in):
    client = signed_in(Role.MINISTRY_REVIEWER)
    for url in (f"/reports/return/{TOTTORI}?year=2025", "/reports/national?year=2025", "/reports/national/map?indicator=tracked"):
        assert fragment(client.htmx_get(url).text), url
        assert not fragment(client.get(url).text), url
    assert 'id="tile-map"' in client.htmx_get("/reports/national/map?indicator=tracked").text


def test_tile_map_has_47_tiles_and_an_accessible_svg(signed_in):
    page = signed_in(Role.MINISTRY_REVIEWER).htmx_get("/reports/national/map?indicator=engaged").text
    assert page.count('class="tile ') == 47
    # A group of links (one per tile, named by prefecture and value), not an image: an image's parts
    # cannot be focused.
    assert 'role="group" aria-labelledby="map-title map-desc"' in page and "<title" in page and "<desc" in page
    assert len(re.findall(r'<a href="/reports/return/\d+[^"]*" aria-label="[^"]+">', page)) == 47


def test_xlsx_export_of_the_national_table_shows_hidden_values_as_under_ten(signed_in, make_alumnus):
    import openpyxl

    for index in range(4):
        make_alumnus(TOTTORI, family=f"Few{index}")
    with signed_in(Role.MINISTRY_REVIEWER).get("/reports/national/export?format=xlsx&year=2025") as response:
        sheet = openpyxl.load_workbook(io.BytesIO(response.get_data())).active
    rows = {row[0]: row for row in sheet.iter_rows(values_only=True)}
    assert rows["31"][3] == "<10"
