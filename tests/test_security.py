"""Headers, CSRF, error pages, secret key, htmx behaviour on expired sessions."""
import pytest

from crm import create_app
from crm.auth.models import Role
from crm.extensions import db
from tests.conftest import TOTTORI, fragment


def test_security_headers_on_every_page(client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    for directive in ("default-src 'self'", "frame-ancestors 'none'", "object-src 'none'", "base-uri 'none'", "script-src 'self'"):
        assert directive in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["Cache-Control"] == "no-store"
    assert "HX-Request" in response.headers["Vary"]


def test_pages_have_no_inline_script_and_nothing_from_outside(signed_in):
    client = signed_in(Role.ADMIN)
    for url in ("/", "/admin/users", "/admin/audit", "/account"):
        html = client.get(url).get_data(as_text=True)
        assert "<script>" not in html and "onclick" not in html
        assert "http://" not in html and "https://" not in html


def test_htmx_is_the_pinned_2_0_11(client):
    with client.get("/static/vendor/htmx.min.js") as response:
        body = response.get_data(as_text=True)
    assert 'version:"2.0.11"' in body


def test_post_without_csrf_token_is_refused(signed_in, app):
    client = signed_in(Role.ADMIN)
    response = client.post("/logout")
    assert response.status_code == 400
    assert client.get("/").status_code == 200  # still signed in: nothing happened


def test_post_with_a_foreign_csrf_token_is_refused(signed_in, app):
    from itsdangerous import URLSafeTimedSerializer

    client = signed_in(Role.ADMIN)
    forged = URLSafeTimedSerializer("another-sites-secret", salt="wtf-csrf-token").dumps("0" * 40)
    assert client.post("/logout", data={"csrf_token": forged}).status_code == 400
    assert client.post("/logout", headers={"X-CSRFToken": forged}).status_code == 400
    assert client.get("/").status_code == 200


def test_get_routes_change_nothing(app):
    """No GET route may change state: every rule answering GET is a read."""
    for rule in app.url_map.iter_rules():
        if "GET" in rule.methods and rule.endpoint != "static":
            assert not any(word in rule.endpoint for word in ("delete", "deactivate", "activate", "logout", "update", "mark"))


def test_htmx_request_with_expired_session_gets_hx_redirect(client):
    response = client.htmx_get("/admin/users?q=x", headers={"HX-Current-URL": "http://localhost/admin/users?q=x"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/login?next=/admin/users")
    assert response.get_data(as_text=True) == ""


def test_plain_request_without_session_redirects_to_login(client):
    response = client.get("/admin/users")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/admin/users")


def test_unknown_page_in_both_languages(client):
    assert "Not found" in client.get("/nope", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "見つかりません" in client.get("/nope", headers={"Accept-Language": "ja"}).get_data(as_text=True)


def test_error_in_htmx_request_goes_to_the_message_area(signed_in):
    client = signed_in(Role.ADMIN)
    response = client.htmx_get("/admin/users/999999/edit")
    assert response.status_code == 404
    assert response.headers["HX-Retarget"] == "#messages"
    assert fragment(response.get_data(as_text=True))


def test_server_error_shows_no_stack_trace(app, client, make_user):
    _, email = make_user(Role.ADMIN)
    client.login(email)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    original = app.view_functions["home.index"]

    def broken():
        raise RuntimeError("secret internals")

    broken.access_roles = original.access_roles
    app.view_functions["home.index"] = broken
    try:
        response = client.get("/", headers={"Accept-Language": "ja"})
    finally:
        app.view_functions["home.index"] = original
        app.config["PROPAGATE_EXCEPTIONS"] = None
    body = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "secret internals" not in body and "Traceback" not in body
    assert "エラーが発生しました" in body


def test_refuses_to_start_without_secret_key_outside_debug(monkeypatch, tmp_path):
    monkeypatch.delenv("CRM_SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="CRM_SECRET_KEY"):
        create_app({"SECRET_KEY": None, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.sqlite"})


def test_secret_key_and_database_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("CRM_SECRET_KEY", "from-the-environment")
    monkeypatch.setenv("CRM_DATABASE_URL", f"sqlite:///{tmp_path}/env.sqlite")
    app = create_app()
    assert app.config["SECRET_KEY"] == "from-the-environment"
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("env.sqlite")


def test_upload_over_the_limit_is_413(app, signed_in):
    client = signed_in(Role.ADMIN)
    app.config["MAX_CONTENT_LENGTH"] = 1024
    try:
        response = client.submit("/login", {"email": "x" * 4096, "password": "y"})
    finally:
        app.config["MAX_CONTENT_LENGTH"] = 20 * 1024 * 1024
    assert response.status_code == 413


HUGE = "9" * 30  # beyond a 64-bit integer: the database driver refuses it


def test_numbers_too_large_for_the_database_are_refused_not_a_500(app, client, make_user, make_alumnus, make_association,
                                                                   make_program):
    alumnus = make_alumnus(TOTTORI)
    association = make_association(TOTTORI, "鳥取県国際交流財団")
    program = make_program(association)
    client.login(make_user(Role.PREFECTURE_STAFF, prefecture=TOTTORI)[1])
    for url in (f"/alumni?year_from={HUGE}", f"/alumni?year_to={HUGE}&tag={HUGE}", f"/alumni?page={HUGE}",
                f"/alumni/{HUGE}", f"/alumni/{alumnus}/merge?other={HUGE}", f"/alumni/groups/{HUGE}", f"/imports/{HUGE}",
                f"/imports/export/alumni?tag={HUGE}&year_to={HUGE}", f"/imports/export/contacts?alumnus={HUGE}",
                f"/ambassadors/activities?alumnus={HUGE}&year={HUGE}", f"/associations/{association}/fees?fy={HUGE}",
                f"/associations/{association}/report?fy={HUGE}", f"/imports/associations/{association}/programs/export?fy={HUGE}"):
        assert client.get(url).status_code in (200, 404), url
    for url, data in (("/alumni/bulk", {"ids": [HUGE, str(alumnus)], "action": "archive"}), (f"/alumni/{alumnus}/merge", {"other": HUGE}),
                      (f"/alumni/{alumnus}/groups", {"group": HUGE}), (f"/associations/programs/{program}/alumni", {"alumnus": HUGE})):
        assert client.submit(url, data).status_code == 404, url
    with app.app_context():
        from crm.alumni.models import Alumnus

        assert db.session.get(Alumnus, alumnus).archived_at is None
