"""Sign-in, passwords and sessions that end on the server."""
import time

import pytest

from crm.auth import passwords
from crm.auth.models import Role, User
from crm.extensions import db
from tests.conftest import PASSWORD


def test_sign_in_and_out(client, make_user):
    _, email = make_user(Role.PREFECTURE_STAFF, prefecture=31)
    response = client.login(email)
    assert response.headers["Location"] == "/"
    assert client.get("/").status_code == 200
    response = client.submit("/logout")
    assert response.status_code == 303
    assert client.get("/").status_code == 302


def test_failed_login_reads_the_same_for_unknown_wrong_and_inactive(app, client, make_user):
    user_id, email = make_user(Role.ADMIN)
    inactive_id, inactive_email = make_user(Role.ADMIN)
    with app.app_context():
        db.session.get(User, inactive_id).active = False
        db.session.commit()
    answers = []
    for attempt_email, password in [
        ("nobody@example.jp", PASSWORD),
        (email, "wrong-password-entirely"),
        (inactive_email, PASSWORD),
    ]:
        response = client.submit("/login", {"email": attempt_email, "password": password})
        body = response.get_data(as_text=True)
        answers.append((response.status_code, "The email or password is not correct." in body or "メールアドレスまたはパスワードが正しくありません" in body))
    assert answers == [(200, True)] * 3


def test_password_is_hashed_with_argon2id_at_owasp_minimum(app, make_user):
    user_id, _ = make_user(Role.ADMIN)
    with app.app_context():
        stored = db.session.get(User, user_id).password_hash
    assert stored.startswith("$argon2id$")
    assert "m=19456,t=2,p=1" in stored


@pytest.mark.parametrize(
    "password, ok",
    [
        ("short-pass", False),
        ("a" * 11, False),
        ("a perfectly long passphrase", True),
        ("x" * 64, True),
        ("x" * 129, False),
        ("passwordpassword", False),  # in the shipped list of common passwords
        ("PASSWORDPASSWORD", False),  # compared case-insensitively
        ("日本語のパスフレーズも使えます", True),
    ],
)
def test_password_policy(app, password, ok):
    with app.test_request_context():
        assert (passwords.password_problems(password, "someone@example.jp") == []) is ok


def test_password_built_from_email_is_refused(app):
    with app.test_request_context():
        assert passwords.password_problems("tanaka.hanako-2026", "tanaka.hanako@example.jp")


def test_common_password_list_is_shipped():
    assert len(passwords.common_passwords()) > 400
    assert "passwordpassword" in passwords.common_passwords()


def test_cookie_replayed_after_logout_is_rejected(client, make_user):
    _, email = make_user(Role.PREFECTURE_STAFF, prefecture=31)
    client.login(email)
    stolen = client.get_cookie("crm_session").value
    client.submit("/logout")
    client.set_cookie("crm_session", stolen)
    assert client.get("/").status_code == 302


def test_cookie_replayed_after_deactivation_is_rejected(app, client, make_user):
    user_id, email = make_user(Role.PREFECTURE_STAFF, prefecture=31)
    client.login(email)
    with app.app_context():
        user = db.session.get(User, user_id)
        user.active = False
        user.session_version += 1
        db.session.commit()
    assert client.get("/").status_code == 302


def test_deactivation_by_admin_ends_the_users_sessions(app, make_user):
    _, admin_email = make_user(Role.ADMIN)
    user_id, email = make_user(Role.PREFECTURE_STAFF, prefecture=31)
    staff, admin = app.test_client(), app.test_client()
    staff.login(email)
    admin.login(admin_email)
    assert admin.submit(f"/admin/users/{user_id}/deactivate").status_code == 303
    assert staff.get("/").status_code == 302


def test_password_change_ends_other_sessions_but_keeps_this_one(app, make_user):
    _, email = make_user(Role.PREFECTURE_STAFF, prefecture=31)
    laptop, phone = app.test_client(), app.test_client()
    laptop.login(email)
    phone.login(email)
    response = laptop.submit(
        "/account/password",
        {"current_password": PASSWORD, "new_password": "a brand new long phrase", "confirm": "a brand new long phrase"},
    )
    assert response.status_code == 303
    assert laptop.get("/").status_code == 200
    assert phone.get("/").status_code == 302


def test_wrong_current_password_changes_nothing(app, client, make_user):
    user_id, email = make_user(Role.PREFECTURE_STAFF, prefecture=31)
    client.login(email)
    response = client.submit(
        "/account/password", {"current_password": "not-my-password", "new_password": "another long phrase", "confirm": "another long phrase"}
    )
    assert response.status_code == 422
    client.submit("/logout")
    client.login(email)  # the old password still works


def test_login_starts_a_new_session(client, make_user):
    _, email = make_user(Role.ADMIN)
    client.get("/login")
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    client.login(email)
    with client.session_transaction() as session:
        assert "planted" not in session


def test_idle_timeout_ends_the_session(app, client, make_user):
    _, email = make_user(Role.ADMIN)
    client.login(email)
    with client.session_transaction() as session:
        session["_seen_at"] = int(time.time()) - 31 * 60
    assert client.get("/").status_code == 302


def test_absolute_timeout_ends_an_active_session(app, client, make_user):
    _, email = make_user(Role.ADMIN)
    client.login(email)
    with client.session_transaction() as session:
        session["_login_at"] = int(time.time()) - 8 * 3600 - 1
    assert client.get("/").status_code == 302


def test_session_cookie_flags(app, client, make_user):
    _, email = make_user(Role.ADMIN)
    response = client.login(email)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_secure_cookie_is_the_default_outside_development():
    from crm.config import Defaults

    assert Defaults.SESSION_COOKIE_SECURE is True


def test_redirect_after_login_stays_on_this_site(client, make_user):
    _, email = make_user(Role.ADMIN)
    response = client.submit("/login?next=//evil.example/steal", {"email": email, "password": PASSWORD})
    assert response.headers["Location"] == "/"
    client.submit("/logout")
    response = client.submit("/login?next=/admin/users", {"email": email, "password": PASSWORD})
    assert response.headers["Location"] == "/admin/users"


def test_login_throttled_per_account_and_ip(client, make_user):
    _, email = make_user(Role.ADMIN)
    for _ in range(5):
        assert client.submit("/login", {"email": email, "password": "wrong-password-xx"}).status_code == 200
    response = client.submit("/login", {"email": email, "password": PASSWORD})
    assert response.status_code == 429
    assert 0 < int(response.headers["Retry-After"]) <= 60
    assert "Too many attempts" in response.text


def test_throttling_from_one_address_does_not_lock_the_user_out_elsewhere(client, make_user):
    _, email = make_user(Role.ADMIN)
    for _ in range(6):
        client.submit("/login", {"email": email, "password": "wrong-password-xx"}, environ_base={"REMOTE_ADDR": "203.0.113.9"})
    response = client.submit("/login", {"email": email, "password": PASSWORD}, environ_base={"REMOTE_ADDR": "198.51.100.7"})
    assert response.status_code == 303


def test_successful_logins_do_not_count_towards_the_limit(client, make_user):
    _, email = make_user(Role.ADMIN)
    for _ in range(7):
        client.login(email)
        client.submit("/logout")
