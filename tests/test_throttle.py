"""Sign-in throttling as production runs it: counted across gunicorn workers, by the client's real
address behind a declared proxy, and never locking people out from where they usually sign in."""
from __future__ import annotations

import http.client
import os
import re
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

import pytest

from crm import create_app
from crm.auth.models import Role
from crm.extensions import db
from crm.ratelimit import DatabaseStorage
from tests.conftest import PASSWORD, TOTTORI, CrmClient, in_threads

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
WRONG = "wrong-password-xx"
OFFICE = {"REMOTE_ADDR": "192.0.2.10"}  # one address for a whole office (a NAT, or an undeclared proxy)


def sign_in(client, email: str, password: str = PASSWORD, **kwargs) -> int:
    return client.submit("/login", {"email": email, "password": password}, **kwargs).status_code


def failed_sign_in(client, email: str, **kwargs) -> int:
    return sign_in(client, email, WRONG, **kwargs)


# --- three gunicorn workers -------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """gunicorn serving wsgi:app from the repository (so gunicorn.conf.py applies) on a free port."""

    def __init__(self, database_url: str, log_folder: Path, workers: int, preload: bool, **environment: str):
        self.port = _free_port()
        self.access_log = log_folder / f"access-{self.port}.log"
        env = {key: value for key, value in os.environ.items() if not key.startswith("CRM_")}
        env.update(CRM_DATABASE_URL=database_url, CRM_SECRET_KEY="gunicorn-test-secret", CRM_SESSION_COOKIE_SECURE="0", **environment)
        self.process = subprocess.Popen(
            [GUNICORN, "--workers", str(workers), "--bind", f"127.0.0.1:{self.port}", "--access-logfile", str(self.access_log),
             "--access-logformat", "%(p)s %(m)s %(s)s", *(["--preload"] if preload else []), "wsgi:app"],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )

    def wait_until_serving(self, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.process.communicate()[1]
            try:
                self.request("GET", "/login")
                return
            except OSError:
                time.sleep(0.1)
        raise AssertionError("gunicorn did not answer")

    def request(self, method: str, path: str, body: dict | None = None, cookie: str = "") -> http.client.HTTPResponse:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
        headers = {"Cookie": cookie, "Accept-Language": "en"}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection.request(method, path, urlencode(body) if body is not None else None, headers)
        response = connection.getresponse()
        response.text = response.read().decode()
        connection.close()
        return response

    def sign_in_form(self) -> tuple[str, str]:
        """(session cookie, CSRF token) of a browser that opened the sign-in page."""
        response = self.request("GET", "/login")
        cookie = response.getheader("Set-Cookie").split(";", 1)[0]
        return cookie, re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', response.text).group(1)

    def pids_that_served(self, method: str) -> set[str]:
        lines = self.access_log.read_text().split("\n") if self.access_log.exists() else []
        return {line.split()[0] for line in lines if f" {method} " in line}

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.communicate(timeout=20)


@pytest.fixture
def gunicorn(database_url, tmp_path):
    servers = []

    def start(workers: int = 3, preload: bool = True, **environment: str) -> Server:
        # --preload: the app is built once and forked, not once per worker, which takes seconds on a
        # busy machine; the workers are separate processes all the same.
        servers.append(Server(database_url, tmp_path, workers, preload, **environment))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def redis_url():
    """A Redis of the tests' own (scripts/ensure-redis starts one if needed; make test passes it on)."""
    url = os.environ.get("CRM_TEST_REDIS_URL")
    if not url:
        found = subprocess.run([str(ROOT / "scripts" / "ensure-redis")], capture_output=True, text=True)
        if found.returncode != 0:
            pytest.fail(f"no Redis for the tests: {found.stderr}")
        url = found.stdout.strip()
    return url


@pytest.fixture(params=["database", "redis"])
def storage(request) -> dict:
    """The environment of each shared storage: the default (nothing set), and Redis."""
    if request.param == "database":
        return {}
    import redis

    url = request.getfixturevalue("redis_url")
    redis.Redis.from_url(url).flushdb()
    return {"CRM_RATELIMIT_STORAGE_URI": url}


def test_failed_sign_ins_count_across_three_gunicorn_workers(gunicorn, storage, make_user):
    _, email = make_user(Role.ADMIN)
    server = gunicorn(workers=3, **storage)
    server.wait_until_serving()
    cookie, token = server.sign_in_form()
    attempt = {"email": email, "password": WRONG, "csrf_token": token}

    def sign_in(_):
        return server.request("POST", "/login", attempt, cookie).status

    # Rounds of three attempts at once keep every worker busy, so each serves a share of them.
    with ThreadPoolExecutor(3) as pool:
        statuses = [status for _ in range(6) for status in pool.map(sign_in, range(3))]
    assert set(statuses) <= {200, 429}
    assert len(server.pids_that_served("POST")) >= 2
    # 5 a minute per account and address, whichever worker answers; at most two more (the two other
    # workers' attempts in flight when the fifth was counted). Counting per worker allowed up to 15.
    assert 5 <= statuses.count(200) <= 7, statuses
    assert server.request("POST", "/login", {**attempt, "password": PASSWORD}, cookie).status == 429


def test_gunicorn_refuses_several_workers_that_would_count_alone(gunicorn):
    server = gunicorn(workers=3, preload=False, CRM_RATELIMIT_STORAGE_URI="memory://")
    try:
        returncode = server.process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("gunicorn started three workers with memory:// storage")
    assert returncode != 0
    assert "Refusing to start 3 workers with RATELIMIT_STORAGE_URI=memory://" in server.process.communicate()[1]


# --- the client's address behind a proxy -------------------------------------------------------------

@pytest.fixture
def proxied_app(app):
    """The app as deployed behind one TLS reverse proxy (CRM_TRUSTED_PROXIES=1), on the test database."""
    keys = ("TESTING", "SECRET_KEY", "SQLALCHEMY_DATABASE_URI", "QUEUE_URL", "QUEUE_IMMEDIATE", "SESSION_COOKIE_SECURE")
    proxied = create_app({**{key: app.config[key] for key in keys}, "TRUSTED_PROXIES": 1})
    proxied.test_client_class = CrmClient
    yield proxied
    with proxied.app_context():
        db.session.remove()
        db.engine.dispose()


def via_proxy(client_address: str, sent_by_client: str | None = None) -> dict:
    """What the proxy (10.0.0.2) passes on: whatever the client sent, then the address it saw."""
    forwarded = f"{sent_by_client}, {client_address}" if sent_by_client else client_address
    return {"environ_base": {"REMOTE_ADDR": "10.0.0.2"}, "headers": {"X-Forwarded-For": forwarded}}


def test_behind_a_declared_proxy_clients_are_told_apart_by_their_own_address(proxied_app, client, make_user):
    _, email = make_user(Role.ADMIN)
    attacker, user = proxied_app.test_client(), proxied_app.test_client()
    for _ in range(5):
        assert failed_sign_in(attacker, email, **via_proxy("203.0.113.9")) == 200
    assert failed_sign_in(attacker, email, **via_proxy("203.0.113.9")) == 429
    # A header the attacker writes comes before the proxy's entry and is not believed.
    assert failed_sign_in(attacker, email, **via_proxy("203.0.113.9", sent_by_client="198.51.100.7")) == 429
    assert sign_in(user, email, **via_proxy("198.51.100.7")) == 303

    # Without CRM_TRUSTED_PROXIES the header is anyone's to write, and is ignored.
    _, other = make_user(Role.ADMIN)
    for n in range(5):
        assert failed_sign_in(client, other, headers={"X-Forwarded-For": f"198.51.100.{n}"}) == 200
    assert failed_sign_in(client, other, headers={"X-Forwarded-For": "198.51.100.99"}) == 429


def test_an_undeclared_proxy_is_reported_in_the_log(client, make_user, monkeypatch, caplog):
    from crm.auth import throttle

    monkeypatch.setattr(throttle, "_warned", [])
    _, email = make_user(Role.ADMIN)
    failed_sign_in(client, email, headers={"X-Forwarded-For": "198.51.100.7"})
    failed_sign_in(client, email, headers={"X-Forwarded-For": "198.51.100.7"})
    warnings = [record.getMessage() for record in caplog.records if "CRM_TRUSTED_PROXIES" in record.getMessage()]
    assert len(warnings) == 1  # once per process, not once per attempt


# --- floods from one address -------------------------------------------------------------------------

@pytest.fixture
def address_limit(app, monkeypatch):
    # The default, set here so the tests do not depend on it.
    monkeypatch.setitem(app.config, "LOGIN_LIMIT_PER_IP", "20 per 10 minutes")


def test_a_flood_of_made_up_accounts_does_not_lock_out_colleagues_at_the_same_address(app, client, make_user, address_limit):
    _, email = make_user(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    assert sign_in(client, email, environ_base=OFFICE) == 303  # a colleague's usual browser, on an earlier day
    client.submit("/logout", environ_base=OFFICE)

    attacker = app.test_client()
    statuses = [failed_sign_in(attacker, f"nobody-{n}@example.jp", environ_base=OFFICE) for n in range(25)]
    assert statuses == [200] * 20 + [429] * 5  # the attacker is slowed to 20 guesses per 10 minutes
    assert failed_sign_in(attacker, email, environ_base=OFFICE) == 429

    assert sign_in(client, email, environ_base=OFFICE) == 303
    # Only a browser that never signed in to the account waits while the address is over its limit.
    newcomer = app.test_client()
    assert sign_in(newcomer, email, environ_base=OFFICE) == 429


def test_with_throttling_switched_off_signing_in_still_works(app, client, make_user, monkeypatch):
    """RATELIMIT_ENABLED = False (Flask-Limiter's switch, as a benchmark sets it) opens no storage:
    sign-ins must neither fail nor be counted."""
    from crm.extensions import limiter

    _, email = make_user(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    monkeypatch.setattr(limiter, "enabled", False)
    assert [failed_sign_in(client, email) for _ in range(25)] == [200] * 25
    assert sign_in(client, email) == 303


def test_behind_a_declared_proxy_a_flood_locks_out_only_its_own_address(proxied_app, make_user, address_limit):
    _, email = make_user(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    attacker, newcomer = proxied_app.test_client(), proxied_app.test_client()
    for n in range(25):
        failed_sign_in(attacker, f"nobody-{n}@example.jp", **via_proxy("203.0.113.9"))
    assert failed_sign_in(attacker, "nobody-99@example.jp", **via_proxy("203.0.113.9")) == 429
    assert sign_in(newcomer, email, **via_proxy("198.51.100.7")) == 303


def test_an_ipv6_client_counts_as_its_whole_64_block(client, make_user, address_limit):
    _, email = make_user(Role.ADMIN)
    # Changing the interface part of the address (which a client chooses freely) changes nothing.
    for n in range(20):
        assert failed_sign_in(client, f"nobody-{n}@example.jp", environ_base={"REMOTE_ADDR": f"2001:db8:1:2::{n:x}"}) == 200
    assert failed_sign_in(client, email, environ_base={"REMOTE_ADDR": "2001:db8:1:2:ffff::1"}) == 429
    assert failed_sign_in(client, email, environ_base={"REMOTE_ADDR": "2001:db8:1:3::1"}) == 200


def test_guessing_at_an_account_does_not_lock_its_owner_out_of_their_usual_browser(app, client, make_user):
    _, email = make_user(Role.ADMIN)
    assert sign_in(client, email, environ_base=OFFICE) == 303
    client.submit("/logout", environ_base=OFFICE)
    attacker = app.test_client()
    for _ in range(5):
        failed_sign_in(attacker, email, environ_base=OFFICE)
    assert failed_sign_in(attacker, email, environ_base=OFFICE) == 429
    # A mistyped password in the owner's browser counts for that browser only.
    assert failed_sign_in(client, email, environ_base=OFFICE) == 200
    assert sign_in(client, email, environ_base=OFFICE) == 303


def test_a_forged_device_cookie_is_not_believed(app, client, make_user):
    from itsdangerous import URLSafeTimedSerializer

    _, email = make_user(Role.ADMIN)
    for _ in range(5):
        failed_sign_in(client, email, environ_base=OFFICE)
    assert sign_in(client, email, environ_base={"REMOTE_ADDR": "198.51.100.7"}) == 303  # a real device cookie, then forged:
    device = URLSafeTimedSerializer(app.secret_key, salt="crm-sign-in-device").loads(client.get_cookie("crm_device", path="/login").value)
    forged = URLSafeTimedSerializer("another-key", salt="crm-sign-in-device").dumps(device)
    attacker = app.test_client()
    attacker.set_cookie("crm_device", forged, path="/login")
    assert sign_in(attacker, email, environ_base=OFFICE) == 429


# --- the database storage ----------------------------------------------------------------------------

def test_database_counters_lose_no_increment_when_workers_count_at_once(app):
    storage = DatabaseStorage()

    def count():
        for _ in range(20):
            storage.incr("login/test", 60)
            db.session.commit()

    assert in_threads(app, count) == []
    with app.app_context():
        assert storage.get("login/test") == 80


def test_database_counters_start_a_new_window_when_one_ends(app_context):
    storage = DatabaseStorage()
    assert storage.incr("login/a", 0) == 1  # a window that ends at once
    assert storage.get("login/a") == 0
    assert storage.incr("login/a", 60) == 1  # a new window, counting from one
    assert storage.incr("login/a", 60, amount=2) == 3
    assert time.time() + 55 < storage.get_expiry("login/a") <= time.time() + 60
    storage.clear("login/a")
    assert storage.get("login/a") == 0
