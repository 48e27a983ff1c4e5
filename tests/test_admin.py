"""Account administration with htmx inline editing, stale edits and the role-binding rules."""
import pytest
from sqlalchemy import select

from crm.auth.models import Role, User
from crm.extensions import db
from tests.conftest import HYOGO, TOTTORI, fragment


@pytest.fixture
def admin(signed_in):
    return signed_in(Role.ADMIN)


def _user(app, user_id):
    with app.app_context():
        user = db.session.get(User, user_id)
        db.session.expunge(user)
        return user


def test_user_list_page_and_fragment(admin, make_user):
    make_user(Role.PREFECTURE_STAFF, prefecture=TOTTORI, email="tanaka@tottori.example.jp")
    page = admin.get("/admin/users?q=tanaka")
    assert page.status_code == 200 and not fragment(page.get_data(as_text=True))
    part = admin.htmx_get("/admin/users?q=tanaka")
    html = part.get_data(as_text=True)
    assert fragment(html) and "tanaka@tottori.example.jp" in html
    assert "Vary" in part.headers and "HX-Request" in part.headers["Vary"]


def test_user_list_filters_sorts_and_pages(app, admin, make_user):
    for number in range(55):
        make_user(Role.PREFECTURE_STAFF, prefecture=HYOGO, email=f"staff{number:02d}@hyogo.example.jp")
    first = admin.htmx_get("/admin/users?role=prefecture_staff&sort=-email").get_data(as_text=True)
    assert "staff54@hyogo" in first and "1–50 of 55" in first
    second = admin.htmx_get("/admin/users?role=prefecture_staff&sort=-email&page=2").get_data(as_text=True)
    assert "staff00@hyogo" in second and "staff54@hyogo" not in second
    empty = admin.htmx_get("/admin/users?q=nobody-like-this").get_data(as_text=True)
    assert "No account matches" in empty or "一致するアカウントはありません" in empty


def test_create_user_binds_prefecture_staff(app, admin):
    response = admin.submit(
        "/admin/users/new",
        {"email": "New.Person@Tottori.example.jp", "display_name": "新人", "role": "prefecture_staff",
         "prefecture": str(TOTTORI), "association": "", "new_password": "a long enough passphrase"},
    )
    assert response.status_code == 303
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "new.person@tottori.example.jp"))
        assert user.prefecture_id == TOTTORI and user.role == Role.PREFECTURE_STAFF


@pytest.mark.parametrize(
    "data, message",
    [
        ({"role": "prefecture_staff", "prefecture": ""}, "must be bound to one prefecture"),
        ({"role": "association_staff", "association": ""}, "must be bound to one association"),
        ({"new_password": "too short"}, "at least 12"),
        ({"email": "not-an-email"}, "Invalid email"),
    ],
)
def test_create_user_refuses_bad_input(app, admin, data, message):
    form = {"email": "someone@example.jp", "display_name": "Someone", "role": "admin", "prefecture": "", "association": "", "new_password": "a long enough passphrase"}
    form.update(data)
    response = admin.submit("/admin/users/new", form, headers={"Accept-Language": "en"})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(User).where(User.email == "someone@example.jp")) is None


def test_inline_edit_returns_the_row_and_saves(app, admin, make_user):
    user_id, _ = make_user(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    form = admin.htmx_get(f"/admin/users/{user_id}/edit").get_data(as_text=True)
    assert fragment(form) and 'class="editing"' in form
    version = _user(app, user_id).version
    prefix = f"user-{user_id}-"
    response = admin.submit(
        f"/admin/users/{user_id}",
        {prefix + "display_name": "異動 太郎", prefix + "role": "prefecture_staff", prefix + "prefecture": str(HYOGO), prefix + "association": "", prefix + "version": version},
        htmx=True,
    )
    assert response.status_code == 200
    row = response.get_data(as_text=True)
    assert fragment(row) and "異動 太郎" in row and "兵庫県" in row or "Hyogo" in row
    assert _user(app, user_id).prefecture_id == HYOGO


def test_edit_page_without_htmx_is_a_full_page(admin, make_user):
    user_id, _ = make_user(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    assert not fragment(admin.get(f"/admin/users/{user_id}/edit").get_data(as_text=True))
    assert not fragment(admin.get(f"/admin/users/{user_id}").get_data(as_text=True))
    assert fragment(admin.htmx_get(f"/admin/users/{user_id}").get_data(as_text=True))


def test_stale_edit_gets_409_and_the_first_save_survives(app, admin, make_user):
    user_id, _ = make_user(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    stale_version = _user(app, user_id).version
    prefix = f"user-{user_id}-"
    base = {prefix + "role": "prefecture_staff", prefix + "prefecture": str(TOTTORI), prefix + "association": ""}
    first = admin.submit(f"/admin/users/{user_id}", {**base, prefix + "display_name": "First save", prefix + "version": stale_version}, htmx=True)
    assert first.status_code == 200
    second = admin.submit(f"/admin/users/{user_id}", {**base, prefix + "display_name": "Second save", prefix + "version": stale_version}, htmx=True)
    assert second.status_code == 409
    assert "First save" in second.get_data(as_text=True)
    assert _user(app, user_id).display_name == "First save"


def test_the_users_own_sign_in_language_and_sign_out_do_not_make_an_open_edit_stale(app, admin, make_user):
    user_id, email = make_user(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    open_version = _user(app, user_id).version
    person = app.test_client()
    person.login(email)
    assert person.submit("/language", {"locale": "en", "next": "/"}).status_code == 303
    assert person.submit("/logout", {}).status_code == 303
    assert _user(app, user_id).last_login_at is not None and _user(app, user_id).locale == "en"
    prefix = f"user-{user_id}-"
    saved = admin.submit(f"/admin/users/{user_id}", {prefix + "role": "prefecture_staff", prefix + "prefecture": str(TOTTORI),
                                                     prefix + "association": "", prefix + "display_name": "Renamed",
                                                     prefix + "version": open_version}, htmx=True)
    assert saved.status_code == 200 and _user(app, user_id).display_name == "Renamed"


def test_role_binding_is_checked_on_edit(app, admin, make_user):
    user_id, _ = make_user(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    prefix = f"user-{user_id}-"
    response = admin.submit(
        f"/admin/users/{user_id}",
        {prefix + "display_name": "x", prefix + "role": "association_staff", prefix + "prefecture": "", prefix + "association": "", prefix + "version": _user(app, user_id).version},
        htmx=True,
    )
    assert response.status_code == 422
    assert _user(app, user_id).role == Role.PREFECTURE_STAFF


def test_association_staff_binding(app, admin, make_user, make_association):
    association_id = make_association()
    user_id, _ = make_user(Role.ASSOCIATION_STAFF, association=association_id)
    user = _user(app, user_id)
    assert user.association_id == association_id and user.prefecture_id is None


def test_admin_cannot_deactivate_self_or_the_last_admin(app, signed_in, make_user):
    admin = signed_in(Role.ADMIN)
    with app.app_context():
        own_id = db.session.scalar(select(User.id).where(User.role == Role.ADMIN))
    response = admin.submit(f"/admin/users/{own_id}/deactivate", htmx=True)
    assert response.status_code == 422
    assert _user(app, own_id).active


def test_deactivate_and_reactivate_inline(app, admin, make_user):
    user_id, _ = make_user(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    row = admin.submit(f"/admin/users/{user_id}/deactivate", htmx=True)
    assert row.status_code == 200 and fragment(row.get_data(as_text=True))
    assert not _user(app, user_id).active
    admin.submit(f"/admin/users/{user_id}/activate", htmx=True)
    assert _user(app, user_id).active


def test_reset_password_ends_the_users_sessions(app, admin, make_user):
    user_id, email = make_user(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    staff = app.test_client()
    staff.login(email)
    response = admin.submit(f"/admin/users/{user_id}/password", {"new_password": "reset by the admin today", "confirm": "reset by the admin today"})
    assert response.status_code == 303
    assert staff.get("/").status_code == 302
    staff.login(email, "reset by the admin today")


def test_staff_forms_cannot_set_role_prefecture_id_or_version(app, client, make_user):
    """Mass assignment: extra fields posted to a user's own forms are ignored."""
    user_id, email = make_user(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    client.login(email)
    client.submit("/language", {"locale": "en", "role": "admin", "prefecture_id": str(HYOGO), "id": "1", "version": "99", "active": "0"})
    client.submit("/account/password", {"current_password": "x", "new_password": "y", "confirm": "y", "role": "admin", "prefecture_id": str(HYOGO)})
    user = _user(app, user_id)
    assert (user.role, user.prefecture_id, user.id, user.active) == (Role.PREFECTURE_STAFF, TOTTORI, user_id, True)
    assert user.locale == "en"


def test_admin_edit_form_ignores_id_and_version_assignment(app, admin, make_user):
    user_id, _ = make_user(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    other_id, _ = make_user(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    version = _user(app, user_id).version
    prefix = f"user-{user_id}-"
    admin.submit(
        f"/admin/users/{user_id}",
        {prefix + "display_name": "ok", prefix + "role": "prefecture_staff", prefix + "prefecture": str(TOTTORI), prefix + "association": "",
         prefix + "version": version, prefix + "id": str(other_id), "id": str(other_id), "email": "changed@example.jp", "session_version": "1"},
        htmx=True,
    )
    user = _user(app, user_id)
    assert user.display_name == "ok" and user.email != "changed@example.jp"
    assert user.version == version + 1


def test_audit_trail_browse_and_filter(app, admin, make_user):
    user_id, _ = make_user(Role.PREFECTURE_STAFF, prefecture=TOTTORI, email="audited@example.jp")
    page = admin.get("/admin/audit?action=create&record_type=users")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "audited@example.jp" in html
    part = admin.htmx_get(f"/admin/audit?record_type=users&record_id={user_id}")
    assert fragment(part.get_data(as_text=True))
    none = admin.htmx_get("/admin/audit?actor=nobody-at-all").get_data(as_text=True)
    assert "audited@example.jp" not in none


def test_the_audit_trail_reads_as_sentences_in_the_readers_language(app, admin, make_alumnus):
    alumnus = make_alumnus(TOTTORI, family="Sato", email="sato@example.org")
    with app.app_context():
        db.session.execute(db.update(User).where(User.role == Role.ADMIN).values(locale="ja"))
        db.session.commit()
    html = admin.get("/admin/audit?record_type=alumni").get_data(as_text=True)
    assert f'<a href="/alumni/{alumnus}">JET経験者 {alumnus}</a>を作成しました。' in html
    assert "<dt>メールアドレス</dt>" in html and "<dt>email</dt>" not in html
    assert "日時（日本時間）" in html
    assert '<option selected value="alumni">JET経験者</option>' in html or '<option value="alumni" selected>JET経験者</option>' in html
