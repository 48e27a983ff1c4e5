"""Who may see and change what — the one place that decides.

Three layers, all here:
1. Every endpoint declares who may call it (`@public` or `@roles(...)`); `check_endpoint` runs
   before each request and refuses what is not declared (fail closed).
2. Every query for records with personal data starts from `scoped(Model)`, which narrows it to the
   current user's prefecture or association; ministry reviewers get nothing personal at all.
3. `load(Model, id)` fetches one record through the scope and answers 404 outside it, the same
   answer as for a record that does not exist.
Denials are logged and recorded in the audit trail.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from flask import abort, current_app, request
from flask_login import current_user
from sqlalchemy import Select, and_, any_, exists, false, func, or_, select, true

from crm import audit
from crm.alumni.models import AlumniGroup, Alumnus, ContactEntry, JapanAlumniAssociation, Placement
from crm.ambassadors.models import Activity, Ambassador, Investment
from crm.associations.models import Association, FundingLine, Member, MembershipFee, Program, ProgramAlumnus
from crm.imports.models import ExportJob, ImportJob
from crm.privacy.models import PrivacyRequest
from crm.outreach.models import ConsentEvent, MailingList, Rsvp, Send, Subscription
from crm.selfservice.models import SelfUpdate
from crm.auth.models import Role, User
from crm.db import request_int, utcnow
from crm.extensions import db, login_manager
from crm.reference.models import JIS_CODES

log = logging.getLogger("crm.access")

PUBLIC = "public"
ALL_ROLES = frozenset(Role)
STAFF = frozenset({Role.ADMIN, Role.PREFECTURE_STAFF, Role.ASSOCIATION_STAFF})


def public(view: Callable) -> Callable:
    """Anyone may call this endpoint, signed in or not."""
    view.access_roles = PUBLIC
    return view


def roles(*allowed: Role) -> Callable[[Callable], Callable]:
    """Only signed-in users with one of these roles may call the endpoint."""

    def decorate(view: Callable) -> Callable:
        view.access_roles = frozenset(allowed)
        return view

    return decorate


def endpoint_roles(endpoint: str):
    """What an endpoint declared: PUBLIC, a set of roles, or None (undeclared: nobody)."""
    view = current_app.view_functions.get(endpoint)
    return getattr(view, "access_roles", None)


def may(endpoint: str, user=None) -> bool:
    """May the user open this endpoint? The declaration `check_endpoint` enforces, asked by templates
    before they show a link or a form that leads there."""
    user = user if user is not None else current_user
    allowed = endpoint_roles(endpoint)
    if allowed == PUBLIC:
        return True
    return allowed is not None and getattr(user, "is_authenticated", False) and user.role in allowed


def navigation_scope(user=None) -> tuple:
    """Everything this module's answers for the navigation depend on (`may`, `own_prefecture`,
    `own_association`): pages with the same scope show the same links (crm.navigation keeps them)."""
    user = user if user is not None else current_user
    return getattr(user, "role", None), own_prefecture(user), own_association(user)


def own_prefecture(user=None) -> int | None:
    """The prefecture whose office the user works in (prefecture staff), else None."""
    user = user if user is not None else current_user
    return user.prefecture_id if getattr(user, "role", None) == Role.PREFECTURE_STAFF else None


def own_association(user=None) -> int | None:
    """The association the user works for (association staff), else None."""
    user = user if user is not None else current_user
    return user.association_id if getattr(user, "role", None) == Role.ASSOCIATION_STAFF else None


def check_endpoint():
    """before_request: enforce the endpoint's declaration."""
    if request.endpoint is None or request.endpoint == "static":
        return None
    allowed = endpoint_roles(request.endpoint)
    if allowed == PUBLIC:
        return None
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if allowed is None:
        log.error("endpoint %s declares no access rule; refused", request.endpoint)
        deny("undeclared endpoint", status=403)
    if current_user.role not in allowed:
        deny("role not allowed", status=403)
    return None


def deny(reason: str, status: int = 404, record_type: str | None = None, record_id=None):
    """Log and record a refusal, then abort. 404 hides whether the record exists."""
    user = current_user.email if current_user.is_authenticated else "anonymous"
    log.warning(
        "access denied: %s %s by %s (%s)",
        request.method,
        audit.for_log(request.path),
        audit.for_log(user),
        reason,
    )
    # Whatever this request did so far is abandoned; the denial itself is kept.
    db.session.rollback()
    audit.record_event("denied", record_type, record_id, path=request.path, method=request.method, reason=reason)
    db.session.commit()
    abort(status)


# --- Scopes: which rows of each model a user reaches -------------------------------------------

def _user_scope(user: User):
    # Accounts are personal data: administrators manage them all, everyone else sees only their own.
    return true() if user.role == Role.ADMIN else User.id == user.id


def _association_scope(user: User):
    if user.role in (Role.ADMIN, Role.MINISTRY_REVIEWER):
        # An association's registry entry is organisational, not personal: the ministry may read the
        # registry (name, kind, size, staff numbers) but never its members, fees or programs.
        return true()
    return _own_associations(Association.id, user)


def _own_associations(association_id_column, user: User):
    """Rows whose association the user works with: admin all, prefecture staff their prefecture's,
    association staff their own, the ministry none (members, fees and programs are not aggregates)."""
    if user.role == Role.ADMIN:
        return true()
    if user.role == Role.PREFECTURE_STAFF:
        return association_id_column.in_(select(Association.id).where(Association.prefecture_id == user.prefecture_id))
    if user.role == Role.ASSOCIATION_STAFF:
        return association_id_column == user.association_id
    return false()


def _member_scope(user: User):
    return _own_associations(Member.association_id, user)


def _fee_scope(user: User):
    return MembershipFee.member_id.in_(select(Member.id).where(_member_scope(user)))


def _program_scope(user: User):
    return _own_associations(Program.association_id, user)


def _funding_line_scope(user: User):
    return FundingLine.program_id.in_(select(Program.id).where(_program_scope(user)))


SCOPES: dict[type, Callable] = {
    User: _user_scope,
    Association: _association_scope,
    Member: _member_scope,
    MembershipFee: _fee_scope,
    Program: _program_scope,
    FundingLine: _funding_line_scope,
}


def works_in_associations(user=None) -> bool:
    """Staff work inside the associations they reach; the ministry only reads the registry."""
    user = user if user is not None else current_user
    return getattr(user, "role", None) in STAFF


def load_editable_association(record_id, user=None) -> Association:
    """An association the user may work inside (members, fees, programs, settings), else 404."""
    user = user if user is not None else current_user
    association = load(Association, record_id, user)
    if not works_in_associations(user):
        deny("registry only", 404, Association.__tablename__, association.id)
    return association


def creatable_prefectures(user=None) -> list[int] | None:
    """Prefectures a user may register a new association in: None means any (administrators)."""
    user = user if user is not None else current_user
    if user.role == Role.ADMIN:
        return None
    if user.role == Role.PREFECTURE_STAFF:
        return [user.prefecture_id]
    return []


def scope_clause(model: type, user=None):
    """The WHERE clause restricting `model` to what `user` (default: the current user) may reach."""
    user = user if user is not None else current_user
    if not getattr(user, "is_authenticated", False):
        return false()
    return SCOPES[model](user)


def scoped(model: type, user=None) -> Select:
    """`select(model)` narrowed to the user's scope: the start of every list, search, count, export."""
    return select(model).where(scope_clause(model, user))


def scoped_rows(model: type, ids, user=None) -> Select:
    """`scoped(model)` for the rows with these ids (a page that a scoped query found): the ids lead
    and each row's scope is checked on its own. On PostgreSQL the list's form of a prefecture's
    alumni scope (ANY(ARRAY(…)), built to start from the prefecture) would walk all of the
    prefecture's ids beside the page's few."""
    user = user if user is not None else current_user
    statement = select(model).where(model.id.in_(ids))
    if model is Alumnus and getattr(user, "is_authenticated", False) and user.role == Role.PREFECTURE_STAFF:
        return statement.where(exists().where(Placement.alumnus_id == Alumnus.id,
                                              Placement.prefecture_id == user.prefecture_id))
    return statement.where(scope_clause(model, user))


def load(model: type, record_id, user=None):
    """One record through the scope, or 404 (logged) whether it is missing or out of scope."""
    key = request_int(record_id)
    if key is None:
        abort(404)
    record = db.session.scalar(scoped(model, user).where(model.id == key))
    if record is None:
        exists = db.session.get(model, key) is not None
        deny("out of scope" if exists else "no such record", 404, model.__tablename__, key)
    return record


def load_many(model: type, record_ids, user=None) -> list:
    """Several records through the scope (bulk actions): all of them, or 404 and nothing done."""
    keys = {request_int(record_id) for record_id in record_ids}
    if None in keys:
        abort(404)
    records = list(db.session.scalars(scoped(model, user).where(model.id.in_(keys)))) if keys else []
    if len(records) != len(keys):
        deny("bulk selection outside scope", 404, model.__tablename__, ",".join(map(str, sorted(keys))))
    return records


def can_edit_reference_data(user=None) -> bool:
    """Organisational reference lists (Japan alumni associations abroad) are edited by administrators."""
    user = user if user is not None else current_user
    return getattr(user, "role", None) == Role.ADMIN


# --- Alumni ----------------------------------------------------------------------------------------


def _alumnus_scope(user: User):
    # Prefecture staff reach the alumni who served in their prefecture (any placement there).
    if user.role == Role.ADMIN:
        return true()
    if user.role == Role.PREFECTURE_STAFF:
        served = select(Placement.alumnus_id).where(Placement.prefecture_id == user.prefecture_id)
        if db.session.get_bind().dialect.name == "postgresql":
            # PostgreSQL prices the prefecture's thousands of primary-key lookups above a scan of the
            # whole registry, so an IN became a hash join over every alumnus. ANY(ARRAY(…)) runs the
            # placements index first and hands the ids to the primary key.
            return Alumnus.id == any_(func.array(served.scalar_subquery()))
        # IN rather than EXISTS: the database starts from the prefecture's placements (an index)
        # instead of testing every alumnus in the country.
        return Alumnus.id.in_(served)
    return false()


def _placement_scope(user: User):
    # Every placement of a reachable alumnus, including those in other prefectures (their history).
    if user.role == Role.ADMIN:
        return true()
    if user.role == Role.PREFECTURE_STAFF:
        return Placement.alumnus_id.in_(select(Alumnus.id).where(_alumnus_scope(user)))
    return false()


def _contact_entry_scope(user: User):
    # A prefecture's contact log and notes are its own, even for an alumnus it shares with another.
    if user.role == Role.ADMIN:
        return true()
    if user.role == Role.PREFECTURE_STAFF:
        reachable = exists().where(Placement.alumnus_id == ContactEntry.alumnus_id, Placement.prefecture_id == user.prefecture_id)
        return (ContactEntry.prefecture_id == user.prefecture_id) & reachable
    return false()


def _alumni_group_scope(user: User):
    if user.role == Role.ADMIN:
        return true()
    if user.role == Role.PREFECTURE_STAFF:
        return AlumniGroup.prefecture_id == user.prefecture_id
    return false()


def _japan_alumni_association_scope(user: User):
    # Organisational data: every staff role reads it; the ministry sees aggregates only.
    return true() if user.role in STAFF else false()


def _program_alumnus_scope(user: User):
    # Who took part in a program is the alumnus's personal data: a link is visible only to those who
    # reach both the program and the alumnus. Association staff never reach the alumni registry; they
    # get the number of linked alumni only (crm.associations.operations.linked_alumni).
    if user.role == Role.ADMIN:
        return true()
    if user.role == Role.PREFECTURE_STAFF:
        return ProgramAlumnus.alumnus_id.in_(select(Alumnus.id).where(_alumnus_scope(user))) & ProgramAlumnus.program_id.in_(
            select(Program.id).where(_program_scope(user)))
    return false()


# Roles that reach the alumni registry (through the alumni scope).
ALUMNI_ROLES = (Role.ADMIN, Role.PREFECTURE_STAFF)


def reaches_alumni(user=None) -> bool:
    """May the user see individual alumni at all (administrators and prefecture staff)?"""
    user = user if user is not None else current_user
    return getattr(user, "role", None) in ALUMNI_ROLES


def may_place_in(prefecture_id, user=None) -> bool:
    """May the user record a placement in this prefecture (a new person's first, another of a person
    they reach, or an existing one moved there)? Prefecture staff only in their own: a placement is
    what puts a person in a prefecture's registry, so one elsewhere would hand the person (contact
    details, history) to another office. Sharing a person with another prefecture is an
    administrator's action (recorded in the audit trail as "share")."""
    user = user if user is not None else current_user
    role = getattr(user, "role", None)
    if role == Role.ADMIN:
        return True
    return role == Role.PREFECTURE_STAFF and prefecture_id == user.prefecture_id


def may_edit_placement(placement: Placement, user=None) -> bool:
    """May the user change this placement at all? Staff see the placements a person had elsewhere (their
    history) but those are the other office's records: they edit only their own prefecture's."""
    return may_place_in(placement.prefecture_id, user)


def editable_placements(user=None):
    """`may_edit_placement` as an SQL condition on Placement: the placements a person's exports carry
    for the user (a re-import writes placements back where they came from)."""
    user = user if user is not None else current_user
    role = getattr(user, "role", None)
    if role == Role.ADMIN:
        return true()
    if role == Role.PREFECTURE_STAFF:
        return Placement.prefecture_id == user.prefecture_id
    return false()


def load_editable_placement(record_id, user=None) -> Placement:
    """A placement the user may change (its own prefecture's for staff), else 403: the placement is
    visible to them as the person's history, so hiding it with a 404 would be a lie."""
    user = user if user is not None else current_user
    placement = load(Placement, record_id, user)
    if not may_edit_placement(placement, user):
        deny("placement of another prefecture", 403, Placement.__tablename__, placement.id)
    return placement


def reaches_whole_registry(user=None) -> bool:
    """Does the user's alumni scope hold the whole registry (administrators), rather than one
    prefecture's share of it?"""
    user = user if user is not None else current_user
    return getattr(user, "role", None) == Role.ADMIN


SCOPES.update({
    ProgramAlumnus: _program_alumnus_scope,
    Alumnus: _alumnus_scope,
    Placement: _placement_scope,
    ContactEntry: _contact_entry_scope,
    AlumniGroup: _alumni_group_scope,
    JapanAlumniAssociation: _japan_alumni_association_scope,
})


# --- Ambassadors, activities, investment -----------------------------------------------------------


def _owned_by_prefecture(column):
    """Records a prefecture owns: its own staff reach them, administrators all, nobody else."""

    def scope(user: User):
        if user.role == Role.ADMIN:
            return true()
        if user.role == Role.PREFECTURE_STAFF:
            return column == user.prefecture_id
        # The ministry never sees an individual activity or appointment, only report aggregates.
        return false()

    return scope


SCOPES.update({
    Ambassador: _owned_by_prefecture(Ambassador.prefecture_id),
    Activity: _owned_by_prefecture(Activity.prefecture_id),
    Investment: _owned_by_prefecture(Investment.prefecture_id),
    # An APPI request is the receiving prefecture's record (another prefecture's request is a 404).
    PrivacyRequest: _owned_by_prefecture(PrivacyRequest.prefecture_id),
})

# Who reads the return report and the national dashboard (aggregates only).
REPORT_ROLES = (Role.ADMIN, Role.PREFECTURE_STAFF, Role.MINISTRY_REVIEWER)


def may_open_report(prefecture_id: int, user=None) -> bool:
    """May the user open this prefecture's return report? Prefecture staff only their own."""
    user = user if user is not None else current_user
    if prefecture_id not in JIS_CODES or not may("reports.prefecture_report", user):
        return False
    return user.role != Role.PREFECTURE_STAFF or prefecture_id == user.prefecture_id


def report_prefecture(prefecture_id, user=None) -> int:
    """The prefecture whose return report the user may open, or 404."""
    try:
        key = int(prefecture_id)
    except (TypeError, ValueError):
        abort(404)
    if not may_open_report(key, user):
        deny("report outside scope", 404, "prefectures", prefecture_id)
    return key


def chosen_prefecture(value: str | None, user=None) -> str:
    """The prefecture (JIS code, as requested) an administrator narrows a national export to, "" for
    all; 404 for no such prefecture. Everyone else's exports follow their scope, so they choose none."""
    user = user if user is not None else current_user
    if not value or not reaches_whole_registry(user):
        return ""
    if not (value.isdigit() and int(value) in JIS_CODES):
        abort(404)
    return value


def sees_full_report(prefecture_id: int, user=None) -> bool:
    """Unsuppressed figures and notable activities: an administrator, or staff of that prefecture.
    Everyone else (the ministry) gets statistical disclosure control and no individual's text."""
    user = user if user is not None else current_user
    if user.role == Role.ADMIN:
        return True
    return user.role == Role.PREFECTURE_STAFF and user.prefecture_id == prefecture_id


def may_filter_report(prefecture_id: int | None = None, user=None) -> bool:
    """Filters by position or country of residence: only on a report the user sees in full. Anyone
    under disclosure control (the ministry; everyone on the national figures) gets the unfiltered
    tables only: each filter gives new totals to subtract from the others (crm.reports.protection)."""
    return prefecture_id is not None and sees_full_report(prefecture_id, user)


# --- Import jobs -----------------------------------------------------------------------------------


def _import_job_scope(user: User):
    # A job holds the uploaded file's rows: the importing prefecture's office sees its own jobs.
    if user.role == Role.ADMIN:
        return true()
    if user.role == Role.PREFECTURE_STAFF:
        return ImportJob.prefecture_id == user.prefecture_id
    if user.role == Role.ASSOCIATION_STAFF:
        # Association staff import their own association's members: their own jobs only.
        return ImportJob.created_by_id == user.id
    return false()


SCOPES[ImportJob] = _import_job_scope


def _export_job_scope(user: User):
    # The file holds what its requester reached when asking: they alone download it, while they still
    # stand where they stood (same prefecture, same association), and until it expires.
    cutoff = utcnow() - timedelta(days=current_app.config["EXPORT_KEEP_DAYS"])
    return and_(ExportJob.created_by_id == user.id, ExportJob.prefecture_id.is_not_distinct_from(user.prefecture_id),
                ExportJob.association_id.is_not_distinct_from(user.association_id), ExportJob.created_at >= cutoff)


SCOPES[ExportJob] = _export_job_scope


# --- The register of personal information files, and retention -----------------------------------


def register_prefecture(value, user=None) -> int | None:
    """The prefecture whose register of personal information files (個人情報ファイル簿) the user reads:
    prefecture staff their own (asking for another's is a 404), an administrator the one chosen
    (None until one is)."""
    user = user if user is not None else current_user
    if user.role == Role.PREFECTURE_STAFF:
        if value not in (None, "") and str(value) != str(user.prefecture_id):
            deny("file register outside scope", 404, "prefectures", value)
        return user.prefecture_id
    if value in (None, ""):
        return None
    if not (str(value).isdigit() and int(value) in JIS_CODES):
        abort(404)
    return int(value)


def anonymisable(user=None):
    """The alumni the user may anonymise, as a condition on Alumnus. Administrators: any. Prefecture
    staff: only a person whose every placement, contact entry, appointment and activity is their own
    prefecture's. Anonymising clears a person's records for every prefecture at once, so a person
    shared with another prefecture is anonymised by an administrator, who answers for both."""
    user = user if user is not None else current_user
    if user.role == Role.ADMIN:
        return true()
    if user.role != Role.PREFECTURE_STAFF:
        return false()
    own = user.prefecture_id
    elsewhere = [exists().where(model.alumnus_id == Alumnus.id, model.prefecture_id != own)
                 for model in (Placement, ContactEntry, Ambassador, Activity)]
    return scope_clause(Alumnus, user) & ~or_(*elsewhere)


# --- Outreach: mailing lists, subscribers, sends ---------------------------------------------------


def _mailing_list_scope(user: User):
    # A list is its owner's: prefecture staff their prefecture's lists, association staff their
    # association's. The ministry reaches no list (counts per prefecture only: may_see_outreach_counts).
    if user.role == Role.ADMIN:
        return true()
    if user.role == Role.PREFECTURE_STAFF:
        return MailingList.prefecture_id == user.prefecture_id
    if user.role == Role.ASSOCIATION_STAFF:
        return MailingList.association_id == user.association_id
    return false()


def _in_scoped_lists(list_id_column):
    def scope(user: User):
        if user.role == Role.ADMIN:
            return true()
        if user.role not in STAFF:
            return false()
        return list_id_column.in_(select(MailingList.id).where(_mailing_list_scope(user)))

    return scope


def _consent_event_scope(user: User):
    if user.role == Role.ADMIN:
        return true()
    return ConsentEvent.subscription_id.in_(select(Subscription.id).where(_in_scoped_lists(Subscription.list_id)(user)))


SCOPES.update({
    MailingList: _mailing_list_scope,
    Subscription: _in_scoped_lists(Subscription.list_id),
    Send: _in_scoped_lists(Send.list_id),
    ConsentEvent: _consent_event_scope,
    Rsvp: _in_scoped_lists(select(Send.list_id).where(Send.id == Rsvp.send_id).scalar_subquery()),
})


def list_owner_for_new(user=None) -> dict | None:
    """The owner a new list of the user gets: staff their prefecture or association; None: may not."""
    user = user if user is not None else current_user
    if user.role == Role.PREFECTURE_STAFF:
        return {"prefecture_id": user.prefecture_id}
    if user.role == Role.ASSOCIATION_STAFF:
        return {"association_id": user.association_id}
    return None


def sees_outreach_counts_only(user=None) -> bool:
    """The ministry reads outreach as counts per prefecture, under disclosure control, and nothing else."""
    user = user if user is not None else current_user
    return getattr(user, "role", None) == Role.MINISTRY_REVIEWER


# --- Self-updates (what people changed through their personal links) ------------------------------


def _self_update_scope(user: User):
    """A self-update is for the staff who keep the record it changed, to see and undo: an alumnus's
    for the prefectures they served in (a reported activity only for the prefecture it was reported
    to), an association member's for that association's staff. Prefecture staff reach no member's
    self-update, association staff no alumnus's; administrators reach all, the ministry none."""
    if user.role == Role.ADMIN:
        return true()
    if user.role == Role.PREFECTURE_STAFF:
        served = exists().where(Placement.alumnus_id == SelfUpdate.alumnus_id, Placement.prefecture_id == user.prefecture_id)
        return and_(served, or_(SelfUpdate.prefecture_id.is_(None), SelfUpdate.prefecture_id == user.prefecture_id))
    if user.role == Role.ASSOCIATION_STAFF:
        return SelfUpdate.member_id.in_(select(Member.id).where(Member.association_id == user.association_id))
    return false()


SCOPES[SelfUpdate] = _self_update_scope
