"""The foundation as a person uses it in Chromium: sign in, switch language, sign out, edit inline."""
from playwright.sync_api import expect

from crm.auth.models import Role, User
from crm.extensions import db
from tests.browser.conftest import screenshot, sign_in
from tests.conftest import PASSWORD, TOTTORI


def test_sign_in_switch_to_japanese_and_sign_out(page, make_user):
    _, email = make_user(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    sign_in(page, email, PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Welcome")
    expect(page.locator("main")).to_contain_text("Tottori")
    page.get_by_role("button", name="日本語").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("ようこそ")
    expect(page.locator("main")).to_contain_text("鳥取県")
    expect(page.locator("main")).to_contain_text("年度")
    screenshot(page, "home-ja")
    page.get_by_role("button", name="サインアウト").click()
    expect(page).to_have_url("/login")
    expect(page.locator(".flash")).to_contain_text("サインアウトしました")
    assert page.console_errors == []


def test_admin_edits_a_user_inline_without_reload(page, make_user):
    _, admin_email = make_user(Role.ADMIN)
    user_id, _ = make_user(Role.PREFECTURE_STAFF, prefecture=TOTTORI, email="inline@tottori.example.jp")
    sign_in(page, admin_email, PASSWORD)
    page.goto("/admin/users")
    page.evaluate("window.notReloaded = true")
    row = page.locator(f"#user-{user_id}")
    row.get_by_role("link", name="Edit").click()
    name = page.locator(f"#user-{user_id}-display_name")
    expect(name).to_be_visible()
    name.fill("Inline Edited")
    page.locator(f"#user-{user_id}-prefecture").select_option(value="28")
    page.locator(f"#user-{user_id}").get_by_role("button", name="Save").click()
    expect(page.locator(f"#user-{user_id}")).to_contain_text("Inline Edited")
    expect(page.locator(f"#user-{user_id}")).to_contain_text("Hyogo")
    assert page.evaluate("window.notReloaded") is True
    screenshot(page, "admin-inline-edit")
    assert page.console_errors == []


def test_active_search_filters_users_as_you_type(page, make_user):
    _, admin_email = make_user(Role.ADMIN)
    make_user(Role.PREFECTURE_STAFF, prefecture=TOTTORI, email="sakaiminato@tottori.example.jp")
    make_user(Role.PREFECTURE_STAFF, prefecture=28, email="kobe@hyogo.example.jp")
    sign_in(page, admin_email, PASSWORD)
    page.goto("/admin/users")
    page.evaluate("window.notReloaded = true")
    page.get_by_role("searchbox").press_sequentially("sakai", delay=30)
    expect(page.locator("#user-list")).not_to_contain_text("kobe@hyogo")
    expect(page.locator("#user-list")).to_contain_text("sakaiminato@tottori")
    expect(page).to_have_url("/admin/users?q=sakai&role=&status=")
    assert page.evaluate("window.notReloaded") is True


def test_deactivation_asks_for_confirmation(page, make_user):
    _, admin_email = make_user(Role.ADMIN)
    user_id, _ = make_user(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    sign_in(page, admin_email, PASSWORD)
    page.goto("/admin/users")
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.locator(f"#user-{user_id}").get_by_role("button", name="Deactivate").click()
    expect(page.locator(f"#user-{user_id}")).to_contain_text("Active")
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator(f"#user-{user_id}").get_by_role("button", name="Deactivate").click()
    expect(page.locator(f"#user-{user_id}")).to_contain_text("Deactivated")


def test_expired_session_during_htmx_request_goes_to_login(app, page, make_user):
    admin_id, admin_email = make_user(Role.ADMIN)
    sign_in(page, admin_email, PASSWORD)
    page.goto("/admin/users")
    with app.app_context():  # the session ends on the server, as a timeout or deactivation would end it
        db.session.get(User, admin_id).session_version += 1
        db.session.commit()
    page.get_by_role("searchbox").press_sequentially("x", delay=30)
    page.wait_for_url("**/login?next=/admin/users**")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
