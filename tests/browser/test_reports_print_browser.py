"""Reports in Chromium: the return report and the association annual report printed to A4 PDF in
Japanese and English, read back with pdftotext (poppler-utils, scripts/ensure-poppler): no page
holds only a line or two, and no page but the last is half empty. The national map's tiles are
links a keyboard reaches, and sorting a column keeps the table in view."""
import os
import re
import shutil
import subprocess
from datetime import date

import pytest
from playwright.sync_api import expect

from crm.associations.models import ProgramStatus
from crm.auth.models import Role
from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD, TOTTORI

A4_HEIGHT = 842  # points


def _pdf_pages(pdf: bytes, tmp_path) -> list[dict]:
    """Each page's text lines and the lowest point of text on it (pdftotext -bbox)."""
    if not shutil.which("pdftotext"):
        if os.environ.get("CRM_REQUIRE_BROWSER"):
            pytest.fail("pdftotext not found; run scripts/ensure-poppler")
        pytest.skip("pdftotext not found (scripts/ensure-poppler installs poppler-utils)")
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    html = subprocess.run(["pdftotext", "-bbox", str(path), "-"], capture_output=True, text=True, check=True).stdout
    pages = []
    for page in re.findall(r"<page[^>]*>(.*?)</page>", html, re.S):
        words = [(float(y_min), float(y_max)) for y_min, y_max in re.findall(r'yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)"', page)]
        lines = sorted({round(y_min) for y_min, _ in words})
        pages.append({"lines": len(lines), "bottom": max((y for _, y in words), default=0)})
    return pages


def _check_print(page, tmp_path, what: str):
    pages = _pdf_pages(page.pdf(format="A4", print_background=True, prefer_css_page_size=True), tmp_path)
    assert pages, what
    for number, printed in enumerate(pages, 1):
        assert printed["lines"] >= 3, f"{what}: page {number} of {len(pages)} holds {printed['lines']} line(s)"
        if number < len(pages):
            assert printed["bottom"] > A4_HEIGHT / 2, f"{what}: page {number} of {len(pages)} is half empty"
    return pages


def _choose(page, language: str):
    """The language switch in the header (the choice is kept for the session)."""
    page.get_by_role("button", name={"ja": "日本語", "en": "English"}[language]).click()
    expect(page.locator("html")).to_have_attribute("lang", language)


@pytest.fixture
def report_data(make_alumnus, make_activity, make_investment, make_association, make_program):
    for year in range(2021, 2026):
        for index in range(12):
            make_activity(make_alumnus(TOTTORI, family=f"Y{year}n{index}", residence_country=("US", "GB", "AU", "CA")[index % 4]),
                          on=date(year, 6, 1), kind=("tourism", "business", "article")[index % 3],
                          economic_value_yen=100_000 * (index + 1), economic_value_basis="Orders", funds_raised_yen=5_000)
        make_investment(TOTTORI, year, alt_count=10, cir_count=2, hosting_cost_yen=30_000_000, programme_spending_yen=1_000_000)
    association = make_association(TOTTORI)
    for year in range(2021, 2025):  # the five-year trend charts have bars to draw
        make_program(association, title=f"祭{year}", day=date(year, 7, 1), status=ProgramStatus.HELD, participants_japanese=30 + year % 10,
                     participants_foreign=12, volunteers=4, actual_cost=70_000, funding=(("municipal_grant", "", 100_000 + 10_000 * (year % 10)),))
    for month in range(4, 13):
        make_program(association, title=f"事業{month}", day=date(2025, month, 10), status=ProgramStatus.HELD, participants_japanese=20,
                     participants_foreign=10, volunteers=3, actual_cost=80_000, funding=(("membership_fees", "", 50_000),))
    return association


@pytest.mark.parametrize("language", ["en", "ja"])
def test_return_and_annual_reports_print_on_a4_without_stray_lines(page, make_user, report_data, language, tmp_path):
    _, staff = make_user(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    sign_in(page, staff, PASSWORD)
    page.goto(f"/reports/return/{TOTTORI}?year=2025")
    _choose(page, language)
    expect(page.locator("html")).to_have_attribute("lang", language)
    expect(page.locator(".print-button")).to_be_visible()
    _check_print(page, tmp_path, f"return report ({language})")

    page.context.clear_cookies()
    _, association_staff = make_user(Role.ASSOCIATION_STAFF, association=report_data)
    sign_in(page, association_staff, PASSWORD)
    page.goto(f"/associations/{report_data}/report?fy=2025")
    _choose(page, language)
    expect(page.locator("html")).to_have_attribute("lang", language)
    expect(page.locator(".print-button")).to_be_visible()
    _check_print(page, tmp_path, f"annual report ({language})")
    assert page.console_errors == []


def test_map_tiles_are_keyboard_links_and_sorting_keeps_the_table_in_view(page, make_user):
    _, reviewer = make_user(Role.MINISTRY_REVIEWER)
    sign_in(page, reviewer, PASSWORD)
    page.goto("/reports/national?year=2025")
    tottori = page.locator('#tile-map a:has(g[data-code="31"])')
    tottori.focus()
    expect(tottori).to_be_focused()
    page.keyboard.press("Tab")  # the next tile is reachable too
    expect(page.locator('#tile-map a:has(g[data-code="32"])')).to_be_focused()
    page.locator('#prefecture-table thead a').nth(2).click()
    expect(page.locator('#prefecture-table thead th').nth(2)).to_have_attribute("aria-sort", "ascending")
    expect(page).to_have_url(re.compile(r"sort="))
    top = page.evaluate("document.getElementById('prefecture-table').getBoundingClientRect().top")
    assert page.evaluate("window.scrollY") > 0 and -5 <= top < 300
    assert page.console_errors == []
