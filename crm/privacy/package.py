"""What a prefecture holds about one person (the disclosure package, 開示) and who reached their data
(access records, breach response), read from the domains' tables and the audit trail.

Only the requesting prefecture's own data: its contact log, activities, ambassador terms and the
programs of its exchange associations, and the accesses of its own staff. Another prefecture's log
and activities about the same person are that prefecture's records, answered by that prefecture.
The person's profile and placements are shared by every prefecture they served in (each holds them).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask_babel import gettext as _, lazy_gettext as _l
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from crm.clock import TOKYO, start_of
from crm.alumni.forms import ConsentForm, ContactDetailsForm, ProfileForm
from crm.alumni.models import Alumnus, ContactEntry, Placement
from crm.ambassadors.models import Activity, Ambassador
from crm.associations.models import Association, Program, ProgramAlumnus
from crm.audit import AuditEntry
from crm.auth.models import User
from crm.extensions import db
from crm.mail import OutboxMessage
from crm.outreach.models import ConsentEvent, MailingList, Send, Subscription
from crm.outreach.operations import STATUS_LABELS
from crm.reference.countries import country_name

# The alumnus's columns that say whether and how the person may be contacted (their history is shown).
CONSENT_FIELDS = ("contact_consent", "consent_on", "consent_source", "cease_use")
# Audit actions that read a person's data (as opposed to changing it).
ACCESS_ACTIONS = ("view", "export")
ACTION_LABELS = {"view": _l("Viewed"), "export": _l("Exported")}
PERSON_FORMS = (ProfileForm, ContactDetailsForm, ConsentForm)


@dataclass
class Package:
    prefecture_id: int
    alumnus: Alumnus
    profile: list[tuple[str, object]]
    placements: list[Placement]
    consent_history: list[AuditEntry]
    # Consent to the prefecture's mailing lists (crm.outreach): every event of each subscription.
    newsletter_consent: list
    # What the prefecture's lists sent the person: (send, the person's message in the outbox).
    newsletters: list[tuple[Send, OutboxMessage]]
    contacts: list[ContactEntry]
    activities: list[Activity]
    ambassador_terms: list[Ambassador]
    programs: list[Program]
    accesses: list[AuditEntry]


def profile(alumnus: Alumnus) -> list[tuple[str, object]]:
    """(label, value) of every field the alumnus's page shows, labelled as that page labels them."""
    rows = []
    for form_class in PERSON_FORMS:
        for field in form_class(formdata=None, meta={"csrf": False}):
            if field.type in ("HiddenField", "CSRFTokenField"):
                continue
            value = getattr(alumnus, field.short_name)
            if isinstance(value, bool):
                value = _("Yes") if value else _("No")
            elif field.type == "CountryField" and value:
                value = country_name(value)
            elif getattr(value, "label", None) is not None:
                value = value.label
            rows.append((str(field.label.text), value))
    return rows


def package(prefecture_id: int, alumnus: Alumnus) -> Package:
    def rows(statement):
        return list(db.session.scalars(statement))

    return Package(
        prefecture_id=prefecture_id,
        alumnus=alumnus,
        profile=profile(alumnus),
        placements=list(alumnus.placements),
        consent_history=consent_history(alumnus),
        newsletter_consent=rows(select(ConsentEvent).join(Subscription, Subscription.id == ConsentEvent.subscription_id)
                                .join(MailingList, MailingList.id == Subscription.list_id)
                                .where(Subscription.alumnus_id == alumnus.id, MailingList.prefecture_id == prefecture_id)
                                .order_by(ConsentEvent.at, ConsentEvent.id)),
        newsletters=newsletters_sent(alumnus.id, prefecture_id),
        contacts=rows(select(ContactEntry).where(ContactEntry.alumnus_id == alumnus.id, ContactEntry.prefecture_id == prefecture_id)
                      .options(selectinload(ContactEntry.staff)).order_by(ContactEntry.contacted_on, ContactEntry.id)),
        activities=rows(select(Activity).where(Activity.alumnus_id == alumnus.id, Activity.prefecture_id == prefecture_id)
                        .order_by(Activity.occurred_on, Activity.id)),
        ambassador_terms=rows(select(Ambassador).where(Ambassador.alumnus_id == alumnus.id, Ambassador.prefecture_id == prefecture_id)
                              .order_by(Ambassador.term_start_on)),
        programs=rows(select(Program).join(ProgramAlumnus, ProgramAlumnus.program_id == Program.id)
                      .join(Association, Association.id == Program.association_id)
                      .where(ProgramAlumnus.alumnus_id == alumnus.id, Association.prefecture_id == prefecture_id)
                      .order_by(Program.starts_at)),
        accesses=accesses_of(alumnus.id, prefecture_id),
    )


def newsletters_sent(alumnus_id: int, prefecture_id: int) -> list[tuple[Send, OutboxMessage]]:
    """The letters the prefecture's lists queued for the person, oldest first. The outbox names a
    recipient by subscription (crm.outreach queues "subscription:<id>" in the batch of its send)."""
    subscriptions = select(Subscription.id).join(MailingList, MailingList.id == Subscription.list_id).where(
        Subscription.alumnus_id == alumnus_id, MailingList.prefecture_id == prefecture_id)
    keys = [f"subscription:{subscription_id}" for subscription_id in db.session.scalars(subscriptions)]
    if not keys:
        return []
    messages = list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.recipient_key.in_(keys),
                                                                   OutboxMessage.batch.like("outreach.send:%"))
                                       .order_by(OutboxMessage.created_at, OutboxMessage.id)))
    sends = {send.batch: send for send in db.session.scalars(
        select(Send).where(Send.id.in_({int(message.batch.rpartition(":")[2]) for message in messages})))}
    return [(sends[message.batch], message) for message in messages if message.batch in sends]


def delivery_label(message: OutboxMessage) -> str:
    return str(STATUS_LABELS.get(message.status, message.status))


def consent_history(alumnus: Alumnus) -> list[AuditEntry]:
    """Changes of the person's consent and cease of use (creation included), oldest first."""
    entries = db.session.scalars(
        select(AuditEntry).where(AuditEntry.record_type == Alumnus.__tablename__, AuditEntry.record_id == str(alumnus.id),
                                 AuditEntry.action.in_(("create", "update")))
        .order_by(AuditEntry.at, AuditEntry.id))
    return [entry for entry in entries if any(key in CONSENT_FIELDS for key in (entry.changes or {}))]


def consent_changes(entry: AuditEntry) -> list[tuple[str, object, object]]:
    """(field label, old, new) of the consent fields an entry changed."""
    labels = {field.short_name: str(field.label.text) for field in ConsentForm(formdata=None, meta={"csrf": False})}
    return [(labels.get(key, key), change.get("old"), change.get("new"))
            for key, change in (entry.changes or {}).items() if key in CONSENT_FIELDS]


def _access_condition(alumnus_id: int):
    """Entries that read this person's data: a view or a download of their record, or an export whose
    rows included them (crm.imports.exports records the people of each export)."""
    return or_((AuditEntry.record_type == Alumnus.__tablename__) & (AuditEntry.record_id == str(alumnus_id)),
               (AuditEntry.action == "export") & AuditEntry.record_id.is_(None))


def _included(entry: AuditEntry, alumnus_id: int) -> bool:
    if entry.record_type == Alumnus.__tablename__ and entry.record_id == str(alumnus_id):
        return True
    return alumnus_id in ((entry.details or {}).get("people") or ())


def accesses_of(alumnus_id: int, prefecture_id: int | None = None, since: date | None = None,
                until: date | None = None) -> list[AuditEntry]:
    """Who viewed or exported this person's data, newest first: a prefecture's own staff, or
    everyone (`prefecture_id` None: administrators)."""
    statement = _between(select(AuditEntry).where(AuditEntry.action.in_(ACCESS_ACTIONS), _access_condition(alumnus_id)),
                         since, until)
    if prefecture_id is not None:
        statement = statement.where(AuditEntry.actor_id.in_(select(User.id).where(User.prefecture_id == prefecture_id)))
    return [entry for entry in db.session.scalars(statement.order_by(AuditEntry.at.desc(), AuditEntry.id.desc()))
            if _included(entry, alumnus_id)]


def accesses_by(user_id: int, since: date | None, until: date | None) -> list[AuditEntry]:
    """What this user viewed or exported between two days (Japan time, both included), newest first."""
    statement = select(AuditEntry).where(AuditEntry.actor_id == user_id, AuditEntry.action.in_(ACCESS_ACTIONS))
    return list(db.session.scalars(_between(statement, since, until).order_by(AuditEntry.at.desc(), AuditEntry.id.desc())))


def _between(statement, since: date | None, until: date | None):
    if since is not None:
        statement = statement.where(AuditEntry.at >= start_of(since))
    if until is not None:
        statement = statement.where(AuditEntry.at < start_of(until + timedelta(days=1)))
    return statement


def people_count(entry: AuditEntry) -> int | None:
    people = (entry.details or {}).get("people")
    return len(people) if people is not None else None


def moment(entry: AuditEntry) -> datetime:
    return entry.at.astimezone(TOKYO)


def moment_of(message: OutboxMessage) -> datetime:
    """When a letter left (or, not yet sent, was queued), Japan time."""
    return (message.sent_at or message.created_at).astimezone(TOKYO)


def package_rows(held: Package) -> list[list]:
    """The package as (section, item, value) rows: one sheet a spreadsheet filters by section."""
    rows: list[list] = [[_("Profile"), label, value] for label, value in held.profile]
    rows += [[_("Placements"), placement.host_prefecture.name,
              f"{placement.position.label} {placement.years} {placement.organisation or ''}".strip()] for placement in held.placements]
    rows += [[_("Consent history"), moment(entry).strftime("%Y-%m-%d %H:%M"), f"{label}: {old} → {new}"]
             for entry in held.consent_history for label, old, new in consent_changes(entry)]
    rows += [[_("Consent history"), moment(event).strftime("%Y-%m-%d %H:%M"),
              f"{event.subscription.mailing_list.name}: {event.action.label} ({event.how.label}) {event.wording}".strip()]
             for event in held.newsletter_consent]
    rows += [[_("Newsletters"), moment_of(message).strftime("%Y-%m-%d %H:%M"),
              f"{send.mailing_list.name}: {message.subject} ({delivery_label(message)})"] for send, message in held.newsletters]
    rows += [[_("Contact log"), entry.contacted_on.isoformat(), f"{entry.channel.label} · {entry.summary}"] for entry in held.contacts]
    rows += [[_("Activities"), activity.occurred_on.isoformat(), f"{activity.kind.label} · {activity.status.label} · {activity.description}"]
             for activity in held.activities]
    rows += [[_("Hometown ambassador"), term.term_start_on.isoformat(),
              f"{term.title} ({term.term_start_on.isoformat()} – {term.term_end_on.isoformat() if term.term_end_on else ''})"]
             for term in held.ambassador_terms]
    rows += [[_("Programs"), program.starts_at.astimezone(TOKYO).date().isoformat(), program.title_ja] for program in held.programs]
    rows += [[_("Access records"), moment(entry).strftime("%Y-%m-%d %H:%M"), f"{entry.actor} · {action_label(entry)}"] for entry in held.accesses]
    return rows


def action_label(entry: AuditEntry) -> str:
    return str(ACTION_LABELS.get(entry.action, entry.action))
