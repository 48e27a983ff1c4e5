"""Fixtures: the app on SQLite (default) or PostgreSQL (CRM_TEST_DATABASE_URL), a client that signs in
and sends CSRF tokens like a browser, and factories for accounts."""
from __future__ import annotations

import os
import re
import secrets
import threading

import pytest
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import text

from crm import create_app
from crm.auth import operations as accounts
from crm.auth.models import Role
from crm.extensions import db, limiter
from crm.reference.prefectures import sync_prefectures

TEST_DATABASE_URL = os.environ.get("CRM_TEST_DATABASE_URL")
PASSWORD = "correct-horse-battery-staple-9"
TOTTORI, HYOGO = 31, 28


def reset_schema(engine) -> None:
    """An empty database: PostgreSQL drops its schema; SQLite files are fresh per run anyway."""
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    else:
        db.drop_all()


def build_schema() -> None:
    db.create_all()
    with db.engine.begin() as connection:
        sync_prefectures(connection)


class CrmClient(FlaskClient):
    """A test client that carries a valid CSRF token, as the app's own pages do. It asks for English
    unless a test sends its own Accept-Language."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"

    def csrf_token(self) -> str:
        with self.session_transaction() as session:
            if "csrf_token" not in session:
                session["csrf_token"] = secrets.token_hex(20)
            raw = session["csrf_token"]
        return URLSafeTimedSerializer(self.application.secret_key, salt="wtf-csrf-token").dumps(raw)

    def submit(self, url: str, data: dict | None = None, htmx: bool = False, **kwargs):
        """POST a form with the CSRF token (in the header for htmx, in the body otherwise)."""
        data = dict(data or {})
        headers = dict(kwargs.pop("headers", {}))
        if htmx:
            headers.update({"HX-Request": "true", "X-CSRFToken": self.csrf_token()})
        else:
            data.setdefault("csrf_token", self.csrf_token())
        return self.post(url, data=data, headers=headers, **kwargs)

    def htmx_get(self, url: str, **kwargs):
        return self.get(url, headers={"HX-Request": "true", **kwargs.pop("headers", {})}, **kwargs)

    def login(self, email: str, password: str = PASSWORD):
        response = self.submit("/login", {"email": email, "password": password})
        assert response.status_code == 303, f"login as {email} failed: {response.status_code}"
        return response


def in_threads(app, work, threads: int = 4) -> list[Exception]:
    """Run `work()` in several threads at once, each in its own app context → the errors raised."""
    errors = []

    def worker():
        with app.app_context():
            try:
                work()
            except Exception as error:  # noqa: BLE001  (returned to the test, which asserts on them)
                errors.append(error)
            finally:
                db.session.remove()

    started = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in started:
        thread.start()
    for thread in started:
        thread.join()
    return errors


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    return TEST_DATABASE_URL or f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite'}"


@pytest.fixture(scope="session")
def app(database_url, tmp_path_factory):
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret-key",
            "SQLALCHEMY_DATABASE_URI": database_url,
            # Background tasks run at once, in the process that starts them (the test's request),
            # on a queue of this run only: job numbers restart with every test database. A worker
            # in another process (tests/test_queue.py) is given the same QUEUE_URL.
            "QUEUE_URL": f"sqlite:///{tmp_path_factory.mktemp('queue') / 'queue.db'}",
            "QUEUE_IMMEDIATE": True,
            # Small batches: a few thousand rows make several, so tests can fail or kill a commit
            # between written batches.
            "IMPORT_BATCH_ROWS": 1000,
            "SESSION_COOKIE_SECURE": False,
        }
    )
    app.test_client_class = CrmClient
    with app.app_context():
        reset_schema(db.engine)
        build_schema()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(autouse=True)
def _clean_database(app):
    """Every test starts from the 47 prefectures and nothing else."""
    yield
    with app.app_context():
        db.session.remove()
        with db.engine.begin() as connection:
            for table in reversed(db.metadata.sorted_tables):
                if table.name != "prefectures":
                    connection.execute(table.delete())
        limiter.reset()  # the rate-limit counters (a table above with the default storage)
        db.session.commit()
        db.session.remove()


@pytest.fixture
def app_context(app):
    with app.app_context():
        yield


@pytest.fixture
def client(app) -> CrmClient:
    return app.test_client()


@pytest.fixture
def make_user(app):
    """Factory: `make_user(Role.PREFECTURE_STAFF, prefecture=31)` → the new user's email."""
    counter = iter(range(1, 10_000))

    def make(role: Role, prefecture: int | None = None, association: int | None = None, email: str | None = None, password: str = PASSWORD):
        email = email or f"{role.value}-{next(counter)}@example.jp"
        with app.app_context():
            user = accounts.create_user(email, email.split("@")[0], role, password, prefecture_id=prefecture, association_id=association)
            db.session.commit()
            return user.id, email

    return make


@pytest.fixture
def make_association(app):
    def make(prefecture: int = TOTTORI, name: str = "鳥取県国際交流財団", **fields):
        from crm.associations.models import Association

        with app.app_context():
            association = Association(prefecture_id=prefecture, name_ja=name, name_en=f"Association {name}", **fields)
            db.session.add(association)
            db.session.commit()
            return association.id

    return make


@pytest.fixture
def make_member(app):
    """Factory: `make_member(association_id, name=...)` → the member's id."""

    def make(association: int, name: str = "山本 由美", **fields):
        from crm.associations.models import Member, MemberKind, MemberType

        with app.app_context():
            values = {"kind": MemberKind.INDIVIDUAL, "member_type": MemberType.REGULAR, "consent_to_contact": True, **fields}
            member = Member(association_id=association, name=name, **values)
            db.session.add(member)
            db.session.commit()
            return member.id

    return make


@pytest.fixture
def make_fee(app):
    def make(member: int, fiscal_year: int = 2025, amount_due: int = 3000, **fields):
        from crm.associations.models import MembershipFee

        with app.app_context():
            fee = MembershipFee(member_id=member, fiscal_year=fiscal_year, amount_due=amount_due, **fields)
            db.session.add(fee)
            db.session.commit()
            return fee.id

    return make


@pytest.fixture
def make_program(app):
    """Factory: a program of the association, 13:30–16:00 Japan time on `day` (default 1 June 2025)."""

    def make(association: int, title: str = "国際交流フェスタ", day=None, funding=(), **fields):
        from datetime import date, timedelta

        from crm import clock
        from crm.associations.models import FundingLine, FundingSource, Program, ProgramKind, ProgramStatus

        starts = clock.start_of(day or date(2025, 6, 1)).replace(hour=13, minute=30)
        values = {"kind": ProgramKind.CULTURAL_EVENT, "status": ProgramStatus.PLANNED, "starts_at": starts,
                  "ends_at": starts + timedelta(hours=2, minutes=30), "budget": 100000, **fields}
        with app.app_context():
            program = Program(association_id=association, title_ja=title, **values)
            program.funding_lines = [FundingLine(source=FundingSource(source), amount=amount, grantor=grantor) for source, grantor, amount in funding]
            db.session.add(program)
            db.session.commit()
            return program.id

    return make


@pytest.fixture
def signed_in(client, make_user):
    """Factory: a client signed in with a new account of `role` (Tottori staff by default)."""

    def sign_in(role: Role = Role.PREFECTURE_STAFF, prefecture: int | None = None, association: int | None = None):
        if role == Role.PREFECTURE_STAFF and prefecture is None:
            prefecture = TOTTORI
        _, email = make_user(role, prefecture=prefecture, association=association)
        client.login(email)
        return client

    return sign_in


def fragment(html: str) -> bool:
    """True for an htmx fragment, False for a whole page."""
    return not re.search(r"<html", html, re.I)


@pytest.fixture
def make_alumnus(app):
    """Factory: `make_alumnus(TOTTORI, HYOGO, family="Smith")` → the id of an alumnus placed in those
    prefectures (one placement each, from `start_year`)."""

    def make(*prefectures: int, family: str = "Smith", given: str = "John", kana: str | None = None,
             email: str | None = None, start_year: int = 2015, position: str = "alt", **fields):
        from crm.alumni import operations
        from crm.alumni.models import Position

        prefectures = prefectures or (TOTTORI,)
        with app.app_context():
            values = {"family_name": family, "given_name": given, "name_katakana": kana, "email": email, **fields}
            placement = {"prefecture_id": prefectures[0], "position": Position(position), "start_year": start_year, "end_year": start_year + 2}
            alumnus = operations.create_alumnus(values, placement)
            for prefecture in prefectures[1:]:
                operations.add_placement(alumnus, {"prefecture_id": prefecture, "position": Position(position),
                                                   "start_year": start_year + 3, "end_year": start_year + 4})
            db.session.commit()
            return alumnus.id

    return make


@pytest.fixture
def make_contact(app):
    """Factory: a contact entry written by `prefecture` (None: an administrator) about an alumnus."""

    def make(alumnus_id: int, prefecture: int | None, summary: str = "Met at the reception", **fields):
        from datetime import date

        from crm.alumni.models import Channel, ContactEntry, Direction

        with app.app_context():
            entry = ContactEntry(alumnus_id=alumnus_id, prefecture_id=prefecture, contacted_on=fields.pop("contacted_on", date(2025, 5, 1)),
                                 channel=Channel.EMAIL, direction=Direction.OUTGOING, summary=summary, **fields)
            db.session.add(entry)
            db.session.commit()
            return entry.id

    return make


@pytest.fixture
def make_activity(app):
    """Factory: an activity of `alumnus_id` owned by `prefecture` → its id (verified unless told)."""

    def make(alumnus_id: int, prefecture: int = TOTTORI, on=None, status: str = "verified", kind: str = "tourism", **values):
        from datetime import date

        from crm.alumni.models import Alumnus
        from crm.ambassadors import operations
        from crm.ambassadors.models import ActivityStatus

        with app.app_context():
            fields = {"occurred_on": on or date(2025, 6, 1), "kind": kind, "description": "Promoted Tottori pears", **values}
            activity = operations.log_activity(db.session.get(Alumnus, alumnus_id), prefecture, fields)
            activity.status = ActivityStatus(status)
            db.session.commit()
            return activity.id

    return make


@pytest.fixture
def make_ambassador(app):
    def make(alumnus_id: int, prefecture: int = TOTTORI, start=None, end=None, title: str = "鳥取県ふるさと大使", region: str = "North America"):
        from datetime import date

        from crm.alumni.models import Alumnus
        from crm.ambassadors import operations

        with app.app_context():
            ambassador = operations.appoint(db.session.get(Alumnus, alumnus_id), prefecture, {
                "title": title, "region": region, "term_start_on": start or date(2024, 4, 1), "term_end_on": end})
            db.session.commit()
            return ambassador.id

    return make


@pytest.fixture
def make_investment(app):
    def make(prefecture: int = TOTTORI, year: int = 2025, **values):
        from crm.ambassadors import operations

        with app.app_context():
            investment = operations.record_investment(prefecture, {"fiscal_year": year, "alt_count": 10, "cir_count": 2,
                                                                   "hosting_cost_yen": 30_000_000, **values})
            db.session.commit()
            return investment.id

    return make


class SmtpSink:
    """What a real SMTP server (aiosmtpd) received: `.messages` parsed with email.policy.default,
    `.envelopes` (mail_from, rcpt_tos, content). `refuse[address] = "450 …"` answers RCPT so;
    `delay` seconds pass between taking a message and saying so (a slow server)."""

    def __init__(self):
        self.messages, self.envelopes, self.refuse = [], [], {}
        self.port, self.delay = None, 0.0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        from email import message_from_bytes, policy

        self.envelopes.append(envelope)
        self.messages.append(message_from_bytes(envelope.original_content or envelope.content, policy=policy.default))
        if self.delay:
            import asyncio

            await asyncio.sleep(self.delay)
        return "250 Message accepted for delivery"


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_sink(app, monkeypatch):
    """A real SMTP server on a free loopback port; the app (and any subprocess) sends to it."""
    from aiosmtpd.controller import Controller

    sink = SmtpSink()
    sink.port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    url = f"smtp://127.0.0.1:{sink.port}"
    monkeypatch.setitem(app.config, "SMTP_URL", url)
    monkeypatch.setenv("CRM_SMTP_URL", url)
    try:
        yield sink
    finally:
        controller.stop()
