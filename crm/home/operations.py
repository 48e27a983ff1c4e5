"""The work queues of each role's home page: what is waiting to be done, read through the user's scope.

Every query starts from `crm.access.scoped`, so a queue never shows a record the user could not open.
Each section is a short list (QUEUE_SIZE) with a link to the full page where there is one.
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from crm import clock
from crm.access import scoped
from crm.alumni import operations as alumni
from crm.ambassadors import operations as ambassadors
from crm.ambassadors.models import Activity, ActivityStatus, Ambassador
from crm.associations.models import Member, MemberStatus, MembershipFee, PaymentMethod, Program, ProgramStatus
from crm.audit import AuditEntry
from crm.auth.models import User
from crm.disclosure import DisclosureError
from crm.extensions import db
from crm.imports import operations as imports
from crm.imports.models import ImportJob, JobState
from crm.reference import fiscal_year
from crm.reports import returns

QUEUE_SIZE = 10
TERM_WARNING_DAYS = 90
# The national headline: what the ministry reads first, in this order.
HEADLINE = ("tracked", "ambassadors", "activities", "economic_value", "return_ratio")


def _listed(statement, limit: int = QUEUE_SIZE) -> list:
    return list(db.session.scalars(statement.limit(limit)))


def _count(statement) -> int:
    return db.session.scalar(select(func.count()).select_from(statement.order_by(None).subquery())) or 0


# --- Prefecture staff ------------------------------------------------------------------------------

def prefecture_queue(user, today: date) -> dict:
    """Follow-ups (the user's and the office's), activities to verify, terms ending, recent imports."""
    reported = scoped(Activity, user).where(Activity.status == ActivityStatus.REPORTED)
    ending = ambassadors.terms_ending(user, today, TERM_WARNING_DAYS)
    return {
        "my_follow_ups": alumni.follow_ups(user, today, whose="mine", limit=QUEUE_SIZE),
        "office_follow_ups": alumni.follow_ups(user, today, whose="office", limit=QUEUE_SIZE),
        "to_verify": _listed(reported.order_by(Activity.occurred_on, Activity.id)),
        "to_verify_count": _count(reported),
        "terms_ending": _listed(ending.order_by(Ambassador.term_end_on, Ambassador.id)),
        "staff_choices": [(staff.id, staff.display_name) for staff in alumni.assignable_staff(user)],
        **_imports(_listed(scoped(ImportJob, user).order_by(ImportJob.created_at.desc(), ImportJob.id.desc()), 5), "recent_imports"),
    }


def _imports(jobs: list[ImportJob], name: str) -> dict:
    """Import jobs, and the step each one waits for its user to take (job id → "commit" or "restart")."""
    return {name: jobs, "awaiting": {job.id: step for job in jobs if (step := imports.awaiting(job))}}


# --- Association staff -----------------------------------------------------------------------------

def association_queue(user, today: date) -> dict:
    """Fees unpaid this 年度, programs still to come, active members who gave no consent to contact."""
    year = fiscal_year.fiscal_year_of(today)
    unpaid = scoped(MembershipFee, user).where(MembershipFee.fiscal_year == year, MembershipFee.paid_on.is_(None))
    upcoming = scoped(Program, user).where(Program.starts_at >= clock.start_of(today),
                                           Program.status != ProgramStatus.CANCELLED)
    no_consent = scoped(Member, user).where(Member.consent_to_contact.is_(False), Member.status == MemberStatus.ACTIVE)
    return {
        "queue_year": year,
        "unpaid_fees": _listed(unpaid.order_by(MembershipFee.id)),
        "payment_methods": PaymentMethod,
        "unpaid_count": _count(unpaid),
        "unpaid_total": db.session.scalar(select(func.coalesce(func.sum(MembershipFee.amount_due), 0))
                                          .where(MembershipFee.id.in_(unpaid.with_only_columns(MembershipFee.id)))),
        "upcoming_programs": _listed(upcoming.order_by(Program.starts_at, Program.id), 5),
        "without_consent": _listed(no_consent.order_by(Member.name_kana, Member.name, Member.id)),
        "without_consent_count": _count(no_consent),
    }


# --- Ministry reviewer -----------------------------------------------------------------------------

def national_headline() -> dict:
    """The national totals of the report's default 年度 against the year before, as the national
    dashboard publishes them (disclosure control applied: a hidden figure stays hidden, and so does
    its change). None for the figures when the year cannot be shown."""
    filters = returns.Filters.parse({}, returns.default_year())
    year = filters.fiscal_year
    try:
        data = returns.national(filters)
    except DisclosureError:
        return {"queue_year": year, "rows": None}
    now, before = data["trend"].get(year, {}), data["trend"].get(year - 1, {})
    rows = [(key, now.get(key), before.get(key), returns.change(now.get(key), before.get(key))) for key in HEADLINE]
    return {"queue_year": year, "rows": rows}


# --- Administrators --------------------------------------------------------------------------------

def admin_queue(user) -> dict:
    """Accounts by role, the latest refusals (audit 'denied') and the import jobs that failed."""
    return {
        "users_by_role": dict(db.session.execute(
            scoped(User, user).where(User.active).with_only_columns(User.role, func.count()).group_by(User.role)).all()),
        "denials": _listed(select(AuditEntry).where(AuditEntry.action == "denied")
                           .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())),
        **_imports(_listed(scoped(ImportJob, user).where(ImportJob.state == JobState.FAILED)
                           .order_by(ImportJob.created_at.desc(), ImportJob.id.desc())), "failed_imports"),
    }
