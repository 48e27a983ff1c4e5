"""Rules for associations, members, annual fees and programs: every change goes through here.

Operations take explicit arguments (never a form), check the invariants the database also enforces
(so the user gets a clear message rather than an integrity error) and leave committing to the view.
"""
from __future__ import annotations

import calendar
import hashlib
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask_babel import format_date, gettext as _
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import selectinload

from crm import clock, signals
from crm.access import creatable_prefectures, reaches_alumni, scoped
from crm.alumni.models import Alumnus
from crm.associations.models import (
    Association,
    AssociationKind,
    FundingLine,
    FundingSource,
    Member,
    MemberKind,
    MemberStatus,
    MemberType,
    MembershipFee,
    MunicipalitySize,
    PartnerKind,
    PaymentMethod,
    Program,
    ProgramAlumnus,
    ProgramKind,
    ProgramPartner,
    ProgramStatus,
    Secretariat,
)
from crm.extensions import db
from crm.reference import fiscal_year as fy



class AssociationError(Exception):
    """A change the rules refuse; the message is translated and shown to the user."""


# --- Associations --------------------------------------------------------------------------------

ASSOCIATION_FIELDS = (
    "name_ja", "name_en", "municipality", "kind", "officially_recognised", "municipality_size", "secretariat",
    "staff_full_time", "staff_on_loan", "staff_volunteers", "contact", "website", "founded_year",
)
ASSOCIATION_SORTS = {
    "name": Association.name_ja,
    "prefecture": Association.prefecture_id,
    "kind": Association.kind,
}


def association_query(search: str = "", kind: str = "") -> Select:
    statement = scoped(Association)
    if search:
        pattern = f"%{search.strip()}%"
        statement = statement.where(or_(Association.name_ja.ilike(pattern), Association.name_en.ilike(pattern), Association.municipality.ilike(pattern)))
    if kind in {k.value for k in AssociationKind}:
        statement = statement.where(Association.kind == AssociationKind(kind))
    return statement


def _assign(record, values: dict, fields: tuple[str, ...], required: tuple[str, ...] = ()) -> None:
    """Copy the named fields from `values`; text is trimmed, and empty optional text becomes None."""
    for key in fields:
        if key in values:
            value = values[key]
            if isinstance(value, str):
                value = value.strip() if key in required else (value.strip() or None)
            setattr(record, key, value)


def _apply_association_fields(association: Association, values: dict) -> None:
    _assign(association, values, ASSOCIATION_FIELDS, required=("name_ja", "name_en"))
    for key in ("staff_full_time", "staff_on_loan", "staff_volunteers"):
        if (getattr(association, key) or 0) < 0:
            raise AssociationError(_("Staff numbers cannot be negative."))
    association.kind = AssociationKind(association.kind)
    association.secretariat = Secretariat(association.secretariat)
    if association.municipality_size:
        association.municipality_size = MunicipalitySize(association.municipality_size)


def create_association(prefecture_id: int, values: dict, user=None) -> Association:
    allowed = creatable_prefectures(user)
    if allowed is not None and prefecture_id not in allowed:
        raise AssociationError(_("You may register associations only in your own prefecture."))
    association = Association(prefecture_id=prefecture_id)
    _apply_association_fields(association, values)
    db.session.add(association)
    db.session.flush()
    return association


def update_association(association: Association, values: dict) -> None:
    _apply_association_fields(association, values)
    db.session.flush()


# --- The calendar feed token ---------------------------------------------------------------------

def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def regenerate_feed_token(association: Association) -> str:
    """A new feed token (returned once, never stored); the previous one stops working."""
    token = secrets.token_urlsafe(32)
    association.feed_token_hash = _token_hash(token)
    db.session.flush()
    return token


def revoke_feed_token(association: Association) -> None:
    association.feed_token_hash = None
    db.session.flush()


def association_for_feed(token: str) -> Association | None:
    if not token or len(token) > 100:
        return None
    return db.session.scalar(select(Association).where(Association.feed_token_hash == _token_hash(token)))


# --- Members -------------------------------------------------------------------------------------

MEMBER_FIELDS = (
    "kind", "member_type", "name", "name_kana", "joined_on", "status", "email", "phone", "postal_code", "address",
    "consent_to_contact",
)
MEMBER_SORTS = {
    # By reading where one is recorded (あいうえお順), else by the name as written.
    "name": func.coalesce(func.nullif(Member.name_kana, ""), Member.name),
    "kind": Member.kind,
    "joined": Member.joined_on,
    "status": Member.status,
}


def member_query(association: Association, search: str = "", status: str = "") -> Select:
    statement = scoped(Member).where(Member.association_id == association.id)
    if search:
        pattern = f"%{search.strip()}%"
        statement = statement.where(or_(Member.name.ilike(pattern), Member.name_kana.ilike(pattern), Member.email.ilike(pattern)))
    if status in {s.value for s in MemberStatus}:
        statement = statement.where(Member.status == MemberStatus(status))
    return statement


def _apply_member_fields(member: Member, values: dict) -> None:
    _assign(member, values, MEMBER_FIELDS, required=("name",))
    if not member.name:
        raise AssociationError(_("A member needs a name."))
    member.kind = MemberKind(member.kind)
    member.member_type = MemberType(member.member_type)
    member.status = MemberStatus(member.status)


def create_member(association: Association, values: dict) -> Member:
    member = Member(association_id=association.id, status=MemberStatus.ACTIVE)
    _apply_member_fields(member, values)
    db.session.add(member)
    db.session.flush()
    return member


def update_member(member: Member, values: dict) -> None:
    _apply_member_fields(member, values)
    db.session.flush()


# --- Annual fees ---------------------------------------------------------------------------------

@dataclass
class FeeSummary:
    fiscal_year: int
    members: int
    paid_members: int
    due: int
    collected: int

    @property
    def outstanding(self) -> int:
        return self.due - self.collected

    @property
    def collection_rate(self) -> float | None:
        return round(100 * self.collected / self.due, 1) if self.due else None


def _check_amount(amount) -> int:
    if amount is None or int(amount) < 0:
        raise AssociationError(_("An amount cannot be negative."))
    return int(amount)


def assess_fees(association: Association, fiscal_year: int, amount: int) -> int:
    """Add a fee of `amount` yen for the 年度 to every active member who has none yet; returns how many."""
    amount = _check_amount(amount)
    billed = select(MembershipFee.member_id).where(MembershipFee.fiscal_year == fiscal_year)
    members = db.session.scalars(
        member_query(association, status=MemberStatus.ACTIVE.value).where(Member.id.not_in(billed))
    ).all()
    for member in members:
        db.session.add(MembershipFee(member_id=member.id, fiscal_year=fiscal_year, amount_due=amount))
    db.session.flush()
    return len(members)


def ensure_unpaid(fee: MembershipFee) -> None:
    """A fee is paid once: paying it again is refused, not overwritten."""
    if fee.paid_on is not None:
        raise AssociationError(
            _("This fee was already paid on %(date)s (receipt %(receipt)s).", date=format_date(fee.paid_on), receipt=fee.receipt_number or "—")
        )


def cancel_payment(fee: MembershipFee) -> None:
    """Undo a payment recorded by mistake: the fee is unpaid again (the audit trail keeps what it was)."""
    if fee.paid_on is None:
        raise AssociationError(_("This fee is not paid."))
    fee.paid_on = fee.method = fee.receipt_number = None
    db.session.flush()


def pay_fee(fee: MembershipFee, paid_on: date, method: PaymentMethod | str, receipt_number: str | None = None, note: str | None = None) -> None:
    """Record the payment of a fee."""
    ensure_unpaid(fee)
    if paid_on is None:
        raise AssociationError(_("Enter the date of payment."))
    if paid_on > clock.today():
        raise AssociationError(_("The payment date cannot be in the future."))
    try:
        fee.method = PaymentMethod(method)
    except ValueError:
        raise AssociationError(_("Unknown payment method.")) from None
    fee.paid_on = paid_on
    fee.receipt_number = (receipt_number or "").strip() or None
    if note:
        fee.note = note.strip()
    db.session.flush()


def _fees(association: Association) -> Select:
    return scoped(MembershipFee).join(MembershipFee.member).where(Member.association_id == association.id)


def fee_query(association: Association, fiscal_year: int, unpaid_only: bool = False) -> Select:
    statement = _fees(association).where(MembershipFee.fiscal_year == fiscal_year)
    if unpaid_only:
        statement = statement.where(MembershipFee.paid_on.is_(None))
    return statement


FEE_SORTS = {"member": Member.name, "amount": MembershipFee.amount_due, "paid": MembershipFee.paid_on}


def fee_reminders(association: Association, fiscal_year: int) -> list[list]:
    """The 年度's unpaid fees as reminder rows: name, 年度, amount due, consent, then the contact
    details (email, phone, postal code, address) only of members who agreed to be contacted."""
    statement = fee_query(association, fiscal_year, unpaid_only=True).order_by(Member.name, MembershipFee.id)
    rows = []
    for fee in db.session.scalars(statement):
        member = fee.member
        contact = [member.email, member.phone, member.postal_code, member.address] if member.consent_to_contact else [None] * 4
        rows.append([member.name, fy.label(fiscal_year), fee.amount_due, member.consent_to_contact, *contact])
    return rows


def fee_summary(association: Association, fiscal_year: int) -> FeeSummary:
    return fee_summaries(association, [fiscal_year])[fiscal_year]


def fee_summaries(association: Association, fiscal_years) -> dict[int, FeeSummary]:
    """Fees billed, paid, due and collected per 年度, in one query (a year without fees: zeros)."""
    fees = _fees(association).where(MembershipFee.fiscal_year.in_(list(fiscal_years))).subquery()
    rows = db.session.execute(
        select(
            fees.c.fiscal_year,
            func.count(fees.c.id),
            func.count(fees.c.paid_on),
            func.coalesce(func.sum(fees.c.amount_due), 0),
            func.coalesce(func.sum(fees.c.amount_due).filter(fees.c.paid_on.is_not(None)), 0),
        ).group_by(fees.c.fiscal_year)
    )
    found = {year: FeeSummary(year, members, paid, int(due), int(collected)) for year, members, paid, due, collected in rows}
    return {year: found.get(year, FeeSummary(year, 0, 0, 0, 0)) for year in fiscal_years}


def fee_years(association: Association) -> list[int]:
    """The 年度 with fees, plus the current one, newest first."""
    years = set(
        db.session.scalars(
            scoped(MembershipFee).with_only_columns(MembershipFee.fiscal_year).join(MembershipFee.member)
            .where(Member.association_id == association.id).distinct()
        )
    )
    years.add(fy.current())
    return sorted(years, reverse=True)


# --- Programs ------------------------------------------------------------------------------------

PROGRAM_FIELDS = (
    "title_ja", "title_en", "kind", "starts_at", "ends_at", "venue", "status", "budget", "actual_cost",
    "participants_japanese", "participants_foreign", "volunteers", "outcome_notes",
)
PROGRAM_SORTS = {"starts": Program.starts_at, "title": Program.title_ja, "kind": Program.kind, "status": Program.status}


def tokyo_time(value: datetime) -> datetime:
    """A naive wall-clock time from a form is Japan time; an aware one is converted to it."""
    return value.replace(tzinfo=clock.TOKYO) if value.tzinfo is None else value.astimezone(clock.TOKYO)


def program_query(association: Association, status: str = "", kind: str = "") -> Select:
    statement = scoped(Program).where(Program.association_id == association.id)
    if status in {s.value for s in ProgramStatus}:
        statement = statement.where(Program.status == ProgramStatus(status))
    if kind in {k.value for k in ProgramKind}:
        statement = statement.where(Program.kind == ProgramKind(kind))
    return statement.options(selectinload(Program.funding_lines))


def _funding_lines(lines: list[dict]) -> list[FundingLine]:
    result = []
    for number, line in enumerate(lines, start=1):
        try:
            source = FundingSource(line.get("source"))
        except ValueError:
            raise AssociationError(_("Funding line %(number)s: unknown funding source “%(source)s”.", number=number, source=line.get("source"))) from None
        amount = line.get("amount")
        if amount is None or int(amount) <= 0:
            raise AssociationError(_("Funding line %(number)s: the amount must be more than 0 yen.", number=number))
        grantor = (line.get("grantor") or "").strip() or None
        if source == FundingSource.PRIVATE_GRANT and not grantor:
            raise AssociationError(_("Funding line %(number)s: a private foundation grant needs the grantor's name.", number=number))
        result.append(FundingLine(source=source, grantor=grantor, amount=int(amount)))
    return result


def _partners(partners: list[dict]) -> list[ProgramPartner]:
    result = []
    for partner in partners:
        try:
            kind = PartnerKind(partner.get("kind"))
        except ValueError:
            raise AssociationError(_("Unknown kind of partner “%(kind)s”.", kind=partner.get("kind"))) from None
        result.append(ProgramPartner(kind=kind, name=partner["name"].strip()))
    return result


def _apply_program_fields(program: Program, values: dict, funding_lines: list[dict], partners: list[dict]) -> None:
    _assign(program, values, PROGRAM_FIELDS, required=("title_ja",))
    if not program.title_ja:
        raise AssociationError(_("A program needs a Japanese title."))
    program.starts_at, program.ends_at = tokyo_time(program.starts_at), tokyo_time(program.ends_at)
    if program.ends_at < program.starts_at:
        raise AssociationError(_("The program cannot end before it starts."))
    for key in ("budget", "actual_cost", "participants_japanese", "participants_foreign", "volunteers"):
        if (getattr(program, key) or 0) < 0:
            raise AssociationError(_("Amounts and numbers of people cannot be negative."))
    program.kind = ProgramKind(program.kind)
    program.status = ProgramStatus(program.status)
    new_lines, new_partners = _funding_lines(funding_lines), _partners(partners)
    program.funding_lines[:] = new_lines
    program.partners[:] = new_partners


def create_program(association: Association, values: dict, funding_lines: list[dict] = (), partners: list[dict] = ()) -> Program:
    program = Program(association_id=association.id)
    _apply_program_fields(program, values, list(funding_lines), list(partners))
    db.session.add(program)
    db.session.flush()
    return program


def update_program(program: Program, values: dict, funding_lines: list[dict] = (), partners: list[dict] = ()) -> None:
    _apply_program_fields(program, values, list(funding_lines), list(partners))
    db.session.flush()


# --- JET alumni involved in a program ------------------------------------------------------------


@dataclass
class LinkedAlumni:
    """What a user sees of a program's linked alumni: the ones they reach, and how many others."""

    visible: list
    total: int

    @property
    def hidden(self) -> int:
        return self.total - len(self.visible)


def linked_alumni(program: Program, user=None) -> LinkedAlumni:
    """The alumni linked to a program as the user may see them.

    Disclosure rule: names only of alumni the user reaches through the alumni scope (prefecture staff
    of a prefecture the alumnus served in, administrators), never of anyone whose use has ceased;
    everyone else linked (and every linked alumnus, for association staff) is only counted.
    Association staff are outside the alumni registry by design: an alumnus consented (if at all) to
    contact by the prefecture, not to being named to an association, so even consenting alumni are
    not named to them.
    """
    from crm.alumni.operations import listable

    total = db.session.scalar(select(func.count()).select_from(ProgramAlumnus).where(ProgramAlumnus.program_id == program.id))
    visible = []
    if total and reaches_alumni(user):
        linked = select(ProgramAlumnus.alumnus_id).where(ProgramAlumnus.program_id == program.id)
        statement = listable(include_archived=True).where(Alumnus.id.in_(linked)).order_by(Alumnus.family_name, Alumnus.given_name, Alumnus.id)
        visible = list(db.session.scalars(statement))
    return LinkedAlumni(visible, total)


def link_alumnus(program: Program, alumnus: Alumnus, user) -> ProgramAlumnus | None:
    """Link an alumnus (already loaded through the user's scope) to a program; linking twice is a no-op."""
    if alumnus.cease_use:
        raise AssociationError(_("Use of this person's data has ceased: they cannot be linked to a program."))
    existing = db.session.scalar(select(ProgramAlumnus).where(ProgramAlumnus.program_id == program.id, ProgramAlumnus.alumnus_id == alumnus.id))
    if existing is not None:
        return existing
    link = ProgramAlumnus(program_id=program.id, alumnus_id=alumnus.id, linked_by_id=user.id)
    db.session.add(link)
    db.session.flush()
    return link


def unlink_alumnus(program: Program, alumnus: Alumnus) -> None:
    link = db.session.scalar(select(ProgramAlumnus).where(ProgramAlumnus.program_id == program.id, ProgramAlumnus.alumnus_id == alumnus.id))
    if link is not None:
        db.session.delete(link)
        db.session.flush()


@signals.programs_of_alumnus.connect
def programs_of(alumnus: Alumnus) -> list[Program]:
    """The programs an alumnus took part in that the user reaches (newest first)."""
    linked = select(ProgramAlumnus.program_id).where(ProgramAlumnus.alumnus_id == alumnus.id)
    return list(db.session.scalars(scoped(Program).where(Program.id.in_(linked)).order_by(Program.starts_at.desc(), Program.id)))


def programs_between(association: Association, first: date, last: date) -> list[Program]:
    """Programs overlapping the Japanese calendar days first..last."""
    start = clock.start_of(first)
    end = clock.start_of(last + timedelta(days=1))
    return list(
        db.session.scalars(
            scoped(Program).where(Program.association_id == association.id, Program.starts_at < end, Program.ends_at >= start)
            .order_by(Program.starts_at, Program.id)
        )
    )


@dataclass
class MonthCalendar:
    year: int
    month: int
    weeks: list[list[tuple[date, list[Program]]]]

    @property
    def first(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def previous(self) -> str:
        day = self.first - timedelta(days=1)
        return f"{day.year:04d}-{day.month:02d}"

    @property
    def next(self) -> str:
        day = self.first + timedelta(days=calendar.monthrange(self.year, self.month)[1])
        return f"{day.year:04d}-{day.month:02d}"


def parse_month(text: str | None, today: date) -> tuple[int, int]:
    """`2025-06` → (2025, 6); anything else means this month."""
    try:
        year, month = (int(part) for part in (text or "").split("-"))
        if 1900 <= year <= 2200 and 1 <= month <= 12:
            return year, month
    except ValueError:
        pass
    return today.year, today.month


def month_calendar(association: Association, year: int, month: int) -> MonthCalendar:
    """Weeks (Sunday first, as Japanese wall calendars) with each day's programs; a program lasting
    several days appears on each of them."""
    weeks = calendar.Calendar(firstweekday=6).monthdatescalendar(year, month)
    programs = programs_between(association, weeks[0][0], weeks[-1][-1])
    by_day: dict[date, list[Program]] = {}
    for program in programs:
        day, last = program.starts_at.astimezone(clock.TOKYO).date(), program.ends_at.astimezone(clock.TOKYO).date()
        while day <= last:
            by_day.setdefault(day, []).append(program)
            day += timedelta(days=1)
    return MonthCalendar(year, month, [[(day, by_day.get(day, [])) for day in week] for week in weeks])


def fiscal_year_range(fiscal_year: int) -> tuple[datetime, datetime]:
    """The 年度 as an aware [start, end) interval in Japan time."""
    first, last = fy.bounds(fiscal_year)
    return clock.start_of(first), clock.start_of(last + timedelta(days=1))
