"""Retention rules, their dry run, and anonymisation.

A person is anonymised, not deleted: the alumni row and every row that references it stay, so the
return report and the national dashboard count them as before; what goes is every personal column
the file register (crm.file_register.models) does not mark as kept — names, contact details, free
text. The rows to reach are read from the foreign keys (crm.references, the same walk a merge
moves), so a table added later with a reference to alumni is anonymised by construction once its
columns are described. The audit trail keeps who changed what and when, but the old and new values
of the person's entries are scrubbed: a trail that still held the name would undo the anonymisation.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.orm import selectinload

from crm import audit, clock, references
from crm.access import anonymisable, scope_clause
from crm.alumni.models import Alumnus, ContactEntry, Placement
from crm.ambassadors.models import Activity, Ambassador
from crm.db import utcnow
from crm.extensions import db
from crm.file_register.models import cleared_columns
from crm.retention.models import Anonymisation, ErasureRequest

INACTIVE, ERASURE = "inactive", "erasure"
RULE_LABELS = {
    INACTIVE: _l("No placement end, contact, activity or consent for %(years)s years"),
    ERASURE: _l("Asked for deletion"),
}
# Names the dry run lists at most (the counts are always whole).
LIST_LIMIT = 200


def inactive_years() -> int:
    return int(current_app.config["RETENTION_INACTIVE_YEARS"])


def rule_label(rule: str) -> str:
    return str(RULE_LABELS[rule]) % {"years": inactive_years()}


def cutoff(today: date | None = None) -> date:
    """The day before which nothing counts as recent: today, `RETENTION_INACTIVE_YEARS` years back."""
    today = today or clock.today()
    years = inactive_years()
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February in a year without one
        return today.replace(year=today.year - years, day=28)


def _inactive(since: date):
    """Alumni with nothing since `since`: no placement running or ended that late, no contact,
    activity, appointment or consent, and not registered that late either (a record imported last
    week for someone who left in 2005 is new to the prefecture)."""
    recent = [
        exists().where(Placement.alumnus_id == Alumnus.id, or_(Placement.end_year.is_(None), Placement.end_year >= since.year)),
        exists().where(ContactEntry.alumnus_id == Alumnus.id, ContactEntry.contacted_on >= since),
        exists().where(Activity.alumnus_id == Alumnus.id, Activity.occurred_on >= since),
        exists().where(Ambassador.alumnus_id == Alumnus.id, or_(Ambassador.term_end_on.is_(None), Ambassador.term_end_on >= since)),
    ]
    return and_(or_(Alumnus.consent_on.is_(None), Alumnus.consent_on < since), Alumnus.created_at < clock.start_of(since),
                ~or_(*recent))


def _asked_for_deletion():
    return exists().where(ErasureRequest.alumnus_id == Alumnus.id)


def _not_anonymised():
    return ~exists().where(Anonymisation.alumnus_id == Alumnus.id)


def _rule_clause(rule: str):
    return _asked_for_deletion() if rule == ERASURE else _inactive(cutoff())


def _candidates(rule: str, user):
    """Alumni in the user's scope (everyone for `user=None`: the command line) that `rule` selects."""
    statement = select(Alumnus.id).where(_rule_clause(rule), _not_anonymised())
    if rule == INACTIVE:
        # A person who asked for deletion is counted under that rule only.
        statement = statement.where(~_asked_for_deletion())
    if user is not None:
        statement = statement.where(scope_clause(Alumnus, user))
    return statement


@dataclass
class RuleRun:
    rule: str
    label: str
    found: int  # in the user's scope
    applicable: int  # of which the user may anonymise (the others are shared: an administrator's)


@dataclass
class Candidate:
    alumnus: Alumnus
    rule: str
    shared: bool


def dry_run(user=None) -> tuple[list[RuleRun], list[Candidate]]:
    """What applying would do for `user`: per rule, the people found and those the user may
    anonymise; and the first LIST_LIMIT of them by name."""
    runs, candidates = [], []
    for rule in RULE_LABELS:
        found = _candidates(rule, user)
        allowed = found.where(anonymisable(user)) if user is not None else found
        count = lambda statement: db.session.scalar(select(func.count()).select_from(statement.subquery()))  # noqa: E731
        runs.append(RuleRun(rule, rule_label(rule), count(found), count(allowed)))
        if len(candidates) < LIST_LIMIT:
            allowed_ids = set(db.session.scalars(allowed))
            people = db.session.scalars(select(Alumnus).where(Alumnus.id.in_(found)).options(selectinload(Alumnus.placements))
                                        .order_by(Alumnus.family_name, Alumnus.id).limit(LIST_LIMIT - len(candidates)))
            candidates += [Candidate(person, rule, person.id not in allowed_ids) for person in people]
    return runs, candidates


def apply(user=None) -> dict[str, int]:
    """Anonymise everyone the rules select that the user may anonymise; people already anonymised
    are skipped, so running it again changes nothing. Returns how many per rule."""
    done = {}
    for rule in RULE_LABELS:
        statement = _candidates(rule, user)
        if user is not None:
            statement = statement.where(anonymisable(user))
        ids = list(db.session.scalars(statement))
        done[rule] = sum(anonymise(alumnus_id, rule) for alumnus_id in ids)
    return done


def anonymise(alumnus_id: int, rule: str) -> bool:
    """Clear the person's personal columns and those of every row that references them, scrub their
    entries in the audit trail, mark them anonymised and record it. False if already anonymised."""
    if db.session.get(Anonymisation, alumnus_id) is not None:
        return False
    db.session.flush()
    table = Alumnus.__table__
    cleared, reached = {}, {table.name: [alumnus_id]}
    targets = [(table, table.c.id)] + [(column.table, column) for column in references.referencing_columns(table)]
    for referencing, column in targets:
        key = list(referencing.primary_key.columns)
        if len(key) == 1:
            reached.setdefault(referencing.name, [])
            if referencing is not table:
                reached[referencing.name] += db.session.scalars(select(key[0]).where(column == alumnus_id)).all()
        values = cleared_columns(referencing)
        if not values:
            continue
        if "version" in referencing.c:
            # Anyone editing the person now gets the stale-edit answer instead of writing the old values back.
            values["version"] = referencing.c.version + 1
        result = db.session.execute(update(referencing).where(column == alumnus_id).values(values),
                                    execution_options={"synchronize_session": False})
        cleared[referencing.name] = result.rowcount
    _scrub_trail(reached)
    db.session.add(Anonymisation(alumnus_id=alumnus_id, rule=rule, at=utcnow()))
    db.session.flush()
    db.session.expire_all()
    audit.record_event("anonymise", table.name, alumnus_id, rule=rule, cleared=cleared)
    return True


def _scrub_trail(reached: dict[str, list[int]]) -> None:
    """Replace the old and new values in the trail's entries of these rows by a mark: which fields
    changed, when and by whom stays (the access record), what they held goes. The trail is otherwise
    append-only (crm.audit refuses ORM updates); this is its one sanctioned rewrite."""
    entries = audit.AuditEntry.__table__
    for record_type, ids in reached.items():
        for start in range(0, len(ids), 500):
            keys = [str(record_id) for record_id in ids[start:start + 500]]
            rows = db.session.execute(select(entries.c.id, entries.c.changes).where(
                entries.c.record_type == record_type, entries.c.record_id.in_(keys), entries.c.changes.is_not(None))).all()
            for entry_id, changes in rows:
                db.session.execute(update(entries).where(entries.c.id == entry_id)
                                   .values(changes={field: {"anonymised": True} for field in changes}))


def record_erasure_request(alumnus: Alumnus, requested_on: date, user) -> ErasureRequest:
    """Note that the person asked for deletion; the next application of the rules anonymises them."""
    request = ErasureRequest(alumnus_id=alumnus.id, prefecture_id=user.prefecture_id, requested_on=requested_on,
                             recorded_by_id=user.id)
    db.session.add(request)
    db.session.flush()
    return request
