"""APPI requests in Chromium: recording a request from the person's page, extending it in place,
and printing the disclosure package."""
from datetime import timedelta

from playwright.sync_api import expect

from crm import clock
from crm.auth.models import Role
from tests.browser.conftest import screenshot, sign_in
from tests.conftest import PASSWORD, TOTTORI


def test_staff_record_a_request_extend_it_in_place_and_print_the_package(page, make_user, make_alumnus, make_contact):
    _, email = make_user(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    alumnus = make_alumnus(TOTTORI, family="Tanaka", given="Emily")
    make_contact(alumnus, TOTTORI, summary="Met at the pear festival")
    sign_in(page, email, PASSWORD)
    page.goto(f"/alumni/{alumnus}")
    page.get_by_role("link", name="Record an APPI request").click()
    # The person comes chosen from their page.
    expect(page.locator("input[name=alumnus][value='%s']" % alumnus)).to_be_checked()
    page.get_by_label("Kind of request").select_option("disclosure")
    page.get_by_label("Identity verified by").fill("Residence card shown at the counter")
    page.get_by_label("Requester's contact").fill("emily@example.org")
    page.get_by_role("button", name="Record a request").click()
    due = clock.today() + timedelta(days=30)
    expect(page.locator("[data-field=due_on]")).to_contain_text(str(due.year))
    expect(page.locator(".flash, .toast").first).to_contain_text("Request recorded")

    page.evaluate("window.notReloaded = true")
    extension = page.locator("#section-extension")
    extension.get_by_role("link", name="Edit").click()
    extension.get_by_label("Extended by (days)").fill("30")
    extension.get_by_role("button", name="Save").click()
    expect(extension.locator(".error").first).to_contain_text("Give the reason for the extension.")
    extension.get_by_label("Reason for the extension").fill("Paper files at three offices")
    extension.get_by_label("Requester told on").fill(clock.today().isoformat())
    extension.get_by_role("button", name="Save").click()
    expect(extension.locator("[data-field=extension_days]")).to_have_text("30")
    assert page.evaluate("window.notReloaded") is True
    page.reload()
    expect(page.locator("[data-field=due_on]")).to_contain_text(str((due + timedelta(days=30)).year))

    page.get_by_role("link", name="Disclosure package").click()
    expect(page.locator("h1")).to_contain_text("Disclosure of personal information held")
    expect(page.get_by_text("Met at the pear festival")).to_be_visible()
    page.evaluate("window.print = () => { window.printed = true; }")
    page.get_by_role("button", name="Print").click()
    assert page.evaluate("window.printed") is True
    page.emulate_media(media="print")
    expect(page.get_by_role("button", name="Print")).to_be_hidden()
    expect(page.locator(".main-navigation")).to_be_hidden()
    screenshot(page, "disclosure-package-print")
    # Chromium logs every 4xx answer; the 422 carrying the inline error is the expected one.
    assert [error for error in page.console_errors if "status of 422" not in error] == []
