"""Rules for appointments, activities and investment: who owns a record, its 年度, review status.

The owning prefecture always comes from the signed-in staff member, never from a form.
"""
from __future__ import annotations

from datetime import date, timedelta

from flask_babel import gettext as _
from sqlalchemy import or_, select, true

from crm import signals
from crm.access import scope_clause, scoped
from crm.alumni.models import Alumnus
from crm.ambassadors.models import Activity, ActivityKind, ActivityStatus, Ambassador, Investment
from crm.db import request_int, utcnow
from crm.extensions import db
from crm.reference.fiscal_year import fiscal_year_of

ACTIVITY_SORTS = {"date": Activity.occurred_on, "kind": Activity.kind, "status": Activity.status,
                  "value": Activity.economic_value_yen}
ACTIVITY_FIELDS = ("occurred_on", "kind", "country", "description", "people_reached", "visitors_brought",
                   "economic_value_yen", "economic_value_basis", "funds_raised_yen", "media_items", "evidence_url")
AMBASSADOR_FIELDS = ("title", "region", "term_start_on", "term_end_on")
INVESTMENT_FIELDS = ("fiscal_year", "alt_count", "cir_count", "sea_count", "hosting_cost_yen", "programme_spending_yen")


# --- Ambassadors -----------------------------------------------------------------------------------

class TermRefused(ValueError):
    """A change of term the appointment's rules refuse."""


class TermOverlap(TermRefused):
    """The person already holds an appointment of this prefecture for part of the term."""


def check_term(alumnus_id: int, prefecture_id: int, start: date, end: date | None, exclude_id: int | None = None) -> None:
    """Refuse a term overlapping another appointment of the same person by the same prefecture (a
    second identical appointment, from a form sent twice, is one). The person's row is locked first,
    so two requests appointing them at once take turns and the second sees the first (SQLite's write
    transactions already do; on PostgreSQL this is SELECT … FOR UPDATE)."""
    db.session.execute(select(Alumnus.id).where(Alumnus.id == alumnus_id).with_for_update())
    clash = db.session.scalar(
        select(Ambassador).where(
            Ambassador.alumnus_id == alumnus_id, Ambassador.prefecture_id == prefecture_id,
            Ambassador.id != exclude_id if exclude_id is not None else true(),
            Ambassador.term_start_on <= end if end is not None else true(),
            or_(Ambassador.term_end_on.is_(None), Ambassador.term_end_on >= start),
        ).order_by(Ambassador.term_start_on).limit(1))
    if clash is not None:
        raise TermOverlap(_("%(name)s is already ambassador for a term that overlaps this one (%(start)s – %(end)s).",
                            name=clash.alumnus.name, start=clash.term_start_on.isoformat(),
                            end=clash.term_end_on.isoformat() if clash.term_end_on else _("open-ended")))


def appoint(alumnus: Alumnus, prefecture_id: int, values: dict) -> Ambassador:
    """Appoint `alumnus` for the prefecture; TermOverlap when they already hold part of the term."""
    values = _pick(values, AMBASSADOR_FIELDS)
    check_term(alumnus.id, prefecture_id, values["term_start_on"], values.get("term_end_on"))
    ambassador = Ambassador(alumnus=alumnus, prefecture_id=prefecture_id, **values)
    db.session.add(ambassador)
    db.session.flush()
    return ambassador


def one_year_after(day: date) -> date:
    """The same day a year later (29 February becomes 28 February)."""
    try:
        return day.replace(year=day.year + 1)
    except ValueError:
        return day.replace(year=day.year + 1, day=28)


def extend_term(ambassador: Ambassador) -> None:
    """Renew an appointment for one more year from its end (TermOverlap when that reaches a later
    appointment of the same person); a decision to let it end is withdrawn."""
    if ambassador.term_end_on is None:
        raise TermRefused(_("This term has no end date: there is nothing to extend."))
    end = one_year_after(ambassador.term_end_on)
    check_term(ambassador.alumnus_id, ambassador.prefecture_id, ambassador.term_start_on, end, exclude_id=ambassador.id)
    ambassador.term_end_on = end
    ambassador.end_confirmed_on = None
    db.session.flush()


def update_ambassador(ambassador: Ambassador, values: dict) -> None:
    """An edit of the appointment; a new end date asks again whether to renew (a decision to let the
    old one end no longer holds)."""
    old_end = ambassador.term_end_on
    set_fields(ambassador, values, AMBASSADOR_FIELDS)
    if ambassador.term_end_on != old_end:
        ambassador.end_confirmed_on = None


def let_term_end(ambassador: Ambassador, today: date) -> None:
    """Decide not to renew: the term ends as planned and no queue asks about it again."""
    ambassador.end_confirmed_on = today
    db.session.flush()


def terms_ending(user, today: date, days: int):
    """The user's appointments ending within `days` that no one has decided about yet."""
    return scoped(Ambassador, user).where(Ambassador.term_end_on.between(today, today + timedelta(days=days)),
                                          Ambassador.end_confirmed_on.is_(None))


def ambassadors(today: date) -> tuple[list[Ambassador], list[Ambassador]]:
    """The user's ambassadors: (current, past) — a future term counts as current."""
    rows = db.session.scalars(scoped(Ambassador).order_by(Ambassador.term_start_on.desc(), Ambassador.id)).all()
    current = [a for a in rows if a.term_end_on is None or a.term_end_on >= today]
    return current, [a for a in rows if a not in current]


# --- Activities ------------------------------------------------------------------------------------

def log_activity(alumnus: Alumnus, prefecture_id: int, values: dict) -> Activity:
    activity = Activity(alumnus=alumnus, prefecture_id=prefecture_id, status=ActivityStatus.REPORTED)
    set_activity(activity, values)
    db.session.add(activity)
    db.session.flush()
    return activity


def set_activity(activity: Activity, values: dict) -> None:
    values = _pick(values, ACTIVITY_FIELDS)
    values["kind"] = ActivityKind(values["kind"])
    for key, value in values.items():
        setattr(activity, key, value)
    # The 年度 is derived here, the one place, so 31 March and 1 April can never be filed wrongly.
    activity.fiscal_year = fiscal_year_of(activity.occurred_on)


def review(activity: Activity, status: ActivityStatus, reviewer) -> None:
    """Verify or reject (or reopen) an activity; who and when are kept."""
    activity.status = status
    activity.reviewed_by_id = None if status == ActivityStatus.REPORTED else reviewer.id
    activity.reviewed_at = None if status == ActivityStatus.REPORTED else utcnow()


def activities_of(alumnus: Alumnus, limit: int) -> list[Activity]:
    """The alumnus's latest activities among those the user reaches (the activities page's scope)."""
    statement = scoped(Activity).where(Activity.alumnus_id == alumnus.id)
    return db.session.scalars(statement.order_by(Activity.occurred_on.desc(), Activity.id.desc()).limit(limit)).all()


def activity_query(filters: dict):
    statement = scoped(Activity)
    if filters.get("status") in {s.value for s in ActivityStatus}:
        statement = statement.where(Activity.status == ActivityStatus(filters["status"]))
    if filters.get("kind") in {k.value for k in ActivityKind}:
        statement = statement.where(Activity.kind == ActivityKind(filters["kind"]))
    year = request_int(filters.get("year"))
    if year:
        statement = statement.where(Activity.fiscal_year == year)
    alumnus_id = request_int(filters.get("alumnus"))
    if alumnus_id:
        statement = statement.where(Activity.alumnus_id == alumnus_id)
    return statement


# --- Investment ------------------------------------------------------------------------------------

def investments():
    return db.session.scalars(scoped(Investment).order_by(Investment.fiscal_year.desc())).all()


def year_taken(prefecture_id: int, fiscal_year: int, except_id: int | None = None) -> bool:
    statement = select(Investment.id).where(Investment.prefecture_id == prefecture_id, Investment.fiscal_year == fiscal_year)
    if except_id is not None:
        statement = statement.where(Investment.id != except_id)
    return db.session.scalar(statement) is not None


def record_investment(prefecture_id: int, values: dict) -> Investment:
    investment = Investment(prefecture_id=prefecture_id, **_pick(values, INVESTMENT_FIELDS))
    db.session.add(investment)
    db.session.flush()
    return investment


def set_fields(record, values: dict, names) -> None:
    for key, value in _pick(values, names).items():
        setattr(record, key, value)


def _pick(values: dict, names) -> dict:
    return {name: values[name] for name in names if name in values}


@signals.ambassador_ids.connect
def ambassador_ids(_sender, current: bool, on: date):
    """Ids of alumni appointed ambassador by a prefecture the user works for (the ambassadors scope,
    so a shared alumnus is never shown as another prefecture's ambassador): with a term running on
    `on`, or with any term at all."""
    statement = select(Ambassador.alumnus_id).where(scope_clause(Ambassador))
    if current:
        statement = statement.where(Ambassador.term_start_on <= on, or_(Ambassador.term_end_on.is_(None), Ambassador.term_end_on >= on))
    return statement
