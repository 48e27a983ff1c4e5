"""The app shell every page shares: the design system's stylesheet, the office and user in the
header, navigation grouped by task with the current page marked, breadcrumbs, and the toast that
tells an htmx save went through."""
import json
import re
from pathlib import Path

from crm.auth.models import Role
from tests.conftest import HYOGO, TOTTORI

STATIC = Path(__file__).resolve().parent.parent / "static"


def _navigation(html: str) -> str:
    return re.search(r'<div class="main-navigation" id="main-navigation">\s*<nav aria-label="[^"]+">(.*?)</nav>', html, re.S).group(1)


def test_pages_load_the_vendored_design_tokens_before_the_app_stylesheet(signed_in):
    html = signed_in().get("/").get_data(as_text=True)
    assert html.index("vendor/tokens.css") < html.index("app.css")
    tokens = (STATIC / "vendor" / "tokens.css").read_text(encoding="utf-8")
    assert "--color-primitive-blue-900" in tokens and "--font-size-16" in tokens
    assert "@digital-go-jp/design-tokens 1.1.9" in (STATIC / "vendor" / "VERSIONS.txt").read_text(encoding="utf-8")


def test_header_names_the_office_and_the_user(signed_in):
    html = signed_in(Role.PREFECTURE_STAFF, prefecture=TOTTORI).get("/alumni").get_data(as_text=True)
    header = re.search(r'<header class="site-header">(.*?)</header>', html, re.S).group(1)
    assert re.search(r'class="office">Tottori', header)
    assert "account-link" in header and "language-switch" in header


def test_navigation_is_grouped_by_task_and_marks_the_current_page(signed_in):
    html = signed_in(Role.PREFECTURE_STAFF, prefecture=TOTTORI).get("/alumni").get_data(as_text=True)
    navigation = _navigation(html)
    groups = re.findall(r'class="nav-group-label">([^<]+)<', navigation)
    assert groups[:3] == ["Start", "Registry", "Activities and return"]
    assert re.findall(r'<a href="([^"]+)" aria-current="page"', navigation) == ["/alumni"]


def test_navigation_rendered_once_per_scope_still_marks_the_page_and_shows_each_user_their_links(app, make_user, make_association):
    def signed_in(role, **scope):
        client = app.test_client()
        client.login(make_user(role, **scope)[1])
        return client

    current = r'<a href="([^"]+)" aria-current="page"'
    tottori = signed_in(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    on_alumni = _navigation(tottori.get("/alumni").get_data(as_text=True))
    on_ambassadors = _navigation(tottori.get("/ambassadors").get_data(as_text=True))
    assert re.findall(current, on_alumni) == ["/alumni"] and re.findall(current, on_ambassadors) == ["/ambassadors"]
    assert on_alumni.replace(' aria-current="page"', "") == on_ambassadors.replace(' aria-current="page"', "")
    assert re.findall(current, _navigation(tottori.get("/alumni?page=2").get_data(as_text=True))) == ["/alumni"]
    assert re.findall(current, _navigation(tottori.get("/alumni/new").get_data(as_text=True))) == []
    japanese = _navigation(tottori.get("/alumni", headers={"Accept-Language": "ja"}).get_data(as_text=True))
    assert "JET経験者" in japanese and ">Alumni<" not in japanese and re.findall(current, japanese) == ["/alumni"]
    assert f'href="/reports/return/{TOTTORI}"' in on_alumni

    hyogo = _navigation(signed_in(Role.PREFECTURE_STAFF, prefecture=HYOGO).get("/alumni").get_data(as_text=True))
    assert f'href="/reports/return/{HYOGO}"' in hyogo and f'href="/reports/return/{TOTTORI}"' not in hyogo
    first, second = make_association(TOTTORI, "一"), make_association(TOTTORI, "二")
    for association in (first, second):
        mine = _navigation(signed_in(Role.ASSOCIATION_STAFF, association=association).get("/").get_data(as_text=True))
        assert f'href="/associations/{association}/members"' in mine and "/reports/return/" not in mine
        assert 'href="/alumni"' not in mine
    ministry = _navigation(signed_in(Role.MINISTRY_REVIEWER).get("/").get_data(as_text=True))
    assert 'href="/alumni"' not in ministry and 'href="/reports/national"' in ministry


def test_a_group_without_links_is_left_out(signed_in):
    navigation = _navigation(signed_in(Role.MINISTRY_REVIEWER).get("/").get_data(as_text=True))
    assert "Reports" in navigation and "Registry" not in navigation and "Administration" not in navigation


def test_breadcrumbs_lead_home_and_name_the_page(signed_in):
    client = signed_in()
    html = client.get("/alumni").get_data(as_text=True)
    crumbs = re.search(r'<nav class="breadcrumbs" aria-label="Breadcrumbs">(.*?)</nav>', html, re.S).group(1)
    assert 'href="/"' in crumbs and re.search(r'aria-current="page">\s*Alumni\s*<', crumbs)
    assert "breadcrumbs" not in client.get("/").get_data(as_text=True).split("<main", 1)[1]


def test_toast_region_is_announced_politely(signed_in):
    html = signed_in().get("/").get_data(as_text=True)
    assert '<div id="toasts" class="toasts" role="status" aria-live="polite">' in html


def test_htmx_save_sends_its_message_as_a_toast_trigger(app, client, make_user):
    from tests.test_admin import _user
    _, admin = make_user(Role.ADMIN)
    user_id, _ = make_user(Role.PREFECTURE_STAFF, prefecture=TOTTORI, email="toast@tottori.example.jp")
    client.login(admin)
    prefix = f"user-{user_id}-"
    values = {prefix + "display_name": "Toast", prefix + "role": "prefecture_staff", prefix + "prefecture": str(HYOGO),
              prefix + "association": "", prefix + "version": _user(app, user_id).version}
    response = client.submit(f"/admin/users/{user_id}", values, htmx=True)
    assert response.status_code == 200
    assert json.loads(response.headers["HX-Trigger"]) == {"crm:notice": {"message": "Account toast@tottori.example.jp saved."}}
    # Japanese travels JSON-escaped: HTTP headers are Latin-1.
    values[prefix + "version"] = _user(app, user_id).version
    response = client.submit(f"/admin/users/{user_id}", values, htmx=True, headers={"Accept-Language": "ja"})
    header = response.headers["HX-Trigger"]
    assert header.isascii() and json.loads(header)["crm:notice"]["message"].endswith("を保存しました。")


def test_a_refused_save_sends_no_toast(app, client, make_user):
    _, admin = make_user(Role.ADMIN)
    user_id, _ = make_user(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    client.login(admin)
    prefix = f"user-{user_id}-"
    response = client.submit(f"/admin/users/{user_id}", {prefix + "display_name": "", prefix + "version": 0}, htmx=True)
    assert response.status_code in (409, 422) and "HX-Trigger" not in response.headers


def test_a_record_page_is_titled_by_its_record_and_its_breadcrumbs_lead_to_its_list(signed_in, make_alumnus):
    client = signed_in()
    alumnus = make_alumnus(TOTTORI, family="Crumb", given="Ann")
    html = client.get(f"/alumni/{alumnus}").get_data(as_text=True)
    assert re.search(r"<title>([^<]*)</title>", html).group(1).startswith("CRUMB, Ann ·")
    crumbs = re.search(r'<nav class="breadcrumbs" aria-label="Breadcrumbs">(.*?)</nav>', html, re.S).group(1)
    assert re.findall(r'href="([^"]+)"', crumbs) == ["/", "/alumni"]


def test_a_refused_stale_edit_keeps_what_was_typed_beside_the_current_value(app, client, make_user):
    from tests.test_admin import _user
    _, admin = make_user(Role.ADMIN)
    user_id, _ = make_user(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    client.login(admin)
    stale = _user(app, user_id).version
    prefix = f"user-{user_id}-"
    base = {prefix + "role": "prefecture_staff", prefix + "prefecture": str(TOTTORI), prefix + "association": ""}
    client.submit(f"/admin/users/{user_id}", {**base, prefix + "display_name": "First save", prefix + "version": stale}, htmx=True)
    second = client.submit(f"/admin/users/{user_id}", {**base, prefix + "display_name": "Typed meanwhile", prefix + "prefecture": str(HYOGO),
                                                       prefix + "version": stale}, htmx=True)
    html = second.get_data(as_text=True)
    assert second.status_code == 409 and 'value="First save"' in html
    # Each changed field, as its input showed it (a choice by its label); unchanged fields say nothing.
    assert re.findall(r'<p class="typed">You entered: ([^<]*)</p>', html) == ["Typed meanwhile", "28 Hyogo"]
