"""Association staff in Chromium: mark a fee paid inline, add a program with two funding lines, see
it on the calendar."""
from playwright.sync_api import expect

from crm.auth.models import Role
from tests.browser.conftest import screenshot, sign_in
from tests.conftest import PASSWORD


def test_mark_a_fee_paid_inline_without_reload(page, make_association, make_member, make_fee, make_user):
    association = make_association()
    fee = make_fee(make_member(association, name="山本 由美"), fiscal_year=2025, amount_due=3000)
    _, email = make_user(Role.ASSOCIATION_STAFF, association=association)
    sign_in(page, email, PASSWORD)
    page.goto(f"/associations/{association}/fees?fy=2025")
    page.evaluate("window.notReloaded = true")
    row = page.locator(f"#fee-{fee}")
    expect(row).to_contain_text("Not paid")
    row.get_by_label("Paid on").fill("2025-06-02")
    row.get_by_label("Method").select_option("bank_transfer")
    row.get_by_label("Receipt number").fill("R-2025-001")
    row.get_by_role("button", name="Mark paid").click()
    expect(page.locator(f"#fee-{fee}")).to_contain_text("R-2025-001")
    expect(page.locator(f"#fee-{fee}")).to_contain_text("Bank transfer")
    expect(page.locator(f"#fee-{fee}")).not_to_contain_text("Not paid")
    # The 年度's summary follows without a reload (an out-of-band swap).
    expect(page.locator("#fee-summary")).to_contain_text("¥3,000 (1 of 1 members)")
    expect(page.locator("#fee-summary")).to_contain_text("100.0%")
    assert page.evaluate("window.notReloaded") is True
    screenshot(page, "association-fee-paid-inline")
    assert page.console_errors == []


def test_add_a_program_with_two_funding_lines_and_see_it_on_the_calendar(page, make_association, make_user):
    association = make_association()
    _, email = make_user(Role.ASSOCIATION_STAFF, association=association)
    sign_in(page, email, PASSWORD)
    page.goto(f"/associations/{association}/programs/new")
    page.get_by_label("Title (Japanese)").fill("多言語防災訓練")
    page.get_by_label("Title (English)").fill("Multilingual disaster drill")
    page.get_by_label("Kind", exact=True).select_option("disaster_preparedness")
    page.get_by_label("Starts (Japan time)").fill("2025-09-14T10:00")
    page.get_by_label("Ends (Japan time)").fill("2025-09-14T12:30")
    page.get_by_label("Venue").fill("鳥取市民体育館")
    page.get_by_label("Budget (yen)").fill("300000")
    page.locator("#funding_lines-0-source").select_option("municipal_grant")
    page.locator("#funding_lines-0-amount").fill("100000")
    page.locator("#funding_lines-1-source").select_option("private_grant")
    page.locator("#funding_lines-1-grantor").fill("ふるさと財団")
    page.locator("#funding_lines-1-amount").fill("200000")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Multilingual disaster drill")
    funding = page.locator("#funding")
    expect(funding).to_contain_text("Municipal grant")
    expect(funding).to_contain_text("ふるさと財団")
    expect(funding).to_contain_text("300,000")
    page.get_by_role("link", name="Calendar").click()
    expect(page.locator("#calendar h2")).to_be_visible()
    page.goto(f"/associations/{association}/calendar?month=2025-08")
    page.evaluate("window.notReloaded = true")
    expect(page.locator("#calendar .calendar-event")).to_have_count(0)
    # One month on with htmx, without reloading the page.
    page.get_by_role("link", name="Next month").click()
    expect(page.locator("#calendar h2")).to_contain_text("September 2025")
    event = page.locator("#calendar .calendar-event")
    expect(event).to_have_count(1)
    expect(event).to_contain_text("10:00 Multilingual disaster drill")
    assert page.evaluate("window.notReloaded") is True
    expect(page).to_have_url(f"/associations/{association}/calendar?month=2025-09")
    screenshot(page, "association-calendar")
    assert page.console_errors == []
