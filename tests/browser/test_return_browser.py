"""The national dashboard in Chromium: switching the map's indicator recolours the tiles in place."""
from datetime import date

from playwright.sync_api import expect

from crm.auth.models import Role
from tests.browser.conftest import screenshot, sign_in
from tests.conftest import HYOGO, PASSWORD, TOTTORI


def test_switching_the_indicator_recolours_the_tile_map_without_reload(page, make_user, make_alumnus, make_activity):
    # Tottori: many alumni, little money; Hyogo: fewer alumni, much more money — the two orders differ.
    for index in range(30):
        make_alumnus(TOTTORI, family=f"Many{index}")
    for index in range(12):
        make_activity(make_alumnus(HYOGO, family=f"Rich{index}"), HYOGO, on=date(2025, 6, 1),
                      economic_value_yen=5_000_000, economic_value_basis="Trade fair orders")
    _, email = make_user(Role.MINISTRY_REVIEWER)
    sign_in(page, email, PASSWORD)
    page.goto("/reports/national?year=2025&indicator=tracked")
    page.evaluate("window.notReloaded = true")
    tottori, hyogo = page.locator('#tile-map g[data-code="31"] rect'), page.locator('#tile-map g[data-code="28"] rect')
    before = (tottori.get_attribute("fill"), hyogo.get_attribute("fill"))
    page.locator("#map-indicator").select_option("economic_value")
    expect(page.locator("#tile-map")).to_have_attribute("data-indicator", "economic_value")
    after = (tottori.get_attribute("fill"), hyogo.get_attribute("fill"))
    assert after != before
    assert after[0] == "#ffffff" or after[0] != after[1]  # Tottori has no economic value, Hyogo the most
    assert page.evaluate("window.notReloaded") is True
    screenshot(page, "national-dashboard")
    assert page.console_errors == []
