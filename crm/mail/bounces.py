"""Reading bounces: delivery status notifications (RFC 3464) from a Maildir or an mbox file.

A DSN is matched to its message by the return path it was sent to (VERP, bounce+<token>@domain:
the DSN's To, Delivered-To or X-Original-To), else by the Message-ID of the returned headers. A
permanent failure (Action: failed, Status 5.x.x) marks the address hard-bounced: `queue()` leaves it
out from then on. A delay or a 4.x.x failure counts as a soft bounce.

A mail to unsubscribe+<token>@domain (the List-Unsubscribe mailto, RFC 2369) is not a DSN: its
token goes to the `unsubscribe_requested` signal; the room that signed it unsubscribes (counted as
"unsubscribed"; a forged or used token counts as "unsubscribe refused")."""
from __future__ import annotations

import mailbox
import re
from collections import Counter
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage

from sqlalchemy import select, update

from crm.db import utcnow
from crm.extensions import db
from crm.mail.models import MailAddress, OutboxMessage
from crm.mail.signals import bounced as bounced_signal, unsubscribe_requested

_VERP = re.compile(r"bounce\+([0-9a-f]{8,40})@", re.IGNORECASE)
_UNSUBSCRIBE = re.compile(r"unsubscribe\+([0-9a-z-]{8,60})@", re.IGNORECASE)


@dataclass
class Bounce:
    address: str
    hard: bool
    status: str
    diagnostic: str
    bounce_token: str | None = None
    message_id: str | None = None


def parse(message: EmailMessage) -> list[Bounce]:
    """The bounces an RFC 3464 report holds (one per failed or delayed recipient); [] for anything else."""
    if message.get_content_type() != "multipart/report" or message.get_param("report-type") != "delivery-status":
        return []
    token = None
    for header in ("X-Original-To", "Delivered-To", "To", "Envelope-To"):
        for value in message.get_all(header) or []:
            if found := _VERP.search(str(value)):
                token = found.group(1).lower()
                break
        if token:
            break
    message_id, groups = None, []
    for part in message.walk():
        kind = part.get_content_type()
        if kind == "message/delivery-status":
            groups = list(part.get_payload())
        elif kind in ("text/rfc822-headers", "message/rfc822"):
            returned = part.get_payload(0) if kind == "message/rfc822" else \
                message_from_bytes(part.get_payload(decode=True) or b"", policy=policy.default)
            message_id = message_id or (str(returned.get("Message-ID", "")).strip() or None)
            if not token:
                for value in returned.get_all("Return-Path") or []:
                    if found := _VERP.search(str(value)):
                        token = found.group(1).lower()
    bounces = []
    for group in groups[1:]:  # the first group is about the whole message, the others per recipient
        action = str(group.get("Action", "")).strip().lower()
        status = str(group.get("Status", "")).strip()
        recipient = str(group.get("Final-Recipient") or group.get("Original-Recipient") or "")
        address = recipient.split(";", 1)[-1].strip().strip("<>").lower()
        if not address or action not in ("failed", "delayed"):
            continue
        hard = action == "failed" and status.startswith("5")
        diagnostic = " ".join(str(group.get("Diagnostic-Code", "")).split())
        bounces.append(Bounce(address, hard, status, diagnostic[:1000], token, message_id))
    return bounces


def record(bounce: Bounce) -> None:
    """Mark the address (and the message, when it is known) → the `bounced` signal."""
    now = utcnow()
    address = db.session.scalar(select(MailAddress).where(MailAddress.address == bounce.address))
    if address is None:
        address = MailAddress(address=bounce.address, soft_bounces=0)
        db.session.add(address)
    address.last_bounce = f"{bounce.status} {bounce.diagnostic}".strip()
    address.last_bounce_at = now
    if bounce.hard:
        address.hard_bounced_at = address.hard_bounced_at or now
        table = OutboxMessage.__table__
        which = (table.c.bounce_token == bounce.bounce_token) if bounce.bounce_token else \
            (table.c.message_id == bounce.message_id) if bounce.message_id else None
        if which is not None:
            db.session.execute(update(table).where(which, table.c.status.in_(("sent", "sending", "queued")))
                               .values(status="bounced", last_error=address.last_bounce))
    else:
        address.soft_bounces = (address.soft_bounces or 0) + 1
    db.session.flush()
    bounced_signal.send(bounce.address, hard=bounce.hard)


def read_maildir(path: str) -> Counter:
    """Read the Maildir's unread messages; each read one is moved to cur/ and flagged seen (S), so
    reading the folder again counts nothing twice."""
    box = mailbox.Maildir(path, factory=None, create=False)
    counts: Counter = Counter()
    for key in list(box.iterkeys()):
        entry = box.get_message(key)
        if "S" in entry.get_flags():
            continue
        _count(counts, message_from_bytes(box.get_bytes(key), policy=policy.default))
        db.session.commit()
        entry.set_subdir("cur")
        entry.add_flag("S")
        box[key] = entry
    return counts


def read_mbox(path: str) -> Counter:
    """Read every message of the mbox file (nothing is marked in it: give each file once)."""
    counts: Counter = Counter()
    box = mailbox.mbox(path, factory=None, create=False)
    try:
        for key in box.iterkeys():
            _count(counts, message_from_bytes(box.get_bytes(key), policy=policy.default))
    finally:
        box.close()
    db.session.commit()
    return counts


def unsubscribe_token(message: EmailMessage) -> str | None:
    """The token of a mail sent to the List-Unsubscribe mailto (its envelope or To address); None otherwise."""
    if message.get_content_type() == "multipart/report":
        return None
    for header in ("X-Original-To", "Delivered-To", "To", "Envelope-To"):
        for value in message.get_all(header) or []:
            if found := _UNSUBSCRIBE.search(str(value)):
                return found.group(1).lower()
    return None


def _count(counts: Counter, message: EmailMessage) -> None:
    found = parse(message)
    if not found:
        token = unsubscribe_token(message)
        if token is None:
            counts["not a DSN"] += 1
        elif any(answer for _receiver, answer in unsubscribe_requested.send(token)):
            counts["unsubscribed"] += 1
        else:
            counts["unsubscribe refused"] += 1
    for bounce in found:
        record(bounce)
        counts["hard" if bounce.hard else "soft"] += 1
