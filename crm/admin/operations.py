"""Queries behind the administration screens."""
from __future__ import annotations

from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select

from crm import clock
from crm.access import scoped
from crm.audit import AuditEntry
from crm.auth.models import Role, User

# Dates in the filter are Japanese calendar days, whatever zone the server runs in.

AUDIT_ACTIONS = {
    "create": _l("Created"),
    "update": _l("Changed"),
    "delete": _l("Deleted"),
    "view": _l("Viewed"),
    "export": _l("Exported"),
    "import": _l("Imported"),
    "merge": _l("Merged"),
    "anonymise": _l("Anonymised"),
    "link_sent": _l("Personal link sent"),
    "link_revoked": _l("Personal links revoked"),
    "confirm_mailing": _l("Confirmation requests sent"),
    "self_update_undone": _l("Self-update undone"),
    "rsvp_answered": _l("Invitation answered"),
    "member_confirmed": _l("Member confirmed their details"),
    "outreach_send": _l("Newsletter sent"),
    "outreach_test_send": _l("Test newsletter sent"),
    "outreach_link_attendees": _l("Invitation attendees linked to a program"),
    "share": _l("Shared with a prefecture"),
    "login": _l("Signed in"),
    "login_failed": _l("Failed sign-in"),
    "logout": _l("Signed out"),
    "denied": _l("Access denied"),
}

USER_SORTS = {
    "email": User.email,
    "name": User.display_name,
    "role": User.role,
    "last_login": User.last_login_at,
    "created": User.created_at,
}


def user_query(search: str = "", role: str = "", status: str = ""):
    statement = scoped(User)
    if search:
        pattern = f"%{search.strip().lower()}%"
        statement = statement.where(or_(User.email.like(pattern), User.display_name.ilike(pattern)))
    if role in {r.value for r in Role}:
        statement = statement.where(User.role == Role(role))
    if status == "active":
        statement = statement.where(User.active.is_(True))
    elif status == "inactive":
        statement = statement.where(User.active.is_(False))
    return statement


AUDIT_SORTS = {"at": AuditEntry.at}


def audit_query(actor=None, action=None, record_type=None, record_id=None, since=None, until=None):
    # The trail holds personal data about staff; only administrators reach this (see views).
    statement = select(AuditEntry)
    if actor:
        statement = statement.where(AuditEntry.actor.ilike(f"%{actor.strip()}%"))
    if action in AUDIT_ACTIONS:
        statement = statement.where(AuditEntry.action == action)
    if record_type:
        statement = statement.where(AuditEntry.record_type == record_type.strip())
    if record_id:
        statement = statement.where(AuditEntry.record_id == record_id.strip())
    if since:
        statement = statement.where(AuditEntry.at >= clock.start_of(since))
    if until:
        statement = statement.where(AuditEntry.at < clock.start_of(until + timedelta(days=1)))
    return statement
