"""The look as machines check it, in Chromium: every page a role reaches reflows down to a 390 px
screen without scrolling sideways (WCAG 1.4.10), axe-core finds no accessibility violation in
Japanese or English, and an htmx save is confirmed by a toast without a reload."""
from pathlib import Path

import pytest
from playwright.sync_api import expect

from crm.associations.models import ProgramStatus
from crm.auth.models import Role
from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD, TOTTORI

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
# An employer's name with no place to break: it must wrap, not widen the page.
LONG_EMPLOYER = "FurusatoInternationalTradingCompany" * 6 + "Limited."


@pytest.fixture
def records(app, make_user, make_association, make_member, make_fee, make_program, make_alumnus, make_ambassador,
            make_activity, make_investment, make_contact):
    """A small office's worth of records, and one account per role."""
    alumnus = make_alumnus(TOTTORI, family="Longname", given="Ada", employer=LONG_EMPLOYER[:200])
    association = make_association(TOTTORI)
    member = make_member(association)
    make_fee(member)
    program = make_program(association)
    # A year of the annual report with every chart drawn: programs by kind, funding by source, the trends.
    make_program(association, title="報告年度", status=ProgramStatus.HELD, participants_japanese=30, participants_foreign=12,
                 volunteers=3, actual_cost=50_000, funding=(("municipal_grant", "", 80_000), ("membership_fees", "", 20_000)))
    ambassador = make_ambassador(alumnus)
    activity = make_activity(alumnus)
    investment = make_investment()
    make_contact(alumnus, TOTTORI)
    from tests.test_access_matrix import _alumni_samples, _privacy_request_sample

    samples = _alumni_samples(app, make_alumnus, make_contact)  # a network, an association abroad, a placement
    group, abroad, placement = samples["group"], samples["abroad"], samples["placement"]

    request = _privacy_request_sample(app, alumnus)["request"]
    admin_id, admin_email = make_user(Role.ADMIN)
    accounts = {
        Role.ADMIN: admin_email,
        Role.PREFECTURE_STAFF: make_user(Role.PREFECTURE_STAFF, prefecture=TOTTORI)[1],
        Role.ASSOCIATION_STAFF: make_user(Role.ASSOCIATION_STAFF, association=association)[1],
        Role.MINISTRY_REVIEWER: make_user(Role.MINISTRY_REVIEWER)[1],
    }
    records = {
        Role.ADMIN: ["/admin/users/new", f"/alumni/{alumnus}", "/reports/national", "/account", "/no-such-page",
                     "/privacy/overview", f"/privacy/accesses?user={admin_id}&since=2026-01-01", "/alumni/associations-abroad/new",
                     f"/alumni/associations-abroad/{abroad}/edit", "/associations/new"],
        Role.PREFECTURE_STAFF: [f"/alumni/{alumnus}", "/alumni/new", f"/alumni/{alumnus}/merge", "/alumni/groups/new",
                                f"/associations/{association}", f"/associations/{association}/edit",
                                f"/associations/members/{member}", f"/associations/{association}/members/new",
                                f"/associations/programs/{program}", f"/associations/programs/{program}/edit",
                                f"/ambassadors/{ambassador}", f"/ambassadors/{ambassador}/edit",
                                f"/ambassadors/activities/{activity}", f"/ambassadors/activities/{activity}/edit",
                                "/imports/export/alumni", "/account", "/privacy/requests/new", f"/privacy/requests/{request}",
                                f"/privacy/requests/{request}/package", f"/privacy/alumni/{alumnus}/accesses",
                                f"/alumni/{alumnus}/placements", f"/alumni/placements/{placement}/edit", f"/alumni/groups/{group}",
                                f"/alumni/groups/{group}/edit", f"/ambassadors/investment/{investment}",
                                f"/ambassadors/investment/{investment}/edit", f"/ambassadors/alumni/{alumnus}/activities",
                                f"/associations/members/{member}/edit", f"/associations/programs/{program}/alumni",
                                f"/associations/{association}/fees"],
        Role.ASSOCIATION_STAFF: [f"/associations/members/{member}", f"/associations/programs/{program}",
                                 f"/associations/{association}/calendar", f"/associations/{association}/report?fy=2025",
                                 f"/associations/{association}/programs/new", "/account", f"/associations/members/{member}/edit",
                                 f"/associations/programs/{program}/edit", f"/associations/{association}/edit"],
        Role.MINISTRY_REVIEWER: ["/account"],
    }
    return accounts, records


def _pages(page) -> list[str]:
    """The home page and every page the navigation offers."""
    links = page.locator("nav[aria-label] a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    return list(dict.fromkeys(links))


def _signed_in(page, records, role, width: int):
    accounts, record_pages = records
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, accounts[role], PASSWORD)
    return _pages(page) + record_pages[role]


@pytest.mark.parametrize("role", [Role.ADMIN, Role.PREFECTURE_STAFF, Role.ASSOCIATION_STAFF, Role.MINISTRY_REVIEWER])
def test_every_page_reflows_to_a_390_px_screen(page, records, role):
    wider = {}
    for url in _signed_in(page, records, role, 390):
        page.goto(url, wait_until="networkidle")  # sections that load themselves are part of the page
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > 390:
            wider[url] = width
    assert wider == {}, f"pages wider than a 390 px screen: {wider}"
    # The error page is among the pages: its own 404 is expected, anything else is not.
    assert [error for error in page.console_errors if "404 (NOT FOUND)" not in error] == []


def test_a_wide_table_scrolls_inside_its_named_focusable_wrapper(page, records):
    _signed_in(page, records, Role.PREFECTURE_STAFF, 390)
    page.goto("/alumni")
    wrap = page.locator(".table-wrap").first
    expect(wrap).to_have_attribute("tabindex", "0")
    expect(wrap).to_have_attribute("role", "region")
    assert wrap.get_attribute("aria-label")
    assert wrap.evaluate("element => element.scrollWidth > element.clientWidth")


def _violations(page) -> list[str]:
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [f"{violation['id']} ({violation['impact']}): {violation['help']} — "
            + "; ".join(node["target"][0] if isinstance(node["target"][0], str) else str(node["target"]) for node in violation["nodes"][:3])
            for violation in result["violations"]]


@pytest.fixture
def axe_page(chromium, live_server):
    """A page that may load axe-core although the app's CSP forbids scripts it did not serve."""
    if not AXE.exists():
        pytest.fail("axe-core is missing: run scripts/vendor-assets axe (make test does)")
    context = chromium.new_context(base_url=live_server, locale="en-US", bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.mark.parametrize("locale", ["en", "ja"])
@pytest.mark.parametrize("role", [Role.ADMIN, Role.PREFECTURE_STAFF, Role.ASSOCIATION_STAFF, Role.MINISTRY_REVIEWER])
def test_axe_finds_no_violation_on_any_page_of_the_role(axe_page, records, role, locale):
    page = axe_page
    pages = _signed_in(page, records, role, 1366)
    if locale == "ja":
        page.get_by_role("button", name="日本語").click()
        expect(page.locator("html")).to_have_attribute("lang", "ja")
    found = {}
    for url in pages:
        page.goto(url)
        violations = _violations(page)
        if violations:
            found[url] = violations
    assert found == {}, "axe-core violations:\n" + "\n".join(f"{url}: {v}" for url, vs in found.items() for v in vs)


def test_axe_finds_no_violation_on_the_sign_in_page(axe_page):
    axe_page.goto("/login")
    assert _violations(axe_page) == []


def test_an_inline_save_is_confirmed_by_a_toast_without_reload(page, records):
    accounts, _ = records
    _signed_in(page, records, Role.ADMIN, 1366)
    page.goto("/admin/users")
    page.evaluate("window.notReloaded = true")
    row = page.locator("tbody tr").filter(has_text=accounts[Role.PREFECTURE_STAFF])
    row.get_by_role("link", name="Edit").click()
    page.locator("tr.editing input[name$='display_name']").fill("Toasted")
    page.locator("tr.editing").get_by_role("button", name="Save").click()
    toast = page.locator("#toasts .toast")
    expect(toast).to_have_text(f"Account {accounts[Role.PREFECTURE_STAFF]} saved.")
    expect(page.locator("#toasts")).to_have_attribute("aria-live", "polite")
    assert page.evaluate("window.notReloaded") is True


def test_on_a_phone_the_navigation_folds_behind_a_menu_button(page, records):
    _signed_in(page, records, Role.PREFECTURE_STAFF, 390)
    navigation = page.get_by_role("navigation", name="Main")
    expect(navigation).to_be_hidden()
    menu = page.get_by_role("button", name="Menu")
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(navigation.get_by_role("link", name="Home")).to_have_attribute("aria-current", "page")
    menu.click()
    expect(navigation).to_be_hidden()
    page.set_viewport_size({"width": 1366, "height": 900})
    expect(menu).to_be_hidden()
    expect(navigation).to_be_visible()
