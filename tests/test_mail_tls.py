"""SMTP over TLS as CRM_SMTP_URL names it: STARTTLS when the server offers it (then a login), and
implicit TLS for smtps://; the server's certificate is checked (here against CRM_SMTP_CA_FILE)."""
from __future__ import annotations

import ssl
import subprocess

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from crm import mail
from crm.extensions import db
from tests.conftest import SmtpSink, free_port


@pytest.fixture
def certificate(tmp_path):
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"],
                   check=True, capture_output=True)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return cert, context


def login(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login == b"tottori" and auth_data.password == b"p@ss:word"
    return AuthResult(success=ok, handled=False)  # the server answers 235 or 535 itself


def send_one(app, monkeypatch, url, cert):
    monkeypatch.setitem(app.config, "SMTP_URL", url)
    monkeypatch.setitem(app.config, "SMTP_CA_FILE", str(cert))
    mail.queue([mail.Letter("emily@example.org", "鳥取だより", "こんにちは")])
    db.session.commit()
    return mail.deliver_due()


def test_starttls_then_login(app, app_context, monkeypatch, certificate):
    cert, context = certificate
    sink, port = SmtpSink(), free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port, server_hostname="localhost", tls_context=context,
                            require_starttls=True, authenticator=login, auth_require_tls=True)
    controller.start()
    try:
        counts = send_one(app, monkeypatch, f"smtp://tottori:p%40ss%3Aword@localhost:{port}", cert)
    finally:
        controller.stop()
    assert counts["sent"] == 1 and sink.messages[0]["Subject"] == "鳥取だより"


def test_a_wrong_password_leaves_the_message_queued(app, app_context, monkeypatch, certificate):
    cert, context = certificate
    sink, port = SmtpSink(), free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port, server_hostname="localhost", tls_context=context,
                            require_starttls=True, authenticator=login, auth_require_tls=True)
    controller.start()
    try:
        counts = send_one(app, monkeypatch, f"smtp://tottori:wrong@localhost:{port}", cert)
    finally:
        controller.stop()
    assert counts["waiting"] == 1 and not sink.messages
    assert db.session.scalar(db.select(mail.OutboxMessage.status)) == "queued"


def test_smtps_is_tls_from_the_first_byte(app, app_context, monkeypatch, certificate):
    cert, context = certificate
    sink, port = SmtpSink(), free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port, server_hostname="localhost", ssl_context=context)
    controller.start()
    try:
        counts = send_one(app, monkeypatch, f"smtps://localhost:{port}", cert)
    finally:
        controller.stop()
    assert counts["sent"] == 1 and len(sink.messages) == 1
