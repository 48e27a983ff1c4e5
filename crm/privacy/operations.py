"""APPI requests: recording, the deadline, extension, decision and the lists of what is due.

The deadline is counted as the law counts it: 30 days from the day after receipt (the day of receipt
is not counted, Civil Code art. 140), so a request received on 15 March is due on 14 April — in the
next 年度 — and one received on 31 January on 2 March (1 March in a leap year). An extension adds up
to 30 days to that. Dates are Japan's (crm.clock).

Decisions act through the alumni domain's own operations, so the change is audited like any edit:
granting a suspension of use sets the person's cease of use (利用停止) that day.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import case, func, select

from crm.access import scoped
from crm.alumni import operations as alumni_operations
from crm.alumni.models import Alumnus
from crm.audit import AuditEntry
from crm.extensions import db
from crm.privacy.models import ANSWER_DAYS, Decision, PrivacyRequest, RequestKind, RequestStatus
from crm.reference.models import Prefecture

# "Due this week": the deadline falls within the next seven days, today included.
WEEK = 7
REQUEST_SORTS = {
    "received": PrivacyRequest.received_on,
    "due": PrivacyRequest.due_on,
    "kind": PrivacyRequest.kind,
    "status": PrivacyRequest.status,
}
STATUS_FILTERS = tuple(status.value for status in RequestStatus)


def due_date(received_on: date, extension_days: int | None = None) -> date:
    """The day by which the request must be decided."""
    return received_on + timedelta(days=ANSWER_DAYS + (extension_days or 0))


def request_query(status: str = ""):
    """The user's requests (their prefecture's; administrators every prefecture's), optionally by status."""
    statement = scoped(PrivacyRequest)
    if status in STATUS_FILTERS:
        statement = statement.where(PrivacyRequest.status == RequestStatus(status))
    return statement


def record_request(prefecture_id: int, alumnus: Alumnus, user, values: dict) -> PrivacyRequest:
    """A request received by `prefecture_id` about `alumnus` (loaded through the user's scope)."""
    request = PrivacyRequest(prefecture_id=prefecture_id, alumnus_id=alumnus.id, recorded_by_id=user.id,
                             status=RequestStatus.OPEN, **values)
    request.due_on = due_date(request.received_on)
    db.session.add(request)
    db.session.flush()
    return request


def set_fields(request: PrivacyRequest, values: dict) -> None:
    """Apply a section's validated values; the deadline follows the received date and the extension."""
    for key, value in values.items():
        setattr(request, key, value)
    request.due_on = due_date(request.received_on, request.extension_days)


def decide(request: PrivacyRequest, values: dict, today: date) -> None:
    """Record the decision and its reason; a granted suspension of use ceases the use of the person's
    data today, through the alumni domain's operation (audited as a change of the record)."""
    decision = values.get("decision")
    if decision is None:
        set_fields(request, values | {"decided_on": None, "status": RequestStatus.OPEN})
        return
    set_fields(request, values | {"decided_on": request.decided_on or today, "status": RequestStatus.DECIDED})
    granted = decision in (Decision.GRANTED, Decision.PARTLY_GRANTED)
    if request.kind == RequestKind.SUSPENSION and granted and request.alumnus is not None:
        alumni_operations.set_fields(request.alumnus, {"cease_use": True})


def withdraw(request: PrivacyRequest, today: date) -> bool:
    """The requester withdrew an open request (a decided one stays decided): → whether it was open."""
    if request.status != RequestStatus.OPEN:
        return False
    set_fields(request, {"status": RequestStatus.WITHDRAWN, "decided_on": today})
    return True


@dataclass
class Due:
    overdue: list[PrivacyRequest]
    this_week: list[PrivacyRequest]

    def __bool__(self) -> bool:
        return bool(self.overdue or self.this_week)


def requests_due(user, today: date) -> Due:
    """Open requests in the user's scope past their deadline, and those due within the week."""
    statement = (scoped(PrivacyRequest, user)
                 .where(PrivacyRequest.status == RequestStatus.OPEN, PrivacyRequest.due_on < today + timedelta(days=WEEK))
                 .order_by(PrivacyRequest.due_on, PrivacyRequest.id))
    rows = list(db.session.scalars(statement))
    return Due([row for row in rows if row.due_on < today], [row for row in rows if row.due_on >= today])


@dataclass
class PrefectureCounts:
    prefecture: Prefecture
    open: int
    overdue: int
    this_week: int


def overview(today: date) -> list[PrefectureCounts]:
    """Open, overdue and due-this-week requests per prefecture that has any open request."""
    is_open = PrivacyRequest.status == RequestStatus.OPEN
    statement = (
        select(Prefecture,
               func.count().label("open"),
               func.sum(case((PrivacyRequest.due_on < today, 1), else_=0)),
               func.sum(case((PrivacyRequest.due_on.between(today, today + timedelta(days=WEEK - 1)), 1), else_=0)))
        .join(PrivacyRequest, PrivacyRequest.prefecture_id == Prefecture.id)
        .where(is_open).group_by(Prefecture.id).order_by(Prefecture.id)
    )
    return [PrefectureCounts(prefecture, count, overdue or 0, week or 0)
            for prefecture, count, overdue, week in db.session.execute(statement)]


def history(request: PrivacyRequest) -> list[AuditEntry]:
    """The request's own audit trail, oldest first."""
    return list(db.session.scalars(
        select(AuditEntry).where(AuditEntry.record_type == PrivacyRequest.__tablename__,
                                 AuditEntry.record_id == str(request.id))
        .order_by(AuditEntry.at, AuditEntry.id)))
