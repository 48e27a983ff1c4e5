"""Outreach rules: consent per list, the recipients of a send, composing (Markdown → sanitised HTML and
plain text, per recipient language), queueing through the mail room, signed links (unsubscribe,
RSVP, sign-up confirmation) and the counts the ministry reads."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime

import markdown
import nh3
from flask import current_app
from flask_babel import force_locale, gettext as _, lazy_gettext as _l
from sqlalchemy import and_, func, select

from crm import access, audit, clock, mail
from crm.alumni.models import Alumnus, Placement
from crm.associations import operations as associations
from crm.associations.models import Member, Program, ProgramAlumnus
from crm.alumni.operations import filtered_alumni
from crm.db import utcnow
from crm.disclosure import suppress_count
from crm.extensions import db
from crm.outreach.models import (
    LANGUAGES, ConsentAction, ConsentEvent, ConsentHow, MailingList, Rsvp, RsvpAnswer, Send, SendStatus, Subscription,
    SubscriptionStatus,
)

# A recipient's delivery as the delivery log and the disclosure package name it.
STATUS_LABELS = {"queued": _l("Queued"), "sending": _l("Sending"), "sent": _l("Sent"), "failed": _l("Failed"),
                 "bounced": _l("Bounced"), "unsubscribed": _l("Unsubscribed")}

# The alumni list's filters a send may be narrowed by (crm.alumni.operations.filtered_alumni reads them).
SEND_FILTER_KEYS = ("country", "position", "year_from", "year_to", "sector", "tag", "ambassador")


# --- Consent --------------------------------------------------------------------------------------

def _event(subscription: Subscription, action: ConsentAction, how: ConsentHow, by=None, wording: str = "",
           send_id: int | None = None) -> ConsentEvent:
    event = ConsentEvent(subscription_id=subscription.id, action=action, how=how, by_id=getattr(by, "id", None),
                         wording=wording or "", send_id=send_id, at=utcnow())
    db.session.add(event)
    return event


def _existing(mailing_list: MailingList, *, alumnus=None, member=None, email=None) -> Subscription | None:
    statement = select(Subscription).where(Subscription.list_id == mailing_list.id)
    if alumnus is not None:
        statement = statement.where(Subscription.alumnus_id == alumnus.id)
    elif member is not None:
        statement = statement.where(Subscription.member_id == member.id)
    else:
        statement = statement.where(Subscription.email == email)
    return db.session.scalar(statement)


def subscribe(mailing_list: MailingList, *, alumnus: Alumnus | None = None, member: Member | None = None,
              email: str | None = None, name: str | None = None, language: str | None = None,
              how: ConsentHow = ConsentHow.FORM, by=None, wording: str | None = None,
              confirmed: bool = True) -> Subscription | None:
    """Subscribe a person (confirmed) or record a sign-up awaiting confirmation. A person whose use has
    ceased is never subscribed: None."""
    if alumnus is not None and alumnus.cease_use:
        return None
    subscription = _existing(mailing_list, alumnus=alumnus, member=member, email=email)
    if subscription is None:
        subscription = Subscription(list_id=mailing_list.id, alumnus_id=getattr(alumnus, "id", None),
                                    member_id=getattr(member, "id", None), email=None if alumnus or member else email,
                                    name=name, language=language, status=SubscriptionStatus.PENDING)
        db.session.add(subscription)
        db.session.flush()
    elif subscription.status == SubscriptionStatus.SUBSCRIBED:
        return subscription
    wording = wording if wording is not None else mailing_list.purpose(language or "ja")
    if confirmed:
        subscription.status = SubscriptionStatus.SUBSCRIBED
        subscription.confirmed_at = utcnow()
        _event(subscription, ConsentAction.SUBSCRIBED, how, by, wording)
    else:
        _event(subscription, ConsentAction.REQUESTED, how, by, wording)
    return subscription


def unsubscribe(subscription: Subscription, how: ConsentHow = ConsentHow.STAFF, by=None, send_id: int | None = None) -> None:
    subscription.status = SubscriptionStatus.UNSUBSCRIBED
    _event(subscription, ConsentAction.UNSUBSCRIBED, how, by, send_id=send_id)


def subscribe_alumni(mailing_list: MailingList, alumni: list[Alumnus], how: ConsentHow, by, wording: str) -> int:
    """Staff add people (the alumni list's selection): how many are now subscribed."""
    added = 0
    for alumnus in alumni:
        if subscribe(mailing_list, alumnus=alumnus, how=how, by=by, wording=wording) is not None:
            added += 1
    return added


def subscribe_members(mailing_list: MailingList, members: list[Member], how: ConsentHow, by, wording: str) -> int:
    """Staff add members of the list's association (the member list's selection): how many are now subscribed."""
    return sum(subscribe(mailing_list, member=member, how=how, by=by, wording=wording) is not None for member in members
               if member.association_id == mailing_list.association_id)


def history(subscription: Subscription) -> list[ConsentEvent]:
    return list(db.session.scalars(select(ConsentEvent).where(ConsentEvent.subscription_id == subscription.id)
                                   .order_by(ConsentEvent.at, ConsentEvent.id)))


def default_list(prefecture_id: int) -> MailingList | None:
    return db.session.scalar(select(MailingList).where(MailingList.prefecture_id == prefecture_id, MailingList.is_default))


def subscriber_counts(list_ids) -> dict[int, int]:
    rows = db.session.execute(select(Subscription.list_id, func.count()).where(
        Subscription.list_id.in_(list(list_ids)), Subscription.status == SubscriptionStatus.SUBSCRIBED)
        .group_by(Subscription.list_id))
    return dict(rows.all())


# --- Recipients -----------------------------------------------------------------------------------

def send_filters(values) -> dict:
    """The alumni list's filter values a send keeps (others are ignored)."""
    return {key: str(values.get(key) or "").strip()[:40] for key in SEND_FILTER_KEYS if values.get(key)}


def recipients_query(mailing_list: MailingList, filters: dict | None = None):
    """The confirmed subscribers a send reaches: never a person whose use has ceased or who was archived;
    alumni narrowed by the alumni list's filters when any are given (members and sign-ups then drop out)."""
    statement = (select(Subscription).outerjoin(Alumnus, Alumnus.id == Subscription.alumnus_id)
                 .where(Subscription.list_id == mailing_list.id, Subscription.status == SubscriptionStatus.SUBSCRIBED)
                 .where((Alumnus.id.is_(None)) | (and_(Alumnus.cease_use.is_(False), Alumnus.archived_at.is_(None)))))
    if filters:
        narrowed = filtered_alumni(filters).with_only_columns(Alumnus.id).order_by(None)
        statement = statement.where(Subscription.alumnus_id.in_(narrowed))
    return statement


def recipient_count(mailing_list: MailingList, filters: dict | None = None) -> int:
    return db.session.scalar(select(func.count()).select_from(recipients_query(mailing_list, filters).subquery()))


@dataclass
class Recipient:
    """What composing needs of one subscriber (read in bulk, without loading the ORM objects)."""

    subscription_id: int
    address: str
    name: str
    language: str


def recipients(mailing_list: MailingList, filters: dict | None = None) -> list[Recipient]:
    M = Member
    sub = recipients_query(mailing_list, filters).with_only_columns(
        Subscription.id, Subscription.alumnus_id, Subscription.member_id, Subscription.email, Subscription.name,
        Subscription.language, Alumnus.email, Alumnus.given_name, Alumnus.family_name, Alumnus.preferred_language,
        M.email, M.name, M.preferred_language).outerjoin(M, M.id == Subscription.member_id).order_by(Subscription.id)
    result = []
    for (sid, alumnus_id, member_id, email, name, language, a_email, given, family, a_lang, m_email, m_name,
         m_lang) in db.session.execute(sub):
        if alumnus_id is not None:
            address, display, lang = a_email, f"{given} {family}", a_lang
        elif member_id is not None:
            address, display, lang = m_email, m_name, m_lang
        else:
            address, display, lang = email, name or "", language
        if address:
            # A name is one line in a header: whatever CR/LF a record holds cannot add a header.
            result.append(Recipient(sid, address, " ".join((display or "").split()), lang if lang in LANGUAGES else "ja"))
    return result


# --- Composing ------------------------------------------------------------------------------------

ALLOWED_TAGS = {"p", "br", "strong", "em", "b", "i", "a", "ul", "ol", "li", "h1", "h2", "h3", "h4", "blockquote",
                "code", "pre", "hr", "table", "thead", "tbody", "tr", "th", "td"}


def render_markdown(text: str) -> str:
    """Markdown → HTML, sanitised by nh3 (Ammonia): no script, style, event handler or javascript: URL."""
    html = markdown.markdown(text or "", extensions=["tables"], output_format="html")
    return nh3.clean(html, tags=ALLOWED_TAGS, attributes={"a": {"href", "title"}}, url_schemes={"http", "https", "mailto"},
                     link_rel="noopener noreferrer")


def _key() -> bytes:
    key = current_app.config["SECRET_KEY"]
    return key.encode() if isinstance(key, str) else key


def _sign(purpose: str, *parts) -> str:
    payload = ":".join([purpose, *map(str, parts)])
    digest = hmac.new(_key(), payload.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=") + "." + base64.urlsafe_b64encode(digest).decode().rstrip("=")


def sign(purpose: str, *parts) -> str:
    """A token naming `parts` for `purpose`, HMAC-SHA256 signed with the app's secret (256 bits):
    unguessable, and nothing to store per recipient."""
    return _sign(purpose, *parts)


def verify(purpose: str, token: str) -> list[str] | None:
    """The parts a token names, or None when it was not signed by this app for this purpose."""
    try:
        encoded, _signature = token.split(".", 1)
        payload = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    parts = payload.split(":")
    if parts[0] != purpose or not hmac.compare_digest(_sign(*parts), token):
        return None
    return parts[1:]


def mail_token(subscription_id: int, send_id: int) -> str:
    """The List-Unsubscribe mailto's token, <subscription>-<send>-<80-bit HMAC, hex>: short enough for
    an address's local part (64 characters) and lower case, as mail servers may fold the case."""
    digest = hmac.new(_key(), f"m:{subscription_id}:{send_id}".encode(), hashlib.sha256).hexdigest()
    return f"{subscription_id}-{send_id}-{digest[:20]}"


def unsubscribe_by_mail(token: str) -> bool:
    """A mail to the List-Unsubscribe mailto (read by `flask --app crm outbox bounces`): a genuine,
    unused token unsubscribes and is recorded as a consent event; anything else changes nothing."""
    parts = token.split("-")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit() \
            or not hmac.compare_digest(mail_token(int(parts[0]), int(parts[1])), token.lower()):
        return False
    subscription, send_id = db.session.get(Subscription, int(parts[0])), int(parts[1])
    if subscription is None or already_used(subscription, send_id):
        return False
    if subscription.status != SubscriptionStatus.UNSUBSCRIBED:
        unsubscribe(subscription, ConsentHow.UNSUBSCRIBE_MAIL, send_id=send_id if db.session.get(Send, send_id) else None)
    return True


@mail.unsubscribe_requested.connect
def _unsubscribe_requested(token: str) -> bool:
    return unsubscribe_by_mail(token)


def external(endpoint: str, **values) -> str:
    """An absolute link for a letter: CRM_BASE_URL (mail.base_url) when set, else this request's host."""
    # The URL map's own builder: no request needed (the command line, the task queue) and cheap
    # enough for 20,000 letters.
    return mail.base_url() + current_app.url_map.bind("", script_name="/").build(endpoint, values)



@dataclass
class Message:
    """One composed newsletter for one recipient: what mail.Letter is built from."""

    to: str
    to_name: str
    subject: str
    text: str
    html: str
    language: str
    unsubscribe_url: str
    recipient_key: str
    unsubscribe_mailto: str | None = None


NAME, URL, TOKEN = "\x00name\x00", "\x00url\x00", "TOKEN"


class Composer:
    """Composes a send's letters: what is the same for every reader of one language (the Markdown
    rendered and sanitised once, the translated lines) is prepared once per language; each letter
    then only fills in the name and its signed links."""

    def __init__(self, send: Send):
        self.send = send
        self.send_id = send.id  # read once: an ORM attribute costs more than the letter's HMAC
        self._languages: dict[str, dict] = {}
        self._unsubscribe = external("outreach.unsubscribe", token=TOKEN)
        self._rsvp = external("outreach.rsvp", token=TOKEN) if send.program_id else None
        self._mailto = "mailto:" + mail.unsubscribe_address(TOKEN) + "?subject=unsubscribe"

    def _language(self, language: str) -> dict:
        parts = self._languages.get(language)
        if parts is not None:
            return parts
        send = self.send
        other = "en" if language == "ja" else "ja"
        body = (send.body_en if language == "en" else send.body_ja) or send.body_ja or send.body_en
        has_other = bool(send.body_ja.strip() and send.body_en.strip())
        with force_locale(language):
            other_url = external("outreach.read_send", token=sign("v", send.id), lang=other)
            other_line = (_("日本語版: %(url)s", url=other_url) if other == "ja" else _("English version: %(url)s", url=other_url)) \
                if has_other else ""
            parts = {"greeting": _("Dear %(name)s,", name=NAME), "hello": _("Hello,"), "other_line": other_line,
                     "footer": _("You receive this because you subscribed to “%(list)s”. Unsubscribe: %(url)s",
                                 list=send.mailing_list.name, url=URL),
                     "answers": [(answer.value, str(answer.label)) for answer in RsvpAnswer] if self._rsvp else [],
                     "body": body.strip(), "html": render_markdown(body), "subject": send.subject(language)}
        self._languages[language] = parts
        return parts

    def __call__(self, recipient: Recipient) -> Message:
        parts = self._language(recipient.language)
        unsubscribe = self._unsubscribe.replace(TOKEN, sign("u", recipient.subscription_id, self.send_id))
        mailto = self._mailto.replace(TOKEN, mail_token(recipient.subscription_id, self.send_id))
        greeting = parts["greeting"].replace(NAME, recipient.name) if recipient.name else parts["hello"]
        footer = parts["footer"].replace(URL, unsubscribe)
        rsvp_lines = [(label, self._rsvp.replace(TOKEN, sign("r", recipient.subscription_id, self.send_id, value)))
                      for value, label in parts["answers"]]
        text_parts = [p for p in (parts["other_line"], greeting, parts["body"]) if p]
        text_parts += [f"{label}: {url}" for label, url in rsvp_lines]
        text_parts.append("-- \n" + footer)
        html_parts = [f"<p>{nh3.clean_text(parts['other_line'])}</p>"] if parts["other_line"] else []
        html_parts += [f"<p>{nh3.clean_text(greeting)}</p>", parts["html"]]
        html_parts += [f'<p><a href="{nh3.clean_text(url)}">{nh3.clean_text(label)}</a></p>' for label, url in rsvp_lines]
        html_parts.append(f"<hr><p><small>{nh3.clean_text(footer)}</small></p>")
        return Message(to=recipient.address, to_name=recipient.name, subject=parts["subject"], text="\n\n".join(text_parts),
                       html="\n".join(html_parts), language=recipient.language, unsubscribe_url=unsubscribe,
                       recipient_key=f"subscription:{recipient.subscription_id}", unsubscribe_mailto=mailto)


def compose(send: Send, recipient: Recipient) -> Message:
    """The recipient's letter: their language (the other's link at the top), greeting by name, the
    unsubscribe link (and RSVP links when the send invites to a program). No tracking of any kind."""
    return Composer(send)(recipient)


def list_id_header(mailing_list: MailingList) -> str:
    owner = f"pref-{mailing_list.prefecture_id}" if mailing_list.prefecture_id else f"assoc-{mailing_list.association_id}"
    return f"list-{mailing_list.id}.{owner}.furusato"


def _letter(send: Send, message: Message, list_id: str | None = None, batch: str | None = None):
    return mail.Letter(message.to, message.subject, message.text, message.html, to_name=message.to_name,
                       list_id=list_id or list_id_header(send.mailing_list), unsubscribe_url=message.unsubscribe_url,
                       unsubscribe_mailto=message.unsubscribe_mailto,
                       language=message.language, batch=batch or send.batch, recipient_key=message.recipient_key,
                       not_before=send.scheduled_at)


# --- Sending --------------------------------------------------------------------------------------

def validate_subject(subject: str) -> str:
    """A subject is one line: CR/LF (header injection) refused."""
    if "\r" in subject or "\n" in subject:
        raise ValueError("subject")
    return subject.strip()


def draft_send(mailing_list: MailingList, user, values: dict, filters: dict | None = None,
               scheduled_at: datetime | None = None, program_id: int | None = None) -> Send:
    """A send not (yet) in the database: what preview and test send compose from."""
    send = Send(id=0, list_id=mailing_list.id, subject_ja=validate_subject(values.get("subject_ja") or ""),
                body_ja=values.get("body_ja") or "", subject_en=validate_subject(values.get("subject_en") or ""),
                body_en=values.get("body_en") or "", filters=json.dumps(filters or {}, sort_keys=True),
                program_id=program_id, status=SendStatus.SCHEDULED if scheduled_at else SendStatus.QUEUED,
                scheduled_at=scheduled_at, created_by_id=getattr(user, "id", None), created_at=utcnow())
    send.mailing_list = mailing_list
    return send


def create_send(mailing_list: MailingList, user, values: dict, filters: dict | None = None,
                scheduled_at: datetime | None = None, program_id: int | None = None) -> Send:
    send = draft_send(mailing_list, user, values, filters, scheduled_at, program_id)
    send.id = None
    db.session.add(send)
    db.session.flush()
    return send


def queue_send(send: Send) -> int:
    """Compose each recipient's letter and hand them to the mail room's outbox (in this transaction;
    the caller commits). Scheduled sends carry not_before. Recorded in the audit trail."""
    filters = json.loads(send.filters or "{}")
    count = mail.queue(_letters(send, recipients(send.mailing_list, filters)))
    send.recipient_count = count
    audit.record_event("outreach_send", "outreach_sends", send.id, list=send.mailing_list.name, list_id=send.list_id,
                       filters=filters, recipients=count,
                       scheduled_at=send.scheduled_at.isoformat() if send.scheduled_at else None)
    return count


def _letters(send: Send, people):
    composer, list_id, batch = Composer(send), list_id_header(send.mailing_list), send.batch
    for recipient in people:
        try:
            yield _letter(send, composer(recipient), list_id, batch)
        except ValueError:
            # An address the mail room refuses (not one address): skipped, the others go.
            continue


def test_send(send: Send, user) -> int:
    """The letter as the sender would get it, to the sender's own address only."""
    recipient = Recipient(0, user.email, user.display_name or user.email, "en" if user.locale == "en" else "ja")
    letter = _letter(send, compose(send, recipient))
    letter.batch, letter.not_before = f"outreach.test:{send.list_id}", None
    letter.subject = "[TEST] " + letter.subject
    return mail.queue([letter])


def progress(send: Send) -> dict[str, int]:
    return mail.batch_progress(send.batch)


def delivery_log(send: Send, limit: int = 500) -> list:
    """The send's letters in the outbox, per recipient (queued, sent, failed, bounced)."""
    return list(db.session.scalars(select(mail.OutboxMessage).where(mail.OutboxMessage.batch == send.batch)
                                   .order_by(mail.OutboxMessage.id).limit(limit)))


def is_out(send: Send) -> bool:
    """Sent or sending (not a letter still waiting for its scheduled time): what an archive shows."""
    return send.scheduled_at is None or send.scheduled_at <= utcnow()


def sends_of(mailing_list: MailingList) -> list[Send]:
    return list(db.session.scalars(select(Send).where(Send.list_id == mailing_list.id).order_by(Send.created_at.desc(), Send.id.desc())))


# --- Unsubscribe, confirmation, RSVP ---------------------------------------------------------------

def subscription_for_unsubscribe(token: str) -> tuple[Subscription, int] | None:
    """The subscription and send a genuine unsubscribe token names; None for a forged token."""
    parts = verify("u", token)
    if not parts or not all(part.isdigit() for part in parts):
        return None
    subscription = db.session.get(Subscription, int(parts[0]))
    return (subscription, int(parts[1])) if subscription is not None else None


def unsubscribed_by(send: Send) -> int:
    """How many recipients unsubscribed through this send's links."""
    return db.session.scalar(select(func.count()).select_from(ConsentEvent).where(
        ConsentEvent.send_id == send.id, ConsentEvent.action == ConsentAction.UNSUBSCRIBED))


def already_used(subscription: Subscription, send_id: int) -> bool:
    """Was this send's link already used to unsubscribe (a replay changes nothing)?"""
    return db.session.scalar(select(func.count()).select_from(ConsentEvent).where(
        ConsentEvent.subscription_id == subscription.id, ConsentEvent.send_id == send_id,
        ConsentEvent.action == ConsentAction.UNSUBSCRIBED)) > 0


def resubscribe(subscription: Subscription, send_id: int) -> None:
    subscription.status = SubscriptionStatus.SUBSCRIBED
    subscription.confirmed_at = utcnow()
    _event(subscription, ConsentAction.SUBSCRIBED, ConsentHow.UNSUBSCRIBE_LINK,
           wording=subscription.mailing_list.purpose(subscription.preferred_language), send_id=None)


def answer_rsvp(token: str) -> Rsvp | None:
    parts = verify("r", token)
    if not parts or len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit() or parts[2] not in {a.value for a in RsvpAnswer}:
        return None
    subscription, send = db.session.get(Subscription, int(parts[0])), db.session.get(Send, int(parts[1]))
    if subscription is None or send is None or send.program_id is None or subscription.list_id != send.list_id:
        return None
    rsvp = db.session.scalar(select(Rsvp).where(Rsvp.send_id == send.id, Rsvp.subscription_id == subscription.id))
    if rsvp is None:
        rsvp = Rsvp(send_id=send.id, subscription_id=subscription.id, program_id=send.program_id)
        db.session.add(rsvp)
    rsvp.answer = RsvpAnswer(parts[2])
    rsvp.answered_at = utcnow()
    return rsvp


def rsvp_counts(program_id: int) -> dict[str, int]:
    rows = db.session.execute(select(Rsvp.answer, func.count()).where(Rsvp.program_id == program_id).group_by(Rsvp.answer))
    counts = {answer.value: 0 for answer in RsvpAnswer}
    counts.update({getattr(answer, "value", answer): n for answer, n in rows})
    return counts


def attendees_to_link(program: Program) -> list[Alumnus]:
    """Alumni who answered "will attend" to an invitation to the program, within the user's alumni
    scope, whose use has not ceased and who are not linked to the program yet."""
    attending = (select(Subscription.alumnus_id).join(Rsvp, Rsvp.subscription_id == Subscription.id)
                 .where(Rsvp.program_id == program.id, Rsvp.answer == RsvpAnswer.ATTEND, Subscription.alumnus_id.is_not(None)))
    linked = select(ProgramAlumnus.alumnus_id).where(ProgramAlumnus.program_id == program.id)
    return list(db.session.scalars(access.scoped(Alumnus).where(Alumnus.id.in_(attending), Alumnus.id.not_in(linked),
                                                                Alumnus.cease_use.is_(False), Alumnus.archived_at.is_(None))
                                   .order_by(Alumnus.family_name, Alumnus.given_name, Alumnus.id)))


def link_attendees(program: Program, user) -> int:
    """Link the confirmed attendees as the program's participants (JET alumni involved); audited."""
    alumni = attendees_to_link(program)
    for alumnus in alumni:
        associations.link_alumnus(program, alumnus, user)
    if alumni:
        audit.record_event("outreach_link_attendees", "association_programs", program.id,
                           alumni=[alumnus.id for alumnus in alumni], count=len(alumni))
    return len(alumni)


def signup_token(mailing_list: MailingList, email: str, name: str, language: str) -> str:
    day = clock.today().toordinal()
    return sign("c", mailing_list.id, day, language, base64.urlsafe_b64encode(email.encode()).decode(),
                base64.urlsafe_b64encode(name.encode()).decode())


SIGNUP_VALID_DAYS = 7


def request_signup(mailing_list: MailingList, email: str, name: str, language: str) -> None:
    """Send the confirmation link (double opt-in). Nothing else is sent, and nothing recorded, until the
    address confirms; the answer to the visitor is the same whatever the address."""
    url = external("outreach.confirm_signup", token=signup_token(mailing_list, email, name, language))
    with force_locale(language):
        subject = _("Please confirm your subscription to “%(list)s”", list=mailing_list.name)
        text = "\n\n".join([
            _("Someone, probably you, asked to receive “%(list)s” at this address.", list=mailing_list.name),
            _("Purpose of use: %(purpose)s", purpose=mailing_list.purpose(language)),
            _("To confirm, open this link within 7 days: %(url)s", url=url),
            _("If you did not ask for this, ignore this message: nothing more will be sent."),
        ])
    mail.queue([mail.Letter(email, subject, text, None, to_name=name, language=language, batch=f"outreach.confirm:{mailing_list.id}")])


def confirm_signup(token: str) -> Subscription | None:
    """Confirm a double opt-in: the signed link names the list, address, name and day; valid a week."""
    parts = verify("c", token)
    if not parts or len(parts) != 5 or not parts[0].isdigit() or not parts[1].isdigit():
        return None
    list_id, day, language = int(parts[0]), int(parts[1]), parts[2]
    if clock.today().toordinal() - day > SIGNUP_VALID_DAYS or language not in LANGUAGES:
        return None
    try:
        email = base64.urlsafe_b64decode(parts[3]).decode()
        name = base64.urlsafe_b64decode(parts[4]).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    mailing_list = db.session.get(MailingList, list_id)
    if mailing_list is None or not mailing_list.public_signup:
        return None
    return subscribe(mailing_list, email=email, name=name, language=language, how=ConsentHow.SELF_SIGNUP,
                     wording=mailing_list.purpose(language))


# --- The ministry's counts --------------------------------------------------------------------------

def counts_by_prefecture() -> list[dict]:
    """Per prefecture: lists, confirmed subscribers, sends; counts of people under disclosure control."""
    lists = dict(db.session.execute(select(MailingList.prefecture_id, func.count()).where(MailingList.prefecture_id.is_not(None))
                                    .group_by(MailingList.prefecture_id)).all())
    subscribers = dict(db.session.execute(
        select(MailingList.prefecture_id, func.count()).join(Subscription, Subscription.list_id == MailingList.id)
        .where(MailingList.prefecture_id.is_not(None), Subscription.status == SubscriptionStatus.SUBSCRIBED)
        .group_by(MailingList.prefecture_id)).all())
    sends = dict(db.session.execute(select(MailingList.prefecture_id, func.count()).join(Send, Send.list_id == MailingList.id)
                                    .where(MailingList.prefecture_id.is_not(None)).group_by(MailingList.prefecture_id)).all())
    return [{"prefecture_id": prefecture, "lists": lists[prefecture], "subscribers": suppress_count(subscribers.get(prefecture, 0)),
             "sends": sends.get(prefecture, 0)} for prefecture in sorted(lists)]


def placed_prefectures(alumnus: Alumnus) -> list[int]:
    return list(db.session.scalars(select(Placement.prefecture_id).where(Placement.alumnus_id == alumnus.id).distinct()))


def create_list(owner: dict, values: dict) -> MailingList:
    mailing_list = MailingList(**owner, **values)
    db.session.add(mailing_list)
    db.session.flush()
    return mailing_list

