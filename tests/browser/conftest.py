"""Browser tests: the test app served on a local port, driven in Debian's headless Chromium.

Playwright cannot download browsers here; it drives /usr/bin/chromium (installed by
scripts/ensure-chromium). Without Chromium these tests are skipped locally and fail in CI
(CRM_REQUIRE_BROWSER=1), so a green CI run always includes them.
"""
from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

CHROMIUM = os.environ.get("CRM_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).parent / "screenshots"
# As the machine notes advise: no background traffic on a closed network, no sandbox as root.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


def _closing_responses(app):
    """Werkzeug's development server skips a response's close() when the browser drops the
    connection mid-write (a page closed while its favicon was still being sent): the static file
    was then left open, and its ResourceWarning, raised in the server's thread, failed whichever
    test was running. Wrapped in a generator, the response is closed when the generator is."""
    def closing(environ, start_response):
        response = app(environ, start_response)
        try:
            yield from response
        finally:
            if hasattr(response, "close"):
                response.close()

    return closing


@pytest.fixture(scope="session")
def live_server(app):
    """The session's test app on 127.0.0.1 and a free port, in a background thread."""
    server = make_server("127.0.0.1", 0, _closing_responses(app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture(scope="session")
def chromium():
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        if os.environ.get("CRM_REQUIRE_BROWSER"):
            pytest.fail(f"Chromium not found at {CHROMIUM}; run scripts/ensure-chromium")
        pytest.skip(f"Chromium not found at {CHROMIUM} (scripts/ensure-chromium installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium, live_server):
    context = chromium.new_context(base_url=live_server, locale="en-US", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.console_errors = errors
    page.set_default_timeout(10_000)
    yield page
    context.close()


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def sign_in(page, email: str, password: str):
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/")


def subscribed_lists(owner: dict, names, **person) -> list:
    """New mailing lists of the owner (prefecture_id= or association_id=), each with a purpose, and
    the person (alumnus= or member=) subscribed to every one. Inside an app context; the caller commits."""
    from crm.extensions import db
    from crm.outreach import operations as outreach
    from crm.outreach.models import MailingList

    lists = [MailingList(**owner, name=name, purpose_en=f"News of {name}", purpose_ja=name) for name in names]
    db.session.add_all(lists)
    db.session.flush()
    for mailing_list in lists:
        outreach.subscribe(mailing_list, **person)
    return lists
