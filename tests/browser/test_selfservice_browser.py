"""Self-service in Chromium: a person opens their link on a 390 px phone, corrects their employer and
reports an activity and unsubscribes from one list; Tottori's staff see it on their home page and verify the activity."""
from playwright.sync_api import expect

from crm.alumni.models import Alumnus
from crm.auth.models import Role
from crm.extensions import db
from crm.selfservice import operations
from tests.browser.conftest import screenshot, sign_in, subscribed_lists
from tests.conftest import PASSWORD, TOTTORI


def test_a_person_corrects_their_employer_and_reports_an_activity_that_staff_verify(app, chromium, live_server, page, make_user, make_alumnus):
    alumnus = make_alumnus(TOTTORI, family="Hopper", given="Grace", email="grace@example.org", employer="Old Navy Yard")
    other = make_alumnus(TOTTORI, family="Lamarr", email="hedy@example.org")
    with app.app_context():
        from crm.outreach import operations as outreach

        lists = subscribed_lists({"prefecture_id": TOTTORI}, ("World Tottori Fan Club", "Tottori Business Network"),
                                 alumnus=db.session.get(Alumnus, alumnus))
        outreach.subscribe(lists[0], alumnus=db.session.get(Alumnus, other))
        token = operations.issue_link(db.session.get(Alumnus, alumnus))
        db.session.commit()

    phone = chromium.new_context(base_url=live_server, locale="en-US", viewport={"width": 390, "height": 844})
    person = phone.new_page()
    person.goto(f"/me/{token}")
    expect(person.get_by_role("heading", name="What the prefectures hold about you")).to_be_visible()
    assert person.evaluate("document.documentElement.scrollWidth") <= 390
    person.get_by_label("Current employer").fill("Compilers Inc.")
    person.locator("#details").get_by_role("button", name="Save").click()
    expect(person.get_by_text("Thank you: your details are saved.")).to_be_visible()
    expect(person.locator("dl")).to_contain_text("Compilers Inc.")
    report = person.locator("#report")
    report.get_by_label("Kind").select_option("promotion_event")
    report.get_by_label("Description").fill("Talk on Tottori at the Arlington library")
    report.get_by_label("People reached").fill("40")
    report.get_by_role("button", name="Report the activity").click()
    expect(person.get_by_text("Thank you: your activity is reported.")).to_be_visible()
    expect(person.locator("#report")).to_contain_text("Talk on Tottori")
    subscriptions = person.locator("#subscriptions li")
    expect(subscriptions).to_have_count(2)
    subscriptions.filter(has_text="Tottori Business Network").get_by_role("button", name="Unsubscribe").click()
    expect(person.get_by_text("Your subscription is updated.")).to_be_visible()
    expect(subscriptions.filter(has_text="Tottori Business Network")).to_contain_text("Unsubscribed")
    expect(subscriptions.filter(has_text="World Tottori Fan Club")).to_contain_text("Subscribed")
    assert person.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(person, "selfservice-390")
    phone.close()

    _, email = make_user(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    sign_in(page, email, PASSWORD)
    feed = page.locator("#self-updates")
    expect(feed).to_contain_text("Compilers Inc.")
    expect(feed).to_contain_text("reported an activity")
    expect(feed).to_contain_text("Tottori Business Network")
    page.goto(f"/alumni/{alumnus}")
    rows = page.locator("#alumnus-activities #activity-rows tr")
    expect(rows.first).to_contain_text("Talk on Tottori")
    rows.first.get_by_role("button", name="Verify").click()
    expect(rows.first.locator(".badge")).to_have_text("Verified")
    assert [error for error in page.console_errors if "status of 4" not in error] == []
