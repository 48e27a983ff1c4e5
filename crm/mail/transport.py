"""Talking SMTP: the connection CRM_SMTP_URL names, and what each kind of refusal means.

`smtp://user:pass@host:587` sends over STARTTLS whenever the server offers it, `smtps://host:465`
opens TLS first; user and password (percent-encoded in the URL) log in when given."""
from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

TIMEOUT_SECONDS = 60


class ServerDown(Exception):
    """The server could not be reached or dropped the connection: nothing is the message's fault."""


class Refusal(Exception):
    """The server refused one message: `permanent` for a 5xx answer, else to be tried again later."""

    def __init__(self, code: int, text: str):
        super().__init__(code, text)
        self.code, self.text = code, text

    @property
    def permanent(self) -> bool:
        return self.code >= 500

    def __str__(self) -> str:
        return f"{self.code} {self.text}"


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    implicit_tls: bool
    username: str | None
    password: str | None

    @classmethod
    def from_url(cls, url: str) -> SmtpSettings:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("CRM_SMTP_URL must be smtp://[user:pass@]host[:port] or smtps://…")
        implicit = parts.scheme == "smtps"
        return cls(parts.hostname, parts.port or (465 if implicit else 25), implicit,
                   unquote(parts.username) if parts.username else None,
                   unquote(parts.password) if parts.password is not None else None)


class Connection:
    """One SMTP session, opened on the first message and reused for the next ones."""

    def __init__(self, settings: SmtpSettings, tls_context: ssl.SSLContext | None = None):
        self.settings = settings
        self.tls_context = tls_context or ssl.create_default_context()
        self.smtp: smtplib.SMTP | None = None

    def _open(self) -> smtplib.SMTP:
        s = self.settings
        try:
            if s.implicit_tls:
                smtp = smtplib.SMTP_SSL(s.host, s.port, timeout=TIMEOUT_SECONDS, context=self.tls_context)
            else:
                smtp = smtplib.SMTP(s.host, s.port, timeout=TIMEOUT_SECONDS)
            smtp.ehlo()
            if not s.implicit_tls and smtp.has_extn("starttls"):
                smtp.starttls(context=self.tls_context)
                smtp.ehlo()
            if s.username:
                _login(smtp, s.username, s.password or "")
        except smtplib.SMTPAuthenticationError as error:
            smtp.close()
            raise ServerDown(f"login refused: {error.smtp_code} {error.smtp_error!r}") from error
        except (OSError, smtplib.SMTPException) as error:
            raise ServerDown(f"{type(error).__name__}: {error}") from error
        return smtp

    def send(self, envelope_from: str, to: str, data: bytes) -> None:
        """Hand one message over → Refusal (4xx/5xx for this message) or ServerDown."""
        if self.smtp is None:
            self.smtp = self._open()
        try:
            refused = self.smtp.sendmail(envelope_from, [to], data)
        except smtplib.SMTPRecipientsRefused as error:
            code, text = next(iter(error.recipients.values()))
            self._reset()
            raise Refusal(code, _text(text)) from None
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as error:
            if error.smtp_code == 421:  # the server is closing the session: it is down, not the message
                self.close()
                raise ServerDown(f"421 {_text(error.smtp_error)}") from None
            self._reset()
            raise Refusal(error.smtp_code, _text(error.smtp_error)) from None
        except (OSError, smtplib.SMTPException) as error:
            self.close()
            raise ServerDown(f"{type(error).__name__}: {error}") from None
        if refused:  # only one recipient: sendmail raises when all are refused, so this is defensive
            code, text = next(iter(refused.values()))
            raise Refusal(code, _text(text))

    def _reset(self) -> None:
        try:
            self.smtp.rset()
        except (OSError, smtplib.SMTPException):
            self.close()

    def close(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (OSError, smtplib.SMTPException):
                self.smtp.close()
            self.smtp = None


def _login(smtp: smtplib.SMTP, username: str, password: str) -> None:
    """AUTH PLAIN where offered (inside TLS, or on a trusted relay): smtplib's login() tries one
    mechanism after another on a refusal, and some servers leave a refused AUTH LOGIN hanging."""
    if "plain" in smtp.esmtp_features.get("auth", "").lower().split():
        smtp.user, smtp.password = username, password
        smtp.auth("PLAIN", smtp.auth_plain)
    else:
        smtp.login(username, password)


def _text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
