"""Alumni activities in Chromium: quick logging and verifying from the alumnus page, without reload."""
from datetime import date

from playwright.sync_api import expect

from crm.auth.models import Role
from tests.browser.conftest import screenshot, sign_in
from tests.conftest import PASSWORD, TOTTORI


def test_activity_logged_on_the_alumnus_page_appears_on_top_and_is_verified_inline(page, make_user, make_alumnus, make_activity):
    _, email = make_user(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    alumnus = make_alumnus(TOTTORI)
    make_activity(alumnus, TOTTORI, on=date(2024, 5, 1), description="An older talk")
    sign_in(page, email, PASSWORD)
    page.goto(f"/alumni/{alumnus}")
    page.evaluate("window.notReloaded = true")
    panel = page.locator("#alumnus-activities")
    rows = panel.locator("#activity-rows tr")
    expect(rows).to_have_count(1)
    panel.get_by_text("Log an activity").click()
    # A missing description is refused inside the form; nothing is added.
    panel.get_by_role("button", name="Log activity").click()
    expect(panel.locator("#log-description-error")).to_contain_text("This field is required")
    expect(rows).to_have_count(1)
    page.locator("#log-kind").select_option("promotion_event")
    page.locator("#log-description").fill("Sand dunes talk at the Seattle library")
    panel.get_by_role("button", name="Log activity").click()
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("Sand dunes talk")
    expect(rows.first).to_contain_text("Reported")
    expect(rows.nth(1)).to_contain_text("An older talk")
    # The fresh form replaced the filled one in place; no field strayed into the table.
    expect(panel.locator("details > #log-form #log-description")).to_have_value("")
    expect(page.locator("#log-form")).to_have_count(1)
    expect(panel.locator("#activity-rows textarea")).to_have_count(0)
    rows.first.get_by_role("button", name="Verify").click()
    expect(rows.first.locator(".badge")).to_have_text("Verified")
    assert page.evaluate("window.notReloaded") is True
    screenshot(page, "alumnus-activities")
    # Chromium logs every 4xx answer; the 422 carrying the inline error is the expected one.
    assert [error for error in page.console_errors if "status of 422" not in error] == []
