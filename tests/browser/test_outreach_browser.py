"""Outreach in Chromium: composing a bilingual newsletter, previewing it as a recipient, sending it."""
from playwright.sync_api import expect

from crm.auth.models import Role
from crm.extensions import db
from tests.browser.conftest import screenshot, sign_in
from tests.conftest import PASSWORD, TOTTORI


def test_compose_a_bilingual_newsletter_preview_it_and_send_it(app, page, make_user, make_alumnus, smtp_sink):
    from crm import mail
    from crm.alumni.models import Alumnus
    from crm.outreach import operations
    from crm.outreach.models import MailingList

    _, email = make_user(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    ann = make_alumnus(TOTTORI, family="Campbell", given="Ann", email="ann@example.org", preferred_language="en")
    taro = make_alumnus(TOTTORI, family="山田", given="太郎", email="taro@example.org", preferred_language="ja")
    with app.app_context():
        fan_club = MailingList(prefecture_id=TOTTORI, name="World Tottori Fan Club", purpose_ja="お知らせ", purpose_en="News")
        db.session.add(fan_club)
        db.session.flush()
        for person in (ann, taro):
            operations.subscribe(fan_club, alumnus=db.session.get(Alumnus, person))
        db.session.commit()
        list_id = fan_club.id
    sign_in(page, email, PASSWORD)
    page.goto("/outreach/lists")
    page.get_by_role("link", name="World Tottori Fan Club").click()
    page.get_by_role("link", name="Write a newsletter").click()
    expect(page.locator("#recipient-count")).to_contain_text("2 recipients")
    expect(page.get_by_text("No open or click tracking").first).to_be_visible()
    page.get_by_label("Subject (Japanese)").fill("鳥取便り 秋号")
    page.get_by_label("Text (Japanese, Markdown)").fill("砂丘に**秋**が来ました。")
    page.get_by_label("Subject (English)").fill("Tottori news: autumn")
    page.get_by_label("Text (English, Markdown)").fill("Autumn has come to the **dunes**. <script>alert(1)</script>")
    page.get_by_label("Preview as").select_option(label="Ann Campbell (en)")
    page.get_by_role("button", name="Preview").click()
    preview = page.locator("#preview")
    expect(preview).to_contain_text("Dear Ann Campbell,")
    expect(page.locator("#preview-subject")).to_have_text("Tottori news: autumn")
    expect(page.locator("#preview-html strong")).to_have_text("dunes")
    assert page.locator("#preview-html script").count() == 0
    screenshot(page, "outreach-preview")
    page.get_by_role("button", name="Send to the list").click()
    page.wait_for_url(f"**/outreach/sends/*")
    expect(page.locator("#send-progress")).to_contain_text("Queued: 2")
    mail.deliver_due(app)
    assert sorted(message["Subject"] for message in smtp_sink.messages) == ["Tottori news: autumn", "鳥取便り 秋号"]
    page.reload()
    expect(page.locator("#send-progress")).to_contain_text("Sent: 2")
    assert page.console_errors == []
    assert list_id
