"""Templates ask crm.access what the user may do; they never decide by role themselves. The
navigation shows exactly the pages each role may open."""
import re
from pathlib import Path

import pytest
from flask import url_for

from crm import access
from crm.auth.models import Role, User
from crm.extensions import db
from tests.conftest import TOTTORI

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
CONDITION = re.compile(r"{%-?\s*(?:if|elif)\b(.*?)-?%}", re.S)
ROLE_TEST = re.compile(r"current_user\.role|\bRole\.|\.role\b")


def _templates():
    return sorted(TEMPLATES.rglob("*.html"))


def test_no_template_decides_by_role():
    found = []
    for path in _templates():
        text = path.read_text(encoding="utf-8")
        found += [f"{path.relative_to(TEMPLATES)}: {condition.strip()}" for condition in CONDITION.findall(text)
                  if ROLE_TEST.search(condition)]
        # Showing the role's name is fine; choosing by it (an include, a comparison) is access.
        found += [f"{path.relative_to(TEMPLATES)}: {use}" for use in re.findall(r"current_user\.role\b(?!\.label)\S*", text)]
    assert not found, "templates ask crm.access (may(endpoint), access.…) instead of testing the role:\n" + "\n".join(found)


def _navigation(html: str) -> set[str]:
    nav = re.search(r'<nav aria-label="Main">(.*?)</nav>', html, re.S).group(1)
    return set(re.findall(r'href="([^"]+)"', nav))


NAVIGATION_ENDPOINTS = re.findall(r'item\("([\w.]+)"', (TEMPLATES / "_navigation.html").read_text(encoding="utf-8"))


@pytest.mark.parametrize("role", list(Role))
def test_navigation_shows_exactly_the_pages_the_role_may_open(app, client, make_user, make_association, role):
    association = make_association(TOTTORI) if role == Role.ASSOCIATION_STAFF else None
    user_id, email = make_user(role, prefecture=TOTTORI if role == Role.PREFECTURE_STAFF else None, association=association)
    with app.test_request_context():
        user = db.session.get(User, user_id)
        expected = {url_for("home.index")} | {url_for(endpoint) for endpoint in NAVIGATION_ENDPOINTS if access.may(endpoint, user)}
        hidden = {url_for(endpoint) for endpoint in NAVIGATION_ENDPOINTS if not access.may(endpoint, user)}
        if access.own_prefecture(user):
            expected.add(url_for("reports.prefecture_report", prefecture_id=TOTTORI))
        if access.own_association(user):
            expected |= {url_for(endpoint, association_id=association) for endpoint in (
                "associations.show_association", "associations.list_members", "associations.list_fees", "associations.list_programs")}
    client.login(email)
    assert _navigation(client.get("/").get_data(as_text=True)) == expected
    for url in expected:
        assert client.get(url).status_code == 200, f"{role.value} is shown {url} but cannot open it"
    for url in hidden:
        assert client.get(url).status_code == 403, f"{role.value} may open {url} but is not shown it"


@pytest.mark.parametrize("role", [Role.ADMIN, Role.PREFECTURE_STAFF, Role.MINISTRY_REVIEWER])
def test_national_dashboard_links_the_reports_the_user_may_open(app, client, make_user, role):
    user_id, email = make_user(role, prefecture=TOTTORI if role == Role.PREFECTURE_STAFF else None)
    client.login(email)
    html = client.get("/reports/national").get_data(as_text=True)
    linked = {int(code) for code in re.findall(r'href="/reports/return/(\d+)', html)}
    with app.test_request_context():
        user = db.session.get(User, user_id)
        assert linked == {code for code in range(1, 48) if access.may_open_report(code, user)}
    assert linked == ({TOTTORI} if role == Role.PREFECTURE_STAFF else set(range(1, 48)))
