"""Associations: the registry, members and annual fees, programs, the calendar and its feed, reports.

Every view loads through crm.access (`load`, `load_editable_association`, `scoped` in operations):
a record outside the user's scope answers 404, the same as one that does not exist.
"""
from __future__ import annotations


from flask import abort, flash, make_response, render_template, request, url_for
from babel.dates import format_skeleton
from flask_babel import get_locale, gettext as _
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm.exc import StaleDataError

from crm import access, audit, clock, htmx
from crm.access import STAFF, public, roles
from crm.associations import bp, calendar_feed as feed, operations, reports
from crm.associations.forms import AssessFeesForm, AssociationForm, FeePaymentForm, MemberForm, NewAssociationForm, ProgramForm
from crm.associations.models import (
    Association,
    AssociationKind,
    FundingSource,
    Member,
    MemberStatus,
    MembershipFee,
    PaymentMethod,
    Program,
    ProgramKind,
    ProgramStatus,
)
from crm.alumni.models import Alumnus
from crm.associations.operations import AssociationError
from crm.auth.models import Role
from crm.db import StaleRecord, check_version
from crm.disclosure import legend as marker_legend
from crm.editing import STALE_MESSAGE, act_once, keep_typed, save_inline
from crm.exporting import download, streamed
from crm.extensions import db
from crm.glossary import term
from crm.listing import paginate
from crm.reference import fiscal_year as fy

REGISTRY_READERS = (Role.ADMIN, Role.PREFECTURE_STAFF, Role.ASSOCIATION_STAFF, Role.MINISTRY_REVIEWER)
# How every inline edit of this domain ends: the record's name in the message, a broken rule on the form.
SAVE_OPTIONS = {"saved_message": lambda record: _("%(name)s saved.", name=record.name), "refusals": (AssociationError,)}


# --- Registry ------------------------------------------------------------------------------------

@bp.get("/")
@roles(*REGISTRY_READERS)
def list_associations():
    search, kind = request.args.get("q", ""), request.args.get("kind", "")
    page = paginate(operations.association_query(search, kind), operations.ASSOCIATION_SORTS, "prefecture", Association.id)
    return htmx.render("associations/index.html", "associations/_rows.html", page=page, search=search, kind=kind, kinds=AssociationKind.choices())


@bp.route("/new", methods=["GET", "POST"])
@roles(Role.ADMIN, Role.PREFECTURE_STAFF)
def create_association():
    form = NewAssociationForm().fill_prefectures(access.creatable_prefectures())
    if form.validate_on_submit():
        try:
            association = operations.create_association(form.prefecture.data, form.values())
        except AssociationError as error:
            db.session.rollback()
            form.form_errors.append(str(error))
        else:
            db.session.commit()
            flash(_("%(name)s registered.", name=association.name), "success")
            return htmx.redirect(url_for("associations.show_association", association_id=association.id))
    status = 422 if form.is_submitted() else 200
    return render_template("associations/new.html", form=form), status


def _association_form(association: Association, submitted: bool = False) -> AssociationForm:
    if submitted:
        return AssociationForm()
    data = {key: getattr(association, key) for key in operations.ASSOCIATION_FIELDS}
    data.update(kind=association.kind.value, secretariat=association.secretariat.value,
                municipality_size=association.municipality_size.value if association.municipality_size else "",
                version=association.version)
    return AssociationForm(formdata=None, data=data)


@bp.get("/<int:association_id>")
@roles(*REGISTRY_READERS)
def show_association(association_id: int):
    association = access.load(Association, association_id)
    context = {"association": association, "feed_url": None}
    if access.works_in_associations():
        context["fees"] = operations.fee_summary(association, fy.current())
        context["members"] = db.session.scalar(
            select(func.count()).select_from(operations.member_query(association, status=MemberStatus.ACTIVE.value).subquery())
        )
    return htmx.render("associations/show.html", "associations/_section.html", **context)


@bp.get("/<int:association_id>/edit")
@roles(*STAFF)
def edit_association(association_id: int):
    association = access.load_editable_association(association_id)
    return htmx.render("associations/edit.html", "associations/_form.html", association=association, form=_association_form(association))


@bp.post("/<int:association_id>")
@roles(*STAFF)
def update_association(association_id: int):
    return save_inline(
        lambda: access.load_editable_association(association_id), _association_form,
        lambda association, form: operations.update_association(association, form.values()),
        lambda association: url_for("associations.show_association", association_id=association.id),
        name="association", shown=("associations/show.html", "associations/_section.html"),
        editing=("associations/edit.html", "associations/_form.html"), **SAVE_OPTIONS,
    )


# --- Calendar feed -------------------------------------------------------------------------------

@bp.post("/<int:association_id>/feed")
@roles(*STAFF)
def regenerate_feed(association_id: int):
    association = access.load_editable_association(association_id)
    token = operations.regenerate_feed_token(association)
    db.session.commit()
    # The token is shown this once: only its hash is kept.
    feed_url = url_for("associations.calendar_feed", token=token, _external=True)
    return htmx.render("associations/feed.html", "associations/_feed.html", association=association, feed_url=feed_url)


@bp.post("/<int:association_id>/feed/revoke")
@roles(*STAFF)
def revoke_feed(association_id: int):
    association = access.load_editable_association(association_id)
    operations.revoke_feed_token(association)
    db.session.commit()
    return htmx.render("associations/feed.html", "associations/_feed.html", association=association, feed_url=None)


@bp.get("/feed/<token>.ics")
@public
def calendar_feed(token: str):
    """Subscribed to by calendar clients, which cannot sign in: the unguessable token decides."""
    association = operations.association_for_feed(token)
    if association is None:
        abort(404)
    return streamed([feed.ical(association)], "ical", f"association-{association.id}", attachment=False)


# --- Members -------------------------------------------------------------------------------------

@bp.get("/<int:association_id>/members")
@roles(*STAFF)
def list_members(association_id: int):
    association = access.load_editable_association(association_id)
    search, status = request.args.get("q", ""), request.args.get("status", "")
    page = paginate(operations.member_query(association, search, status), operations.MEMBER_SORTS, "name", Member.id)
    return htmx.render(
        "associations/members/index.html", "associations/members/_rows.html",
        association=association, page=page, search=search, status_filter=status, statuses=MemberStatus.choices(),
    )


@bp.route("/<int:association_id>/members/new", methods=["GET", "POST"])
@roles(*STAFF)
def create_member(association_id: int):
    association = access.load_editable_association(association_id)
    form = MemberForm()
    if form.validate_on_submit():
        try:
            member = operations.create_member(association, form.values())
        except AssociationError as error:
            db.session.rollback()
            form.form_errors.append(str(error))
        else:
            db.session.commit()
            flash(_("%(name)s added.", name=member.name), "success")
            return htmx.redirect(url_for("associations.list_members", association_id=association.id))
    status = 422 if form.is_submitted() else 200
    return render_template("associations/members/new.html", form=form, association=association), status


def _member_form(member: Member, submitted: bool = False) -> MemberForm:
    prefix = f"member-{member.id}"
    if submitted:
        return MemberForm(prefix=prefix)
    data = {key: getattr(member, key) for key in operations.MEMBER_FIELDS}
    data.update(kind=member.kind.value, member_type=member.member_type.value, status=member.status.value, version=member.version)
    return MemberForm(formdata=None, data=data, prefix=prefix)


@bp.get("/members/<int:member_id>")
@roles(*STAFF)
def show_member(member_id: int):
    member = access.load(Member, member_id)
    audit.record_view(member)
    fees = db.session.scalars(select(MembershipFee).where(MembershipFee.member_id == member.id).order_by(MembershipFee.fiscal_year.desc())).all()
    return htmx.render("associations/members/show.html", "associations/members/_row.html", member=member, association=member.association, fees=fees)


@bp.get("/members/<int:member_id>/edit")
@roles(*STAFF)
def edit_member(member_id: int):
    member = access.load(Member, member_id)
    return htmx.render("associations/members/edit.html", "associations/members/_form.html", member=member, form=_member_form(member))


@bp.post("/members/<int:member_id>")
@roles(*STAFF)
def update_member(member_id: int):
    return save_inline(
        lambda: access.load(Member, member_id), _member_form, lambda member, form: operations.update_member(member, form.values()),
        lambda member: url_for("associations.list_members", association_id=member.association_id),
        name="member", shown=("associations/members/show.html", "associations/members/_row.html"),
        editing=("associations/members/edit.html", "associations/members/_form.html"), **SAVE_OPTIONS,
    )


# --- Annual fees ---------------------------------------------------------------------------------

@bp.get("/<int:association_id>/fees")
@roles(*STAFF)
def list_fees(association_id: int):
    association = access.load_editable_association(association_id)
    year, unpaid = fy.requested(), request.args.get("unpaid") == "1"
    page = paginate(operations.fee_query(association, year, unpaid), operations.FEE_SORTS, "member", MembershipFee.id)
    return htmx.render(
        "associations/fees/index.html", "associations/fees/_rows.html",
        association=association, page=page, year=year, unpaid=unpaid, years=operations.fee_years(association),
        summary=operations.fee_summary(association, year), assess_form=AssessFeesForm(formdata=None, fiscal_year=year),
        payment_form=FeePaymentForm(formdata=None, paid_on=clock.today()),
    )


@bp.post("/<int:association_id>/fees")
@roles(*STAFF)
def assess_fees(association_id: int):
    association = access.load_editable_association(association_id)
    form = AssessFeesForm()
    if form.validate_on_submit():
        try:
            count = operations.assess_fees(association, form.fiscal_year.data, form.amount.data)
        except AssociationError as error:
            db.session.rollback()
            form.form_errors.append(str(error))
        else:
            db.session.commit()
            flash(_("Fees added for %(count)s members.", count=count), "success")
            return htmx.redirect(url_for("associations.list_fees", association_id=association.id, fy=form.fiscal_year.data))
    return render_template("associations/fees/assess.html", association=association, form=form), 422


@bp.post("/fees/<int:fee_id>/pay")
@roles(*STAFF)
def pay_fee(fee_id: int):
    fee = access.load(MembershipFee, fee_id)
    form = FeePaymentForm(prefix=f"fee-{fee.id}")
    if form.validate_on_submit():
        fee, error, status = act_once(
            lambda: access.load(MembershipFee, fee_id),
            lambda fee: operations.pay_fee(fee, form.paid_on.data, form.method.data, form.receipt_number.data),
            form.version.data, refusals=(AssociationError,), before=operations.ensure_unpaid)
    else:
        error, status = " ".join(str(message) for messages in form.errors.values() for message in messages), 422
    return _fee_answer(fee, error, status, _("Payment of %(name)s recorded.", name=fee.member.name))


@bp.post("/fees/<int:fee_id>/cancel-payment")
@roles(*STAFF)
def cancel_fee_payment(fee_id: int):
    """Undo a payment recorded by mistake (the home page records one in a click): the fee is unpaid again."""
    fee, error, status = act_once(lambda: access.load(MembershipFee, fee_id), operations.cancel_payment,
                                  request.form.get("version"), refusals=(AssociationError,))
    return _fee_answer(fee, error, status, _("Payment of %(name)s cancelled.", name=fee.member.name))


def _fee_answer(fee: MembershipFee, error: str | None, status: int, done_message: str):
    """A fee's row after a payment or its cancellation: a plain form goes back to the fees page."""
    context = {"fee": fee, "error": error, "association": fee.member.association, "year": fee.fiscal_year}
    if not htmx.is_htmx() and status == 200:
        flash(done_message, "success")
        return htmx.redirect(url_for("associations.list_fees", association_id=fee.member.association_id, fy=fee.fiscal_year))
    # htmx: the row, and the 年度's summary out of band (collected, paid members and rate changed).
    response = htmx.render("associations/fees/show.html", "associations/fees/_paid.html", status=status,
                           payment_form=FeePaymentForm(formdata=None, paid_on=clock.today()),
                           summary=operations.fee_summary(context["association"], fee.fiscal_year), **context)
    return htmx.notify(response, done_message) if status == 200 else response


@bp.post("/fees/<int:fee_id>/pay-today")
@roles(*STAFF)
def pay_fee_today(fee_id: int):
    """The home page's one click: the amount due, paid today, by the method chosen. The item leaves
    the queue; a refusal (paid or changed meanwhile) shows on the item."""
    fee, error, status = act_once(
        lambda: access.load(MembershipFee, fee_id),
        lambda fee: operations.pay_fee(fee, clock.today(), request.form.get("method", "")),
        request.form.get("version"), refusals=(AssociationError,), before=operations.ensure_unpaid)
    if status == 200:
        return htmx.done_in_queue(_("Payment of %(name)s recorded.", name=fee.member.name), url_for("home.index"))
    if not htmx.is_htmx():
        flash(error, "error")
        return htmx.redirect(url_for("associations.list_fees", association_id=fee.member.association_id, fy=fee.fiscal_year))
    return make_response(render_template("associations/fees/_outstanding.html", fee=fee, error=error,
                                         payment_methods=PaymentMethod), status)


@bp.get("/<int:association_id>/fees/reminders.<any(csv, xlsx):fmt>")
@roles(*STAFF)
def export_reminders(association_id: int, fmt: str):
    """Members who have not paid the 年度's fee, with the contact details they agreed to be reached at."""
    association = access.load_editable_association(association_id)
    year = fy.requested()
    headers = [term("member_name"), _("Fiscal year"), _("Amount due (yen)"), _("Agrees to be contacted"), term("email_address"), term("phone_number"), _("Postal code"), _("Address")]
    rows = operations.fee_reminders(association, year)
    return download(
        rows, headers, fmt, f"fee-reminders-{association.id}-{year}",
        record_type="membership_fees", record_id=association.id, row_count=len(rows), filter={"fiscal_year": year, "unpaid": True},
    )


# --- Programs ------------------------------------------------------------------------------------

@bp.get("/<int:association_id>/programs")
@roles(*STAFF)
def list_programs(association_id: int):
    association = access.load_editable_association(association_id)
    status, kind = request.args.get("status", ""), request.args.get("kind", "")
    page = paginate(operations.program_query(association, status, kind), operations.PROGRAM_SORTS, "-starts", Program.id)
    return htmx.render(
        "associations/programs/index.html", "associations/programs/_rows.html",
        association=association, page=page, status_filter=status, kind=kind,
        kinds=ProgramKind.choices(), statuses=ProgramStatus.choices(),
    )


def _save_program(association: Association, program: Program | None, form: ProgramForm):
    """Create or update from a validated form; returns the program or None with form errors set."""
    try:
        if program is None:
            program = operations.create_program(association, form.values(), form.funding_values(), form.partner_values())
        else:
            check_version(program, form.version.data)
            operations.update_program(program, form.values(), form.funding_values(), form.partner_values())
        db.session.commit()
        return program
    except AssociationError as error:
        db.session.rollback()
        form.form_errors.append(str(error))
        return None


@bp.route("/<int:association_id>/programs/new", methods=["GET", "POST"])
@roles(*STAFF)
def create_program(association_id: int):
    association = access.load_editable_association(association_id)
    form = ProgramForm()
    if form.validate_on_submit():
        program = _save_program(association, None, form)
        if program is not None:
            flash(_("Program %(title)s saved.", title=program.title), "success")
            return htmx.redirect(url_for("associations.show_program", program_id=program.id))
    status = 422 if form.is_submitted() else 200
    return render_template("associations/programs/form.html", form=form.add_spare_rows(), association=association, program=None), status


@bp.get("/programs/<int:program_id>")
@roles(*STAFF)
def show_program(program_id: int):
    program = access.load(Program, program_id)
    return render_template("associations/programs/show.html", program=program, association=program.association,
                           linked=operations.linked_alumni(program))


# --- JET alumni involved (links into the alumni registry, within the alumni scope) --------------

def _program_alumni(program: Program, status: int = 200, error: str | None = None):
    return htmx.render("associations/programs/alumni.html", "associations/programs/_panel.html", status=status,
                       program=program, association=program.association, linked=operations.linked_alumni(program), error=error)


@bp.get("/programs/<int:program_id>/alumni")
@roles(*STAFF)
def program_alumni(program_id: int):
    return _program_alumni(access.load(Program, program_id))


@bp.post("/programs/<int:program_id>/alumni")
@roles(*access.ALUMNI_ROLES)
def link_program_alumnus(program_id: int):
    program = access.load(Program, program_id)
    if not request.form.get("alumnus"):
        return _program_alumni(program, 422, _("Choose an alumnus."))
    alumnus = access.load(Alumnus, request.form.get("alumnus"))
    try:
        operations.link_alumnus(program, alumnus, current_user)
    except AssociationError as error:
        db.session.rollback()
        return _program_alumni(program, 422, str(error))
    db.session.commit()
    if htmx.is_htmx():
        return _program_alumni(program)
    return htmx.redirect(url_for("associations.show_program", program_id=program.id, _anchor="program-alumni"))


@bp.post("/programs/<int:program_id>/alumni/<int:alumnus_id>/remove")
@roles(*access.ALUMNI_ROLES)
def unlink_program_alumnus(program_id: int, alumnus_id: int):
    program = access.load(Program, program_id)
    operations.unlink_alumnus(program, access.load(Alumnus, alumnus_id))
    db.session.commit()
    if htmx.is_htmx():
        return _program_alumni(program)
    return htmx.redirect(url_for("associations.show_program", program_id=program.id, _anchor="program-alumni"))


def _program_form(program: Program) -> ProgramForm:
    data = {key: getattr(program, key) for key in operations.PROGRAM_FIELDS}
    data.update(
        kind=program.kind.value, status=program.status.value, version=program.version,
        starts_at=program.starts_at.astimezone(clock.TOKYO).replace(tzinfo=None), ends_at=program.ends_at.astimezone(clock.TOKYO).replace(tzinfo=None),
        funding_lines=[{"source": line.source.value, "grantor": line.grantor, "amount": line.amount} for line in program.funding_lines],
        partners=[{"kind": partner.kind.value, "name": partner.name} for partner in program.partners],
    )
    return ProgramForm(formdata=None, data=data).add_spare_rows()


@bp.route("/programs/<int:program_id>/edit", methods=["GET", "POST"])
@roles(*STAFF)
def edit_program(program_id: int):
    program = access.load(Program, program_id)
    association = program.association
    if request.method == "GET":
        return render_template("associations/programs/form.html", form=_program_form(program), association=association, program=program)
    form = ProgramForm()
    status = 422
    if form.validate_on_submit():
        try:
            saved = _save_program(association, program, form)
        except (StaleRecord, StaleDataError):
            db.session.rollback()
            program, submitted = access.load(Program, program_id), form
            form = _program_form(program)
            keep_typed(form, submitted)  # what the user typed stays beside the current values
            form.form_errors.append(str(STALE_MESSAGE))
            status = 409
        else:
            if saved is not None:
                flash(_("Program %(title)s saved.", title=saved.title), "success")
                return htmx.redirect(url_for("associations.show_program", program_id=saved.id))
    return render_template("associations/programs/form.html", form=form.add_spare_rows(), association=association, program=program), status


@bp.get("/<int:association_id>/calendar")
@roles(*STAFF)
def calendar(association_id: int):
    association = access.load_editable_association(association_id)
    year, month = operations.parse_month(request.args.get("month"), clock.today())
    month_calendar = operations.month_calendar(association, year, month)
    # "September 2025" / "2025年9月": the locale's own way of naming a month.
    month_label = format_skeleton("yMMMM", month_calendar.first, locale=get_locale())
    return htmx.render(
        "associations/calendar.html", "associations/_calendar.html", association=association, calendar=month_calendar, month_label=month_label
    )


# --- Reports -------------------------------------------------------------------------------------

@bp.get("/<int:association_id>/report")
@roles(*STAFF)
def annual_report(association_id: int):
    association = access.load_editable_association(association_id)
    report = reports.annual_report(association, fy.requested())
    return htmx.render("associations/report.html", "associations/_report.html", association=association, report=report,
                       trend=reports.trend_figures(report), report_charts=reports.report_charts(report),
                       amount=reports.amount)


@bp.get("/<int:association_id>/report.<any(csv, xlsx):fmt>")
@roles(*STAFF)
def export_report(association_id: int, fmt: str):
    association = access.load_editable_association(association_id)
    year = fy.requested()
    report = reports.annual_report(association, year)
    labels = {"programs": _("Programs held"), "funding": _("Funding mix"), "trend": _("Self-raised share by fiscal year"),
              "fees": _("Annual fees"), "collection_rate": _("Members / paid / due / collected"),
              "programs_trend": _("Programs held and participants by fiscal year"), "fees_trend": _("Annual fees by fiscal year")}
    headers = [_("Section"), _("Item"), _("Programs"), _("Japanese residents"), _("Foreign residents"), _("Volunteers"), _("Amount (yen)"), _("Actual cost (yen) / share")]
    rows = reports.report_rows(report, labels)
    return download(
        rows, headers, fmt, f"annual-report-{association.id}-{year}",
        record_type="associations", record_id=association.id, row_count=len(rows), filter={"fiscal_year": year},
    )


@bp.get("/overview")
@roles(Role.ADMIN, Role.MINISTRY_REVIEWER)
def national_overview():
    """Aggregates over every association for the ministry: no names, small counts of people hidden."""
    overview = reports.national_overview(fy.requested())
    return render_template(
        "associations/overview.html", overview=overview, reports=reports, kinds=list(AssociationKind), sources=list(FundingSource),
        marker_legend=marker_legend(),
    )
