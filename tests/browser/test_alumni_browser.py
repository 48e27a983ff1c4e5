"""The alumni registry in Chromium: active search, inline editing, quick-add contact, stale edits."""
import re

from playwright.sync_api import expect

from crm.auth.models import Role
from tests.browser.conftest import screenshot, sign_in
from tests.conftest import PASSWORD, TOTTORI


def test_typing_in_search_updates_rows_without_reload(page, make_user, make_alumnus):
    _, email = make_user(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    make_alumnus(TOTTORI, family="Campbell", given="Marcia", kana="マーシャ・キャンベル")
    make_alumnus(TOTTORI, family="Reyes", given="Paolo")
    sign_in(page, email, PASSWORD)
    page.goto("/alumni")
    page.evaluate("window.notReloaded = true")
    page.get_by_role("searchbox").press_sequentially("キャン", delay=30)
    expect(page.locator("#alumni-list")).not_to_contain_text("REYES")
    expect(page.locator("#alumni-list")).to_contain_text("CAMPBELL")
    expect(page).to_have_url("/alumni?q=%E3%82%AD%E3%83%A3%E3%83%B3&country=&position=&year_from=&year_to=&sector=&tag=&consent=&ambassador=&status=")
    assert page.evaluate("window.notReloaded") is True
    # The pushed URL is a page of its own, and the back button returns to the unfiltered list.
    page.go_back()
    expect(page.locator("#alumni-list")).to_contain_text("REYES")
    screenshot(page, "alumni-search")
    assert page.console_errors == []


def test_every_filter_updates_the_list_and_its_export_link(page, make_user, make_alumnus):
    _, email = make_user(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    make_alumnus(TOTTORI, family="Alt", position="alt", start_year=2010, sector="education")
    make_alumnus(TOTTORI, family="Cir", position="cir", start_year=2018, sector="business")
    sign_in(page, email, PASSWORD)
    page.goto("/alumni")
    rows = page.locator("#alumni-list")
    page.select_option("select[name=position]", "cir")
    expect(rows).not_to_contain_text("ALT,")
    expect(rows).to_contain_text("CIR,")
    expect(page.locator("#alumni-export")).to_have_attribute("href", re.compile(r"position=cir"))
    page.select_option("select[name=position]", "")
    page.select_option("select[name=sector]", "education")
    expect(rows).not_to_contain_text("CIR,")
    expect(rows).to_contain_text("ALT,")
    page.select_option("select[name=sector]", "")
    page.fill("input[name=year_to]", "2012")
    page.keyboard.press("Tab")
    expect(rows).not_to_contain_text("CIR,")
    page.fill("input[name=year_to]", "")
    page.fill("input[name=year_from]", "2017")
    page.keyboard.press("Enter")  # the Filter button makes Enter submit the form
    expect(rows).not_to_contain_text("ALT,")
    expect(page).to_have_url(re.compile(r"year_from=2017"))


def test_bulk_archive_asks_first(app, page, make_user, make_alumnus):
    _, email = make_user(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    alumnus = make_alumnus(TOTTORI, family="Kept")
    sign_in(page, email, PASSWORD)
    page.goto("/alumni")
    page.locator("#alumni-list input[name=ids]").first.check()
    page.select_option("#bulk-form select[name=action]", "archive")
    questions = []

    def answer(dialog, accept):
        questions.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    page.once("dialog", lambda dialog: answer(dialog, False))
    page.locator("#bulk-form").get_by_role("button", name="Apply").click()
    page.wait_for_timeout(500)  # time for a request, had the dismissed dialog let one through

    def archived():
        with app.app_context():
            from crm.alumni.models import Alumnus
            from crm.extensions import db

            return db.session.get(Alumnus, alumnus).archived_at is not None

    assert questions and not archived()
    page.once("dialog", lambda dialog: answer(dialog, True))
    page.locator("#bulk-form").get_by_role("button", name="Apply").click()
    expect(page.locator("#alumni-list")).not_to_contain_text("KEPT")
    assert questions == ["Archive the selected people? They can be restored from the archive."] * 2 and archived()


def test_inline_edit_saves_without_reload(page, make_user, make_alumnus):
    _, email = make_user(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    alumnus = make_alumnus(TOTTORI, employer="Old employer")
    sign_in(page, email, PASSWORD)
    page.goto(f"/alumni/{alumnus}")
    page.evaluate("window.notReloaded = true")
    section = page.locator("#section-profile")
    section.get_by_role("link", name="Edit").click()
    page.locator("#profile-employer").fill("Port of Seattle")
    section.get_by_role("button", name="Save").click()
    expect(page.locator("#section-profile [data-field=employer]")).to_have_text("Port of Seattle")
    page.locator("#section-contact").get_by_role("link", name="Edit").click()
    page.locator("#contact-email").fill("not-an-email")
    page.locator("#section-contact").get_by_role("button", name="Save").click()
    expect(page.locator("#section-contact .error")).to_contain_text("Invalid email")
    assert page.evaluate("window.notReloaded") is True
    screenshot(page, "alumni-inline-edit")
    # Chromium logs every 4xx answer; the 422 carrying the inline error is the expected one.
    assert [error for error in page.console_errors if "status of 422" not in error] == []


def test_inline_editing_works_from_the_keyboard(page, make_user, make_alumnus):
    _, email = make_user(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    alumnus = make_alumnus(TOTTORI, employer="Old employer")
    sign_in(page, email, PASSWORD)
    page.goto(f"/alumni/{alumnus}")
    section = page.locator("#section-profile")
    section.get_by_role("link", name="Edit").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#profile-family_name")).to_be_focused()  # the opened form's first field
    page.locator("#profile-employer").fill("Port of Seattle")
    page.keyboard.press("Enter")
    expect(section.locator("[data-field=employer]")).to_have_text("Port of Seattle")
    expect(section.get_by_role("link", name="Edit")).to_be_focused()  # saved: back on Edit
    page.keyboard.press("Enter")
    page.locator("#profile-employer").fill("Not kept")
    page.keyboard.press("Escape")  # cancels, as the Cancel link does
    expect(section.locator("[data-field=employer]")).to_have_text("Port of Seattle")
    expect(section.get_by_role("link", name="Edit")).to_be_focused()
    # A table row (a placement) does the same; a field in error takes the focus.
    row_id = page.locator("#section-placements tbody tr").first.get_attribute("id")
    page.locator(f"#{row_id}").get_by_role("link", name="Edit").focus()
    page.keyboard.press("Enter")
    expect(page.locator(f"#{row_id} select").first).to_be_focused()
    page.locator(f"#{row_id} [id$='-end_year']").fill("2010")  # before the start year: refused by the server
    page.keyboard.press("Enter")
    expect(page.locator(f"#{row_id} [id$='-end_year'][aria-invalid='true']")).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.locator(f"#{row_id}").get_by_role("link", name="Edit")).to_be_focused()
    assert [error for error in page.console_errors if "status of 422" not in error] == []


def test_quick_add_contact_appears_at_the_top_of_the_timeline(page, make_user, make_alumnus, make_contact):
    _, email = make_user(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    alumnus = make_alumnus(TOTTORI)
    make_contact(alumnus, TOTTORI, summary="An older entry")
    sign_in(page, email, PASSWORD)
    page.goto(f"/alumni/{alumnus}")
    page.evaluate("window.notReloaded = true")
    page.locator("#contact-summary").fill("Met at the Seattle reception; wants to visit the sand dunes")
    page.locator("#contact-channel").select_option("event")
    page.get_by_role("button", name="Add to the log").click()
    expect(page.locator("#timeline li").first).to_contain_text("sand dunes")
    expect(page.locator("#timeline li").nth(1)).to_contain_text("An older entry")
    expect(page.locator("#contact-summary")).to_have_value("")
    assert page.evaluate("window.notReloaded") is True
    screenshot(page, "alumni-timeline")
    assert page.console_errors == []


def test_stale_edit_shows_the_conflict(chromium, live_server, make_user, make_alumnus):
    _, email = make_user(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    alumnus = make_alumnus(TOTTORI, employer="Original")
    pages = []
    for _ in range(2):
        context = chromium.new_context(base_url=live_server, locale="en-US")
        pages.append(context.new_page())
        sign_in(pages[-1], email, PASSWORD)
        pages[-1].goto(f"/alumni/{alumnus}")
        pages[-1].locator("#section-profile").get_by_role("link", name="Edit").click()
        expect(pages[-1].locator("#profile-employer")).to_be_visible()
    first, second = pages
    first.locator("#profile-employer").fill("First browser")
    first.locator("#section-profile").get_by_role("button", name="Save").click()
    expect(first.locator("#section-profile [data-field=employer]")).to_have_text("First browser")
    second.locator("#profile-employer").fill("Second browser")
    second.locator("#section-profile").get_by_role("button", name="Save").click()
    expect(second.locator("#section-profile .form-errors")).to_contain_text("Someone else changed this record")
    expect(second.locator("#profile-employer")).to_have_value("First browser")
    screenshot(second, "alumni-conflict")
    for page in pages:
        page.context.close()
