"""DKIM: with a key configured, each message is signed, and the signature that arrives verifies
against the public key as a receiver would look it up in DNS."""
from __future__ import annotations

import base64
import subprocess

import dkim

from crm import mail
from crm.extensions import db


def test_messages_are_signed_when_a_key_is_configured(app, app_context, smtp_sink, monkeypatch, tmp_path):
    key = tmp_path / "dkim.pem"
    subprocess.run(["openssl", "genrsa", "-traditional", "-out", str(key), "2048"], check=True, capture_output=True)
    public = subprocess.run(["openssl", "rsa", "-in", str(key), "-pubout", "-outform", "DER"], check=True,
                            capture_output=True).stdout
    monkeypatch.setitem(app.config, "DKIM_KEY_FILE", str(key))
    monkeypatch.setitem(app.config, "DKIM_SELECTOR", "crm2026")
    monkeypatch.setitem(app.config, "DKIM_DOMAIN", "furusato.invalid")
    mail.queue([mail.Letter("emily@example.org", "鳥取だより 12月号", "こんにちは", "<p>こんにちは</p>",
                            to_name="エミリー", list_id="news.pref-31.furusato",
                            unsubscribe_url="https://crm.example.jp/u/abc")])
    db.session.commit()
    mail.deliver_due()

    [envelope] = smtp_sink.envelopes
    data = envelope.original_content or envelope.content
    assert data.startswith(b"DKIM-Signature:") and b"d=furusato.invalid" in data and b"s=crm2026" in data

    def dnsfunc(name, timeout=5):
        assert name == b"crm2026._domainkey.furusato.invalid."
        return b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)

    assert dkim.verify(data, dnsfunc=dnsfunc)
    tampered = data.replace(b"\r\nSubject: ", b"\r\nSubject: Re: ", 1)
    assert not dkim.verify(tampered, dnsfunc=dnsfunc)


def test_without_a_key_nothing_is_signed(app_context, smtp_sink):
    mail.queue([mail.Letter("emily@example.org", "Hello", "Hi")])
    db.session.commit()
    mail.deliver_due()
    assert b"DKIM-Signature" not in smtp_sink.envelopes[0].content
