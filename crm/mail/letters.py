"""A letter (one message to one recipient) and the MIME message built from it.

Everything that ends up in a header is checked when the letter is made: a CR, LF or NUL in an
address, a name, a subject, a list id or a link raises ValueError, so no caller's input can add a
header. The message itself is built with the standard library's email policy, which encodes
non-ASCII names and subjects as RFC 2047 words and refuses line breaks in header values again."""
from __future__ import annotations

import functools
import re
from dataclasses import KW_ONLY, dataclass
from datetime import datetime
from email import policy
from email.headerregistry import Address, HeaderRegistry
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email



class _Headers(HeaderRegistry):
    """The standard header registry, making each header's class once: the standard one makes a new
    class for every header of every message (a third of the time a worker spends on a message)."""

    @functools.cache
    def __getitem__(self, name):
        return super().__getitem__(name)


# 7bit: bodies go out base64 or quoted-printable, which every relay passes unchanged (and a DKIM
# signature survives: no relay downgrades 8bit on the way).
POLICY = policy.SMTP.clone(cte_type="7bit", header_factory=_Headers())
_BREAKS = re.compile(r"[\r\n\x00]")
_LIST_ID = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_URL_UNSAFE = re.compile(r"[\s<>,\"]")
# The common address, checked in a microsecond; anything else goes through email_validator (some
# 100 µs: a fifth of queueing a 20,000-recipient send). Both accept the same plain addresses.
_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
                            r"@((?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+([A-Za-z]{2,63}))")


def _single_line(name: str, value: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{name} must be text")
    if _BREAKS.search(value):
        raise ValueError(f"{name} must be one line (no CR, LF or NUL)")
    return value


def normalise_address(address: str) -> str:
    """The address as it is sent (ASCII domain) → ValueError if it is not one address."""
    _single_line("address", address)
    plain = _PLAIN_ADDRESS.fullmatch(address)
    if plain and len(address) <= 254 and address.index("@") <= 64 \
            and plain.group(2).lower() not in SPECIAL_USE_DOMAIN_NAMES:
        at = address.index("@")
        return address[:at] + "@" + address[at + 1:].lower()
    try:
        valid = validate_email(address.strip(), check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as error:
        raise ValueError(f"not an email address: {address!r} ({error})") from None
    return valid.ascii_email or valid.normalized


@dataclass
class Letter:
    """One message to one recipient; see MAIL_API in the README for what each field does."""

    to: str
    subject: str
    text: str
    html: str | None = None
    _: KW_ONLY
    to_name: str = ""
    list_id: str | None = None
    unsubscribe_url: str | None = None
    unsubscribe_mailto: str | None = None
    language: str = "ja"
    batch: str | None = None
    recipient_key: str | None = None
    not_before: datetime | None = None

    def __post_init__(self):
        self.to = normalise_address(self.to)
        _single_line("subject", self.subject)
        _single_line("to_name", self.to_name)
        _single_line("language", self.language)
        if self.list_id is not None and not _LIST_ID.match(self.list_id):
            raise ValueError(f"list_id must be a dot-atom such as news.pref-31.furusato, not {self.list_id!r}")
        if self.unsubscribe_url is not None:
            _single_line("unsubscribe_url", self.unsubscribe_url)
            if not self.unsubscribe_url.startswith(("https://", "http://")) or _URL_UNSAFE.search(self.unsubscribe_url):
                raise ValueError("unsubscribe_url must be an http(s) URL without spaces, commas or angle brackets")
        if self.unsubscribe_mailto is not None:
            _single_line("unsubscribe_mailto", self.unsubscribe_mailto)
            if not self.unsubscribe_mailto.startswith("mailto:") or _URL_UNSAFE.search(self.unsubscribe_mailto):
                raise ValueError("unsubscribe_mailto must be a mailto: URL without spaces, commas or angle brackets")
        if self.not_before is not None and self.not_before.tzinfo is None:
            raise ValueError("not_before must be timezone-aware (UTC)")


def sender_address(mail_from: str) -> Address:
    """CRM_MAIL_FROM ("Name <addr>" or "addr") as an Address."""
    name, address = parseaddr(_single_line("CRM_MAIL_FROM", mail_from))
    if not address or "@" not in address:
        raise ValueError(f"CRM_MAIL_FROM is not an address: {mail_from!r}")
    username, domain = address.rsplit("@", 1)
    return Address(display_name=name, username=username, domain=domain)


def build(row, mail_from: str, sent_at: datetime) -> EmailMessage:
    """The MIME message of an outbox row (text, or text and HTML as multipart/alternative)."""
    message = EmailMessage(policy=POLICY)
    message["From"] = sender_address(mail_from)
    username, domain = row.to_address.rsplit("@", 1)
    message["To"] = Address(display_name=row.to_name, username=username, domain=domain)
    message["Subject"] = row.subject
    message["Date"] = format_datetime(sent_at)
    message["Message-ID"] = row.message_id
    message["MIME-Version"] = "1.0"
    if row.list_id:
        message["List-Id"] = f"<{row.list_id}>"
    unsubscribe = [f"<{url}>" for url in (row.unsubscribe_url, row.unsubscribe_mailto) if url]
    if unsubscribe:
        message["List-Unsubscribe"] = ", ".join(unsubscribe)
    if row.unsubscribe_url:  # RFC 8058: a POST to the URL unsubscribes at once
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(row.text_body or "", charset="utf-8")
    if row.html_body:
        message.add_alternative(row.html_body, subtype="html", charset="utf-8")
    if row.language:  # after the content: setting content clears the Content-* headers
        message["Content-Language"] = row.language
    return message
