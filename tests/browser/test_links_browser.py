"""Browser: the alumni picker links a JET alumnus to a program without a reload."""
from playwright.sync_api import expect

from crm.auth.models import Role
from tests.browser.conftest import screenshot, sign_in
from tests.conftest import PASSWORD, TOTTORI


def test_picker_links_an_alumnus_to_a_program_without_reload(page, make_user, make_association, make_program, make_alumnus):
    _, email = make_user(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    program = make_program(make_association(TOTTORI, "鳥取県国際交流財団"), title="同窓会")
    make_alumnus(TOTTORI, family="Campbell", given="Marcia")
    make_alumnus(TOTTORI, family="Reyes", given="Paolo")
    sign_in(page, email, PASSWORD)
    page.goto(f"/associations/programs/{program}")
    page.evaluate("window.notReloaded = true")
    page.locator("#program-alumnus").press_sequentially("campb", delay=30)
    choice = page.locator("#program-alumnus-choices").get_by_label("CAMPBELL, Marcia")
    expect(choice).to_be_visible()
    expect(page.locator("#program-alumnus-choices")).not_to_contain_text("REYES")
    choice.check()
    page.locator("#program-alumni").get_by_role("button", name="Link").click()
    expect(page.locator("#program-alumni-list")).to_contain_text("CAMPBELL, Marcia")
    assert page.evaluate("window.notReloaded") is True
    screenshot(page, "program-alumni-picker")
    assert page.console_errors == []
