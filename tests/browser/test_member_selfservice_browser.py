"""Self-service of an association member in Chromium: the member opens their link on a 390 px phone,
corrects their address, answers an invitation and unsubscribes from one list (axe-core finds no
violation on their page); their association's staff see it on their home page and undo the address."""
from datetime import timedelta

from playwright.sync_api import expect

from crm import clock
from crm.associations.models import Member
from crm.auth.models import Role
from crm.extensions import db
from crm.selfservice import operations
from tests.browser.conftest import screenshot, sign_in, subscribed_lists
from tests.browser.test_design_browser import AXE, _violations
from tests.conftest import PASSWORD


def test_a_member_corrects_their_address_and_their_associations_staff_undo_it(app, chromium, live_server, page, make_user,
                                                                               make_association, make_member, make_program):
    association = make_association(name="鳥取県国際交流財団")
    member = make_member(association, name="Yamamoto Yumi", email="yumi@example.org", address="Tottori 1-1", preferred_language="en")
    festival = make_program(association, title="Furusato festival", day=clock.today() + timedelta(days=30))
    with app.app_context():
        from crm.outreach import operations as outreach

        lists = subscribed_lists({"association_id": association}, ("TIA newsletter", "TIA volunteers"),
                                 member=db.session.get(Member, member))
        outreach.create_send(lists[0], None, {"subject_ja": "招待", "body_ja": "どうぞ"}, program_id=festival)
        token = operations.issue_link(db.session.get(Member, member))
        db.session.commit()

    # The member's phone may load axe-core although the app's CSP forbids scripts it did not serve.
    assert AXE.exists(), "axe-core is missing: run scripts/vendor-assets axe (make test does)"
    phone = chromium.new_context(base_url=live_server, locale="en-US", viewport={"width": 390, "height": 844}, bypass_csp=True)
    person = phone.new_page()
    person.set_default_timeout(10_000)
    person.goto(f"/me/{token}")
    expect(person.get_by_role("heading", name="Your record: Yamamoto Yumi")).to_be_visible()
    assert person.evaluate("document.documentElement.scrollWidth") <= 390
    assert _violations(person) == []
    details = person.locator("#details")
    details.get_by_label("Address", exact=True).fill("Tottori 2-2, Yonago")
    details.get_by_role("button", name="Save").click()
    expect(person.get_by_text("Thank you: your details are saved.")).to_be_visible()
    expect(person.locator("dl")).to_contain_text("Tottori 2-2, Yonago")
    invitation = person.locator("#invitations li", has_text="Furusato festival")
    expect(invitation).to_contain_text("Not answered yet")
    invitation.get_by_role("button", name="I will attend").click()
    expect(person.get_by_text("Thank you: your answer is recorded.")).to_be_visible()
    expect(person.locator("#invitations li", has_text="Furusato festival")).to_contain_text("Will attend")
    subscriptions = person.locator("#subscriptions li")
    subscriptions.filter(has_text="TIA volunteers").get_by_role("button", name="Unsubscribe").click()
    expect(person.get_by_text("Your subscription is updated.")).to_be_visible()
    expect(subscriptions.filter(has_text="TIA volunteers")).to_contain_text("Unsubscribed")
    expect(subscriptions.filter(has_text="TIA newsletter")).to_contain_text("Subscribed")
    assert person.evaluate("document.documentElement.scrollWidth") <= 390
    assert _violations(person) == []
    screenshot(person, "selfservice-member-390")
    phone.close()

    _, email = make_user(Role.ASSOCIATION_STAFF, association=association)
    sign_in(page, email, PASSWORD)
    feed = page.locator("#member-self-updates")
    correction = feed.locator("li", has_text="Tottori 2-2, Yonago")
    expect(correction).to_contain_text("Yamamoto Yumi")
    expect(feed.locator("li", has_text="TIA volunteers")).to_contain_text("changed a subscription")
    expect(feed.locator("li", has_text="TIA volunteers").get_by_role("button", name="Undo")).to_have_count(0)
    page.evaluate("window.notReloaded = true")
    correction.get_by_role("button", name="Undo").click()
    expect(page.locator("#toasts .toast")).to_have_text("The self-update is undone.")
    expect(page.locator("#member-self-updates li", has_text="Tottori 2-2, Yonago").locator(".badge")).to_have_text("undone")
    assert page.evaluate("window.notReloaded") is True
    page.goto(f"/associations/members/{member}")
    expect(page.locator("main")).to_contain_text("Tottori 1-1")
    assert [error for error in page.console_errors if "status of 4" not in error] == []
