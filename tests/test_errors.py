"""A failed request always rolls back and shows the app's own error page, in the user's language —
even when the failure left the database session unusable or the error page itself cannot render."""
import pytest
from flask import request

from tests.conftest import PASSWORD, CrmClient
from crm import create_app
from crm.auth.models import Role, User
from crm.extensions import db, limiter


@pytest.fixture
def failing_app(app, database_url, tmp_path):
    """The app as production runs it (exceptions become the 500 page), with a hook that, when asked,
    fails a flush before the user is loaded — as a unique-key clash in a write does."""
    failing = create_app({**{key: app.config[key] for key in ("SECRET_KEY", "SQLALCHEMY_DATABASE_URI", "RATELIMIT_STORAGE_URI")},
                          "TESTING": True, "PROPAGATE_EXCEPTIONS": False, "SESSION_COOKIE_SECURE": False,
                          "QUEUE_URL": f"sqlite:///{tmp_path / 'queue.db'}", "QUEUE_IMMEDIATE": True})
    failing.test_client_class = CrmClient

    def fail_a_flush():
        if request.args.get("fail") == "flush":
            existing = db.session.scalar(db.select(User.email).limit(1))
            db.session.add(User(email=existing, display_name="clash", password_hash="x", role=Role.ADMIN))
            db.session.flush()

    failing.before_request_funcs.setdefault(None, []).insert(0, fail_a_flush)
    yield failing
    with failing.app_context():
        limiter.reset()  # the counters live in the database: reset them inside the app
        db.session.remove()
        db.engine.dispose()


def _japanese_client(failing_app, make_user):
    _, email = make_user(Role.ADMIN)
    client = failing_app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "ja"
    client.login(email, PASSWORD)
    client.submit("/language", {"locale": "ja", "next": "/"})
    return client


def test_a_failed_flush_still_shows_the_apps_error_page_in_japanese(failing_app, make_user):
    client = _japanese_client(failing_app, make_user)
    response = client.get("/alumni?fail=flush")
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert 'lang="ja"' in page and "エラーが発生しました" in page
    assert "<nav" in page, "the app's own page, with its navigation"
    # The next request of the same worker is served normally.
    assert client.get("/alumni").status_code == 200


def test_an_error_page_that_cannot_render_falls_back_to_a_bare_page_in_japanese(failing_app, make_user, monkeypatch):
    client = _japanese_client(failing_app, make_user)

    def broken(*_args, **_kwargs):
        raise RuntimeError("template store unavailable")

    monkeypatch.setattr("crm.errors.render_template", broken)
    response = client.get("/alumni?fail=flush")
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert 'lang="ja"' in page and "エラーが発生しました" in page
