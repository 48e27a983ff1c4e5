"""Rules of self-service: issuing and checking personal links, what a person may change through one,
the staff feed with its undo, and how current each prefecture's registry is.

A person acts through a link under `audit.acting_as("alumnus:<id>")`, so every change they make is
in the audit trail with them as actor. Nothing here takes a person or a prefecture from a form: the
person is the link's, and a reported activity's prefecture must be one they served in.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import date, timedelta

from flask import current_app
from flask_babel import force_locale, lazy_gettext as _l
from sqlalchemy import and_, exists, func, or_, select

from crm import access, audit, clock, disclosure, mail, tasks
from crm.alumni.models import Alumnus, Placement
from crm.ambassadors.models import Activity, ActivityKind, ActivityStatus
from crm.db import utcnow
from crm.outreach import operations as outreach
from crm.associations.models import Member, MemberStatus, Program, ProgramStatus
from crm.outreach.models import ConsentHow, MailingList, Rsvp, RsvpAnswer, Send, SendStatus, Subscription, SubscriptionStatus
from crm.extensions import db
from crm.reference.fiscal_year import fiscal_year_of
from crm.selfservice.models import PersonalLink, SelfUpdate

# What a person corrects through their link (the form's fields; nothing else is ever written).
DETAIL_FIELDS = ("email", "email_secondary", "phone", "residence_country", "city", "linkedin_url",
                 "employer", "job_title", "languages", "preferred_language")
# What an association member corrects through theirs.
MEMBER_FIELDS = ("email", "phone", "postal_code", "address", "preferred_language")
ACTIVITY_FIELDS = ("occurred_on", "kind", "country", "description", "people_reached", "visitors_brought",
                   "economic_value_yen", "economic_value_basis", "funds_raised_yen", "media_items", "evidence_url")
# A registry entry counts as current when confirmed or self-updated within this many days.
CURRENT_DAYS = 365
FEED_SIZE = 20
LINK_SUBJECT = _l("Your personal link to your Furusato CRM record")
CONFIRM_SUBJECT = _l("Please check your details")


STALE = _l("This cannot be undone: the record has changed since.")


class StaleUndo(ValueError):
    """A self-update staff may not undo (the record changed again since, or it is a consent
    decision, or undone already); its message says which, for the staff member."""

    def __init__(self, message=STALE):
        super().__init__(str(message))
        self.message = message


# --- Links -----------------------------------------------------------------------------------------

def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def actor(person: Alumnus | Member) -> str:
    """The audit trail's actor for changes made through the person's link."""
    return f"{'member' if isinstance(person, Member) else 'alumnus'}:{person.id}"


def _person_clause(model, person: Alumnus | Member):
    return model.member_id == person.id if isinstance(person, Member) else model.alumnus_id == person.id


def issue_link(person: Alumnus | Member, created_by=None) -> str:
    """A new link for the person (an alumnus or an association member); returns the token (shown
    once, in the mail; stored as its hash)."""
    token = secrets.token_urlsafe(32)  # 256 bits
    days = current_app.config["SELF_SERVICE_LINK_DAYS"]
    owner = {"member": person} if isinstance(person, Member) else {"alumnus": person}
    db.session.add(PersonalLink(token_hash=token_hash(token), **owner, expires_at=utcnow() + timedelta(days=days),
                                created_by_id=getattr(created_by, "id", None)))
    db.session.flush()
    return token


def link_for(token: str) -> PersonalLink | None:
    """The link this token opens: unexpired, unrevoked, of a person still in the registry; else None."""
    if not token or len(token) > 100:
        return None
    link = db.session.scalar(select(PersonalLink).where(PersonalLink.token_hash == token_hash(token)))
    if link is None or link.revoked_at is not None or link.expires_at <= utcnow():
        return None
    if link.member_id is not None:  # a member who has left the association is no longer reachable
        return link if link.member is not None and link.member.status != MemberStatus.LEFT else None
    if link.alumnus is None or link.alumnus.archived_at is not None or link.alumnus.cease_use:
        return None
    return link


def person_of(link: PersonalLink) -> Alumnus | Member:
    return link.member if link.member_id is not None else link.alumnus


def revoke_links(person: Alumnus | Member) -> int:
    """End every open link of the person (staff); returns how many."""
    links = db.session.scalars(select(PersonalLink).where(_person_clause(PersonalLink, person),
                                                          PersonalLink.revoked_at.is_(None))).all()
    for link in links:
        link.revoked_at = utcnow()
    if links:
        audit.record_event("link_revoked", person.__tablename__, person.id, links=len(links))
    return len(links)


def open_links(person: Alumnus | Member) -> int:
    return db.session.scalar(select(func.count()).select_from(PersonalLink).where(
        _person_clause(PersonalLink, person), PersonalLink.revoked_at.is_(None), PersonalLink.expires_at > utcnow()))


def reachable_by_email(email: str) -> list[Alumnus]:
    """The people a link request for this address goes to: in the registry, not ceased."""
    email = (email or "").strip().lower()
    if not email:
        return []
    return db.session.scalars(select(Alumnus).where(
        or_(Alumnus.email == email, Alumnus.email_secondary == email),
        Alumnus.archived_at.is_(None), Alumnus.cease_use.is_(False))).all()


def reachable_members_by_email(email: str) -> list[Member]:
    """The association members a link request for this address goes to: not left their association."""
    email = (email or "").strip().lower()
    if not email:
        return []
    return db.session.scalars(select(Member).where(func.lower(Member.email) == email, Member.status != MemberStatus.LEFT)).all()


def _member_letter(member: Member, token: str, address: str | None = None) -> dict:
    locale = member.preferred_language if member.preferred_language in ("ja", "en") else "ja"
    with force_locale(locale):
        return {"to": address or member.email, "to_name": member.name, "subject": str(LINK_SUBJECT),
                "text": current_app.jinja_env.get_template("selfservice/mail_link_member.txt").render(
                    member=member, link=f"{mail.base_url()}/me/{token}", days=current_app.config["SELF_SERVICE_LINK_DAYS"]),
                "language": locale, "batch": "selfservice.link", "recipient_key": f"member:{member.id}"}


def _letter(alumnus: Alumnus, token: str, subject: str, template: str, batch: str, address: str | None = None) -> dict:
    locale = "ja" if (alumnus.residence_country or "JP") == "JP" else "en"
    # From CRM_BASE_URL, never from the request's Host header (which a requester could choose); the
    # path by hand, since the task queue's worker has no request to build URLs from.
    link = f"{mail.base_url()}/me/{token}"
    with force_locale(locale):
        return {"to": address or alumnus.email, "to_name": alumnus.name, "subject": str(subject),
                # The template alone, without the page's context processors: the worker has no request.
                "text": current_app.jinja_env.get_template(template).render(
                    alumnus=alumnus, link=link, days=current_app.config["SELF_SERVICE_LINK_DAYS"]),
                "language": locale, "batch": batch, "recipient_key": f"alumnus:{alumnus.id}"}


def queue_letters(letters: list[dict]) -> int:
    """The one door to the mail room (crm/mail, MAIL_API.md): queued in this transaction, sent by the
    outbox worker, so no request ever waits on SMTP."""
    return mail.queue([mail.Letter(**letter) for letter in letters])


def ask_for_link(email: str) -> None:
    """The public request page's only work: hand the address to the task queue. Known and unknown
    addresses cost the request the same (the lookup, the link and the letter happen in the worker),
    so the answer's timing does not tell whether an address is in the registry."""
    tasks.enqueue("selfservice.request_link", (email or "").strip().lower())


@tasks.task("selfservice.request_link")
def run_link_request(email: str) -> None:
    request_link(email)
    db.session.commit()


def request_link(email: str) -> None:
    """A link to each person with this address, queued in the outbox; nothing said either way."""
    email = (email or "").strip().lower()
    letters = [_letter(alumnus, issue_link(alumnus), LINK_SUBJECT, "selfservice/mail_link.txt", "selfservice.link", address=email)
               for alumnus in reachable_by_email(email)]
    letters += [_member_letter(member, issue_link(member), address=email) for member in reachable_members_by_email(email)]
    if letters:
        queue_letters(letters)


def send_link(alumnus: Alumnus, staff) -> bool:
    """Staff send the person their link (to their primary address). False when there is none to send to."""
    if not alumnus.email or alumnus.cease_use or alumnus.archived_at is not None:
        return False
    queue_letters([_letter(alumnus, issue_link(alumnus, staff), LINK_SUBJECT, "selfservice/mail_link.txt", "selfservice.link")])
    audit.record_event("link_sent", "alumni", alumnus.id)
    return True


def send_member_link(member: Member, staff) -> bool:
    """Association staff send a member their link. False when there is no address, or they have left."""
    if not member.email or member.status == MemberStatus.LEFT:
        return False
    queue_letters([_member_letter(member, issue_link(member, staff))])
    audit.record_event("link_sent", "association_members", member.id)
    return True


def confirmation_recipients(prefecture_id: int):
    return select(Alumnus).where(
        Alumnus.id.in_(select(Placement.alumnus_id).where(Placement.prefecture_id == prefecture_id)),
        Alumnus.email.is_not(None), Alumnus.email != "", Alumnus.cease_use.is_(False), Alumnus.archived_at.is_(None))


def send_confirmation_mailing(prefecture_id: int, staff) -> int:
    """The annual "please check your details": each of the prefecture's alumni with an email (not
    ceased) gets their own link. Returns how many letters were queued."""
    batch = f"selfservice.confirm:{prefecture_id}-{clock.today().isoformat()}"
    letters = [_letter(alumnus, issue_link(alumnus, staff), CONFIRM_SUBJECT, "selfservice/mail_confirm.txt", batch)
               for alumnus in db.session.scalars(confirmation_recipients(prefecture_id))]
    queued = queue_letters(letters) if letters else 0
    audit.record_event("confirm_mailing", "prefectures", prefecture_id, letters=queued, batch=batch)
    return queued


# --- What the person does through the link ---------------------------------------------------------

def served_prefectures(alumnus: Alumnus) -> list:
    """The prefectures the person served in, in order: the only ones their link reaches."""
    seen = {}
    for placement in sorted(alumnus.placements, key=lambda p: (p.start_year, p.id)):
        seen.setdefault(placement.prefecture_id, placement.host_prefecture)
    return list(seen.values())


def _apply_details(person: Alumnus | Member, fields: tuple, values: dict) -> SelfUpdate | None:
    """Write the given fields (these only) and keep what changed as a self-update; None: nothing did."""
    changes = {}
    for name in fields:
        if name not in values:
            continue
        # An empty language keeps the person's (it is never unset); any other empty value is None.
        new = values[name] or (person.preferred_language if name == "preferred_language" and isinstance(person, Member) else None)
        old = getattr(person, name)
        if old != new:
            changes[name] = {"old": old, "new": new}
            setattr(person, name, new)
    if not changes:
        return None
    entry = SelfUpdate(**({"member": person} if isinstance(person, Member) else {"alumnus": person}), kind="details", changes=changes)
    db.session.add(entry)
    db.session.flush()
    return entry


def update_details(person: Alumnus | Member, values: dict) -> SelfUpdate | None:
    """An alumnus's corrections (DETAIL_FIELDS only) or a member's (MEMBER_FIELDS only)."""
    return _apply_details(person, MEMBER_FIELDS if isinstance(person, Member) else DETAIL_FIELDS, values)


def confirm(alumnus: Alumnus) -> SelfUpdate:
    previous = alumnus.confirmed_on
    alumnus.confirmed_on = clock.today()
    entry = SelfUpdate(alumnus=alumnus, kind="confirm",
                       changes={"confirmed_on": {"old": audit._plain(previous), "new": alumnus.confirmed_on.isoformat()}})
    db.session.add(entry)
    db.session.flush()
    return entry


def report_activity(alumnus: Alumnus, prefecture_id: int, values: dict) -> Activity:
    """An activity the person reports: that prefecture's, unverified, marked as self-reported. The
    person and the status are set here, never from the form; the prefecture must be one they served in."""
    if prefecture_id not in {p.id for p in served_prefectures(alumnus)}:
        raise PermissionError("not a prefecture the person served in")
    activity = Activity(alumnus=alumnus, prefecture_id=prefecture_id, status=ActivityStatus.REPORTED, self_reported=True)
    for name in ACTIVITY_FIELDS:
        if name in values:
            setattr(activity, name, values[name])
    activity.kind = ActivityKind(activity.kind)
    activity.fiscal_year = fiscal_year_of(activity.occurred_on)
    db.session.add(activity)
    db.session.flush()
    db.session.add(SelfUpdate(alumnus=alumnus, kind="activity", activity_id=activity.id, prefecture_id=prefecture_id,
                              changes={"kind": activity.kind.value, "occurred_on": activity.occurred_on.isoformat()}))
    db.session.flush()
    return activity


def own_activities(alumnus: Alumnus) -> list[Activity]:
    return db.session.scalars(select(Activity).where(Activity.alumnus_id == alumnus.id)
                              .order_by(Activity.occurred_on.desc(), Activity.id.desc()).limit(50)).all()


def _own_subscriptions(person: Alumnus | Member):
    clause = _person_clause(Subscription, person)
    if isinstance(person, Member):  # a member's lists are their association's only
        clause = and_(clause, Subscription.list_id.in_(select(MailingList.id).where(MailingList.association_id == person.association_id)))
    return select(Subscription).where(clause)


def subscriptions_of(person: Alumnus | Member) -> list[Subscription]:
    """The person's own subscriptions to mailing lists (crm/outreach), with each list's purpose."""
    return db.session.scalars(_own_subscriptions(person).order_by(Subscription.id)).all()


def set_subscription(person: Alumnus | Member, subscription_id: int, subscribed: bool) -> Subscription | None:
    """Unsubscribe from, or subscribe again to, one of the person's own lists (None: not theirs).
    Recorded as a consent event of the list (outreach) and a self-update."""
    subscription = db.session.scalar(_own_subscriptions(person).where(Subscription.id == subscription_id))
    if subscription is None:
        return None
    before = subscription.status
    owner = {"member": person} if isinstance(person, Member) else {"alumnus": person}
    if subscribed and before != SubscriptionStatus.SUBSCRIBED:
        outreach.subscribe(subscription.mailing_list, **owner, how=ConsentHow.SELF_SIGNUP,
                           language=person.preferred_language)
    elif not subscribed and before == SubscriptionStatus.SUBSCRIBED:
        outreach.unsubscribe(subscription, how=ConsentHow.UNSUBSCRIBE_LINK)
    if subscription.status != before:
        db.session.add(SelfUpdate(**owner, kind="subscription", prefecture_id=subscription.mailing_list.prefecture_id,
                                  changes={"list": subscription.mailing_list.name,
                                           "status": {"old": before.value, "new": subscription.status.value}}))
    db.session.flush()
    return subscription


class Invitation:
    """A send inviting the person to an upcoming program, on a list they are subscribed to, with their
    answer so far (None: pending)."""

    def __init__(self, send: Send, subscription: Subscription, rsvp: Rsvp | None):
        self.send, self.subscription, self.rsvp = send, subscription, rsvp
        self.program = send.program

    @property
    def answer(self) -> RsvpAnswer | None:
        return self.rsvp.answer if self.rsvp is not None else None


def invitations_of(subscriptions: list[Subscription]) -> list[Invitation]:
    """The person's invitations (through their own subscriptions only): one per program, the latest
    send inviting to it; programs still planned and not yet over."""
    ids = [s.id for s in subscriptions if s.status == SubscriptionStatus.SUBSCRIBED]
    if not ids:
        return []
    rows = db.session.execute(
        select(Send, Subscription, Rsvp)
        .join(Subscription, Subscription.list_id == Send.list_id)
        .join(Program, Program.id == Send.program_id)
        .outerjoin(Rsvp, and_(Rsvp.send_id == Send.id, Rsvp.subscription_id == Subscription.id))
        .where(Subscription.id.in_(ids), Send.status == SendStatus.QUEUED, Send.created_at >= Subscription.created_at,
               Program.status == ProgramStatus.PLANNED, Program.ends_at > utcnow())
        .order_by(Program.starts_at, Send.id.desc())).all()
    seen: dict[int, Invitation] = {}
    for send, subscription, rsvp in rows:
        current = seen.get(send.program_id)
        if current is None or (current.rsvp is None and rsvp is not None):
            seen[send.program_id] = Invitation(send, subscription, rsvp)
    return list(seen.values())


def answer_invitation(subscriptions: list[Subscription], send_id: int, answer: str) -> Rsvp | None:
    """Answer one of the person's own invitations (None: not theirs, or no longer open). Audited with
    the caller's actor (the person, under acting_as)."""
    if answer not in {a.value for a in RsvpAnswer}:
        return None
    invitation = next((i for i in invitations_of(subscriptions) if i.send.id == send_id), None)
    if invitation is None:
        return None
    rsvp = invitation.rsvp
    if rsvp is None:
        rsvp = Rsvp(send_id=send_id, subscription_id=invitation.subscription.id, program_id=invitation.send.program_id)
        db.session.add(rsvp)
    rsvp.answer = RsvpAnswer(answer)
    rsvp.answered_at = utcnow()
    db.session.flush()
    audit.record_event("rsvp_answered", "association_programs", invitation.send.program_id,
                       send=send_id, subscription=invitation.subscription.id, answer=answer)
    return rsvp


def confirm_member(member: Member) -> SelfUpdate:
    """"My details are current": members have no column for it; the self-update is the record."""
    entry = SelfUpdate(member=member, kind="confirm", changes={"confirmed_on": {"old": None, "new": clock.today().isoformat()}})
    db.session.add(entry)
    db.session.flush()
    audit.record_event("member_confirmed", "association_members", member.id)
    return entry


def member_confirmed_on(member: Member):
    at = db.session.scalar(select(func.max(SelfUpdate.at)).where(SelfUpdate.member_id == member.id, SelfUpdate.kind == "confirm",
                                                                 SelfUpdate.undone_at.is_(None)))
    return at.astimezone(clock.TOKYO).date() if at is not None else None


# --- Staff: the feed and undo ----------------------------------------------------------------------

def feed(user, members: bool = False, limit: int = FEED_SIZE) -> list[SelfUpdate]:
    """Recent self-updates the user reaches (crm/access decides which): the alumni's, for the
    prefecture home, or the association members', for the association home."""
    person = SelfUpdate.member_id if members else SelfUpdate.alumnus_id
    return db.session.scalars(access.scoped(SelfUpdate, user).where(person.is_not(None))
                              .order_by(SelfUpdate.at.desc(), SelfUpdate.id.desc()).limit(limit)).all()


def undo(entry: SelfUpdate, staff) -> None:
    """Restore an alumnus's or a member's values before their self-update (audited as the staff
    member's change). Refused with StaleUndo when it is undone already, is a consent decision, the
    record has changed since, or the reported activity has been reviewed."""
    if entry.undone_at is not None:
        raise StaleUndo(_l("This self-update is undone already."))
    if entry.kind == "subscription":
        # The person's own consent decision: staff never subscribe someone again on their behalf.
        raise StaleUndo(_l("A person's own consent decision (a subscription) cannot be undone by staff."))
    person = entry.member if entry.member_id is not None else entry.alumnus
    if entry.kind == "activity":
        activity = db.session.get(Activity, entry.activity_id) if entry.activity_id else None
        if activity is not None:
            if activity.status != ActivityStatus.REPORTED:
                raise StaleUndo(_l("This cannot be undone: the activity has been reviewed."))
            db.session.delete(activity)
    elif not (entry.kind == "confirm" and isinstance(person, Member)):  # a member's confirmation is the entry itself
        for name, change in entry.changes.items():
            if audit._plain(getattr(person, name)) != change["new"]:
                raise StaleUndo(STALE)
        for name, change in entry.changes.items():
            old = change["old"]
            setattr(person, name, date.fromisoformat(old) if name == "confirmed_on" and old else old)
    entry.undone_at = utcnow()
    entry.undone_by_id = staff.id
    audit.record_event("self_update_undone", "self_updates", entry.id, kind=entry.kind,
                       **{"member" if isinstance(person, Member) else "alumnus": person.id})
    db.session.flush()


# --- How current the registry is -----------------------------------------------------------------

def _current_clause():
    cutoff = clock.today() - timedelta(days=CURRENT_DAYS)
    updated = exists().where(SelfUpdate.alumnus_id == Alumnus.id, SelfUpdate.kind == "details",
                             SelfUpdate.undone_at.is_(None), SelfUpdate.at >= clock.start_of(cutoff))
    return or_(Alumnus.confirmed_on >= cutoff, updated)


def currency_counts() -> dict[int, tuple[int, int]]:
    """Per prefecture: (alumni current, alumni in the registry), alumni in use (not archived or ceased)."""
    in_use = and_(Alumnus.archived_at.is_(None), Alumnus.cease_use.is_(False))
    rows = db.session.execute(
        select(Placement.prefecture_id, func.count(func.distinct(Alumnus.id)),
               func.count(func.distinct(Alumnus.id)).filter(_current_clause()))
        .join(Alumnus, Alumnus.id == Placement.alumnus_id).where(in_use).group_by(Placement.prefecture_id))
    return {prefecture_id: (current, total) for prefecture_id, total, current in rows}


def currency_of(prefecture_id: int) -> tuple[int, int]:
    return currency_counts().get(prefecture_id, (0, 0))


def protected_share(current: int, total: int):
    """The share current as a percentage under disclosure control: suppressed when either count, or
    the complement a reader could work out from the published cohort, is 1–9."""
    share = disclosure.percent(current, total)
    if share is not None and not disclosure.is_suppressed(share):
        share = disclosure.derived(share, total - current)
    return share

