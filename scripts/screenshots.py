"""`make screenshots`: PNGs of the key pages of each role — the home page and every page its
navigation offers, plus a record of each kind it reaches from there — in Japanese and English, at
1,366 and 390 px wide, into screenshots/ (git-ignored): screenshots/<role>/<language>-<width>-<page>.png.

The demo data (`flask seed-demo`) in a fresh SQLite file, served on 127.0.0.1 by a background thread;
Debian's Chromium (/usr/bin/chromium, scripts/ensure-chromium, which also installs the Japanese font
fonts-ipafont-gothic) driven by Playwright, as the browser tests do. Takes a few minutes."""
from __future__ import annotations

import logging
import os
import re
import shutil
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from crm import create_app  # noqa: E402
from crm.demo import DEMO_ACCOUNTS, seed  # noqa: E402
from crm.extensions import db  # noqa: E402
from crm.reference.prefectures import sync_prefectures  # noqa: E402

OUT = ROOT / "screenshots"
CHROMIUM = os.environ.get("CRM_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
WIDTHS = (1366, 390)
LANGUAGES = {"en": "en-US", "ja": "ja-JP"}
# One record of each kind, found by the first link to it on the page the navigation opens.
RECORD_LINKS = {"/alumni": r"^/alumni/\d+$", "/ambassadors": r"^/ambassadors/\d+$", "/associations": r"^/associations/\d+$"}


def serve(database: Path):
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}", "SECRET_KEY": "screenshots",
                      "SESSION_COOKIE_SECURE": False, "RATELIMIT_ENABLED": False})
    with app.app_context():
        db.create_all()
        with db.engine.begin() as connection:
            sync_prefectures(connection)
        seed()
        db.session.remove()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


def slug(url: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", url).strip("-") or "home"


def pages_of(page) -> list[str]:
    """The home page, the navigation's pages and one record of each kind listed there."""
    page.goto("/")
    links = page.locator("nav[aria-label] a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    pages = ["/", *dict.fromkeys(link for link in links if link and link.startswith("/"))]
    for listing, pattern in RECORD_LINKS.items():
        if listing in pages:
            page.goto(listing)
            hrefs = page.locator("main a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
            record = next((href for href in hrefs if href and re.match(pattern, href)), None)
            if record:
                pages.append(record)
    return pages


def main() -> None:
    if not Path(CHROMIUM).exists():
        sys.exit(f"Chromium not found at {CHROMIUM}: run scripts/ensure-chromium")
    shutil.rmtree(OUT, ignore_errors=True)
    with tempfile.TemporaryDirectory() as work:
        server, base = serve(Path(work) / "demo.sqlite")
        count = 0
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
                for account in DEMO_ACCOUNTS:
                    role = account["role"].value
                    signed_in = browser.new_context(base_url=base, locale="en-US")
                    page = signed_in.new_page()
                    page.goto("/login")
                    page.get_by_label("Email").fill(account["email"])
                    page.get_by_label("Password").fill(account["password"])
                    page.get_by_role("button", name="Sign in").click()
                    page.wait_for_url("**/")
                    pages = pages_of(page)
                    state = signed_in.storage_state()
                    signed_in.close()
                    folder = OUT / f"{role}-{account['email'].split('@')[0]}"
                    folder.mkdir(parents=True, exist_ok=True)
                    for language, locale in LANGUAGES.items():
                        for width in WIDTHS:
                            context = browser.new_context(base_url=base, locale=locale, storage_state=state,
                                                          viewport={"width": width, "height": 900})
                            shot = context.new_page()
                            for url in pages:
                                shot.goto(url, wait_until="networkidle")
                                shot.screenshot(path=str(folder / f"{language}-{width}-{slug(url)}.png"), full_page=True)
                                count += 1
                            context.close()
                    print(f"{folder.relative_to(ROOT)}: {len(pages)} pages × {len(LANGUAGES)} languages × {len(WIDTHS)} widths")
                browser.close()
        finally:
            server.shutdown()
    print(f"{count} screenshots in {OUT.relative_to(ROOT)}/")


if __name__ == "__main__":
    main()
