from tests.browser.test_design_browser import records, _signed_in  # noqa
from crm.auth.models import Role


def test_shots(page, records):
    _signed_in(page, records, Role.PREFECTURE_STAFF, 1366)
    page.get_by_role("button", name="日本語").click()
    page.goto("/alumni/1")
    page.screenshot(path="/tmp/design-alumnus-ja-1366.png", full_page=True)
    page.goto("/reports/return/31")
    page.screenshot(path="/tmp/design-report-ja-1366.png")
    page.set_viewport_size({"width": 390, "height": 900})
    page.goto("/alumni/1")
    page.screenshot(path="/tmp/design-alumnus-ja-390.png", full_page=True)
    page.goto("/associations/programs/1/edit")
    page.screenshot(path="/tmp/design-program-form-ja-390.png", full_page=True)
