"""The prefecture home page as a work queue, in Chromium: an item is done in one click, in place,
with a toast; and a 200-character employer never widens the person's page."""
import pytest
from playwright.sync_api import expect

from crm import clock
from crm.auth.models import Role
from tests.browser.conftest import sign_in
from tests.browser.test_design_browser import _violations, axe_page  # noqa: F401 (axe_page is a fixture)
from tests.conftest import PASSWORD, TOTTORI


def test_a_follow_up_is_done_from_the_home_page_in_one_click(page, make_user, make_alumnus, make_contact, make_activity,
                                                             make_ambassador):
    from datetime import timedelta

    me, email = make_user(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    alumnus = make_alumnus(TOTTORI, family="Queue")
    ambassador = make_ambassador(make_alumnus(TOTTORI, family="Renewable"), start=clock.today() - timedelta(days=300),
                                 end=clock.today() + timedelta(days=20))
    entry = make_contact(alumnus, TOTTORI, summary="Call about the pear fair", follow_up_on=clock.today(), assignee_id=me)
    make_activity(alumnus, status="reported", description="Pear promotion in Ohio")
    sign_in(page, email, PASSWORD)
    item = page.locator(f"#follow-up-{entry}")
    expect(item).to_contain_text("Call about the pear fair")
    item.get_by_role("button", name="Done").click()
    expect(item).to_have_count(0)
    expect(page.locator("#toasts .toast")).to_have_text("Follow-up done.")
    verify = page.locator("#home-to-verify li", has_text="Pear promotion in Ohio")
    verify.get_by_role("button", name="Verify").click()
    expect(verify).to_have_count(0)
    expect(page.locator("#toasts .toast").last).to_have_text("Activity marked as Verified.")
    term = page.locator(f"#term-ending-{ambassador}")
    term.get_by_role("button", name="Extend one year").click()
    expect(term).to_have_count(0)
    expect(page.locator("#toasts .toast").last).to_contain_text("now ends on")
    assert page.url.endswith("/")  # no reload, no navigation


def test_a_fee_payment_is_recorded_from_the_association_home_with_the_keyboard(page, make_user, make_association, make_member,
                                                                              make_fee):
    from crm.reference import fiscal_year

    association = make_association()
    year = fiscal_year.fiscal_year_of(clock.today())
    fee = make_fee(make_member(association, name="未納 太郎"), fiscal_year=year, amount_due=5000)
    other = make_fee(make_member(association, name="未納 次郎"), fiscal_year=year, amount_due=5000)
    _, email = make_user(Role.ASSOCIATION_STAFF, association=association)
    sign_in(page, email, PASSWORD)
    item = page.locator(f"#fee-due-{fee}")
    item.get_by_label("Method").select_option("bank_transfer")
    item.get_by_role("button", name="Record payment").focus()
    page.keyboard.press("Enter")
    expect(item).to_have_count(0)
    expect(page.locator("#toasts .toast").last).to_have_text("Payment of 未納 太郎 recorded.")
    # The keyboard user goes on with the next item.
    expect(page.locator(f"#fee-due-{other}").get_by_role("button", name="Record payment")).to_be_focused()


@pytest.mark.parametrize("width", [1366, 390])
def test_a_200_character_employer_keeps_the_detail_page_within_the_viewport(page, make_user, make_alumnus, width):
    employer = ("FurusatoInternationalTradingCompany" * 6)[:200]
    alumnus = make_alumnus(TOTTORI, family="Longname", employer=employer)
    _, email = make_user(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, email, PASSWORD)
    page.goto(f"/alumni/{alumnus}", wait_until="networkidle")
    expect(page.get_by_text(employer).first).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def test_a_full_prefecture_home_has_no_axe_violation_and_reflows_to_390_px(axe_page, app, make_user, make_alumnus, make_contact,
                                                                           make_activity, make_ambassador):
    from datetime import timedelta

    me, email = make_user(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    colleague, _ = make_user(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    alumnus = make_alumnus(TOTTORI, family="Queue", employer=("FurusatoInternationalTradingCompany" * 6)[:200])
    today = clock.today()
    make_contact(alumnus, TOTTORI, summary="Overdue call", follow_up_on=today - timedelta(days=3), assignee_id=me)
    make_contact(alumnus, TOTTORI, summary="Colleague's call " + "x" * 150, follow_up_on=today + timedelta(days=3), assignee_id=colleague)
    make_activity(alumnus, status="reported")
    make_ambassador(alumnus, start=today - timedelta(days=300), end=today + timedelta(days=20))
    page = axe_page
    sign_in(page, email, PASSWORD)
    for locale in ("en", "ja"):
        if locale == "ja":
            page.get_by_role("button", name="日本語").click()
            expect(page.locator("html")).to_have_attribute("lang", "ja")
        assert _violations(page) == []
    page.set_viewport_size({"width": 390, "height": 900})
    page.goto("/", wait_until="networkidle")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
