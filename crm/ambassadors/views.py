"""Ambassadors, activities and investment: lists with quick add, inline editing, one-click review.

Each record is a table row that edits in place: GET …/<id> is the row, GET …/<id>/edit the row as a
form, POST …/<id> saves (422 with errors, 409 with the current values when stale).
"""
from __future__ import annotations


from flask import abort, flash, make_response, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from crm import access, clock, htmx
from crm.access import roles
from crm.alumni.models import Alumnus
from crm.ambassadors import bp, operations
from crm.ambassadors.forms import ActivityForm, ActivityLogForm, AmbassadorForm, AppointmentForm, InvestmentForm
from crm.ambassadors.models import Activity, ActivityKind, ActivityStatus, Ambassador, Investment
from crm.auth.models import Role
from crm.editing import act_once, save_inline
from crm.extensions import db
from crm.i18n import format_date
from crm.listing import paginate

# Records are the prefecture's own: its staff keep them, administrators may correct them.
EDITORS = (Role.ADMIN, Role.PREFECTURE_STAFF)
ACTIVITY_FILTERS = ("status", "kind", "year", "alumnus")


def _values(form) -> dict:
    return {name: value for name, value in form.data.items() if name not in ("csrf_token", "version", "alumnus")}


def _current_form(form_class, record, fields, prefix):
    data = {name: getattr(record, name) for name in fields}
    if "kind" in data:
        data["kind"] = record.kind.value
    data["version"] = record.version
    return form_class(formdata=None, data=data, prefix=prefix).fill_choices()


# Per kind of record: model, form, editable fields, row and form templates, where to go afterwards.
KINDS = {
    "ambassador": (Ambassador, AmbassadorForm, operations.AMBASSADOR_FIELDS, "ambassadors/_row.html",
                   "ambassadors/_form.html", "ambassadors.list_ambassadors"),
    "activity": (Activity, ActivityForm, operations.ACTIVITY_FIELDS, "ambassadors/activities/_row.html",
                 "ambassadors/activities/_form.html", "ambassadors.list_activities"),
    "investment": (Investment, InvestmentForm, operations.INVESTMENT_FIELDS, "ambassadors/investment/_row.html",
                   "ambassadors/investment/_form.html", "ambassadors.list_investment"),
}


def _row(kind: str, record, editing: bool = False, form=None, status: int = 200):
    model, form_class, fields, row_template, form_template, _list = KINDS[kind]
    if editing and form is None:
        form = _current_form(form_class, record, fields, f"{kind}-{record.id}")
    return htmx.render("ambassadors/record.html", form_template if editing else row_template, status=status,
                       record=record, form=form, editing=editing, kind=kind, today=clock.today())


def _update(kind: str, record_id: int, validate_extra=None):
    model, form_class, fields, row_template, form_template, list_endpoint = KINDS[kind]

    def form_for(record, submitted=False):
        if submitted:
            return form_class(prefix=f"{kind}-{record.id}").fill_choices()
        return _current_form(form_class, record, fields, f"{kind}-{record.id}")

    def update(record, form):
        if kind == "activity":
            operations.set_activity(record, _values(form))
        elif kind == "ambassador":
            operations.update_ambassador(record, _values(form))
        else:
            operations.set_fields(record, _values(form), fields)

    return save_inline(
        lambda: access.load(model, record_id), form_for, update, lambda _record: url_for(list_endpoint), name="record",
        shown=("ambassadors/record.html", row_template), editing=("ambassadors/record.html", form_template),
        context={"kind": kind, "today": clock.today()}, saved_message=lambda _record: _("Saved."), validate=validate_extra,
    )


def _quick_add_errors(template: str, **context):
    """Errors of a quick-add form replace the form itself, not the list it would add to."""
    response = make_response(render_template(template, **context), 422)
    response.headers["HX-Retarget"] = "closest form"
    response.headers["HX-Reswap"] = "outerHTML"
    return response


# --- Ambassadors -----------------------------------------------------------------------------------

def _appointment_form(submitted: bool = False):
    form = AppointmentForm() if submitted else AppointmentForm(formdata=None)
    return form.fill_choices()


@bp.get("")
@roles(*EDITORS)
def list_ambassadors():
    current, past = operations.ambassadors(clock.today())
    return render_template("ambassadors/index.html", current=current, past=past, form=_appointment_form(), today=clock.today())


@bp.post("")
@roles(Role.PREFECTURE_STAFF)
def appoint_ambassador():
    form = _appointment_form(submitted=True)
    if not form.validate_on_submit():
        return _quick_add_errors("ambassadors/_new.html", form=form)
    alumnus = access.load(Alumnus, form.alumnus.data)
    try:
        ambassador = operations.appoint(alumnus, current_user.prefecture_id, _values(form))
    except operations.TermOverlap as overlap:
        db.session.rollback()
        form.term_start_on.errors.append(str(overlap))
        return _quick_add_errors("ambassadors/_new.html", form=form)
    db.session.commit()
    flash(_("%(name)s appointed.", name=alumnus.name), "success")
    return htmx.redirect(url_for("ambassadors.list_ambassadors", _anchor=f"ambassador-{ambassador.id}"))


@bp.get("/<int:ambassador_id>")
@roles(*EDITORS)
def show_ambassador(ambassador_id: int):
    return _row("ambassador", access.load(Ambassador, ambassador_id))


@bp.get("/<int:ambassador_id>/edit")
@roles(*EDITORS)
def edit_ambassador(ambassador_id: int):
    return _row("ambassador", access.load(Ambassador, ambassador_id), editing=True)


@bp.post("/<int:ambassador_id>")
@roles(*EDITORS)
def update_ambassador(ambassador_id: int):
    return _update("ambassador", ambassador_id, validate_extra=_term_is_free)


def _term_is_free(form, ambassador: Ambassador) -> bool:
    try:
        operations.check_term(ambassador.alumnus_id, ambassador.prefecture_id, form.term_start_on.data, form.term_end_on.data,
                              exclude_id=ambassador.id)
    except operations.TermOverlap as overlap:
        form.term_start_on.errors.append(str(overlap))
        return False
    return True


# The home page's queue of terms ending: renew for a year, or decide to let the term end. Either way
# the item leaves the queue; a refusal (changed meanwhile, overlapping a later term) shows on it.

@bp.post("/<int:ambassador_id>/extend")
@roles(*EDITORS)
def extend_term(ambassador_id: int):
    return _decide_term(ambassador_id, operations.extend_term,
                        lambda ambassador: _("The term of %(name)s now ends on %(date)s.", name=ambassador.alumnus.name,
                                             date=format_date(ambassador.term_end_on, "medium")))


@bp.post("/<int:ambassador_id>/let-end")
@roles(*EDITORS)
def let_term_end(ambassador_id: int):
    return _decide_term(ambassador_id, lambda ambassador: operations.let_term_end(ambassador, clock.today()),
                        lambda ambassador: _("The term of %(name)s ends on %(date)s as planned.", name=ambassador.alumnus.name,
                                             date=format_date(ambassador.term_end_on, "medium")))


def _decide_term(ambassador_id: int, decide, done_message):
    ambassador, error, status = act_once(lambda: access.load(Ambassador, ambassador_id), decide, request.form.get("version"),
                                         refusals=(operations.TermRefused,))
    if status == 200:
        return htmx.done_in_queue(done_message(ambassador), url_for("home.index"))
    if not htmx.is_htmx():
        flash(error, "error")
        return htmx.redirect(url_for("ambassadors.list_ambassadors", _anchor=f"ambassador-{ambassador.id}"))
    return make_response(render_template("ambassadors/_term_ending.html", ambassador=ambassador, error=error), status)


# --- Activities ------------------------------------------------------------------------------------

def _log_form(form_class=ActivityLogForm, submitted: bool = False):
    form = form_class(prefix="log") if submitted else form_class(prefix="log", formdata=None)
    return form.fill_choices()


def _logged(alumnus: Alumnus, form, done_url: str, log_url: str | None = None):
    """Write a validated quick log; htmx gets the new row and a fresh form of the same kind."""
    activity = operations.log_activity(alumnus, current_user.prefecture_id, _values(form))
    db.session.commit()
    if not htmx.is_htmx():
        flash(_("Activity logged."), "success")
        return htmx.redirect(done_url)
    # The new row goes on top of the list; a fresh form replaces the filled one (out of band).
    return render_template("ambassadors/activities/_added.html", record=activity, form=_log_form(type(form)),
                           log_url=log_url, kind="activity")


@bp.get("/activities")
@roles(*EDITORS)
def list_activities():
    filters = {key: request.args.get(key, "") for key in ACTIVITY_FILTERS}
    # One person's activities (the alumnus page links here): someone outside the scope is a 404.
    person = access.load(Alumnus, int(filters["alumnus"])) if filters["alumnus"].isdigit() else None
    filters["alumnus"] = str(person.id) if person else ""
    page = paginate(operations.activity_query(filters), operations.ACTIVITY_SORTS, "-date", Activity.id)
    return htmx.render("ambassadors/activities/index.html", "ambassadors/activities/_rows.html", page=page,
                       filters=filters, person=person, kinds=ActivityKind, statuses=ActivityStatus, form=_log_form(),
                       filtered=any(filters.values()))


@bp.post("/activities")
@roles(Role.PREFECTURE_STAFF)
def log_activity():
    form = _log_form(submitted=True)
    if not form.validate_on_submit():
        return _quick_add_errors("ambassadors/activities/_new.html", form=form)
    alumnus = access.load(Alumnus, form.alumnus.data)
    return _logged(alumnus, form, url_for("ambassadors.list_activities"))


# One alumnus's latest activities: the panel of the alumnus page (loaded by htmx, a page of its own
# without it), where the prefecture's staff quick-log for that person and review inline.
RECENT_ACTIVITIES = 10


def _alumnus_activities(alumnus: Alumnus, form=None, status: int = 200):
    # As on the activities page, only prefecture staff log (an activity belongs to their prefecture).
    if form is None and access.may("ambassadors.log_alumnus_activity"):
        form = _log_form(ActivityForm)
    return htmx.render("ambassadors/activities/alumnus.html", "ambassadors/activities/_panel.html", status=status,
                       alumnus=alumnus, activities=operations.activities_of(alumnus, RECENT_ACTIVITIES),
                       limit=RECENT_ACTIVITIES, form=form, kind="activity",
                       log_url=url_for("ambassadors.log_alumnus_activity", alumnus_id=alumnus.id))


@bp.get("/alumni/<int:alumnus_id>/activities")
@roles(*EDITORS)
def alumnus_activities(alumnus_id: int):
    return _alumnus_activities(access.load(Alumnus, alumnus_id))


@bp.post("/alumni/<int:alumnus_id>/activities")
@roles(Role.PREFECTURE_STAFF)
def log_alumnus_activity(alumnus_id: int):
    alumnus = access.load(Alumnus, alumnus_id)
    log_url = url_for("ambassadors.log_alumnus_activity", alumnus_id=alumnus.id)
    form = _log_form(ActivityForm, submitted=True)
    if not form.validate_on_submit():
        if htmx.is_htmx():
            return _quick_add_errors("ambassadors/activities/_new.html", form=form, log_url=log_url)
        return _alumnus_activities(alumnus, form, 422)
    done_url = url_for("alumni.show_alumnus", alumnus_id=alumnus.id, _anchor="alumnus-activities")
    return _logged(alumnus, form, done_url, log_url)


@bp.get("/activities/<int:activity_id>")
@roles(*EDITORS)
def show_activity(activity_id: int):
    return _row("activity", access.load(Activity, activity_id))


@bp.get("/activities/<int:activity_id>/edit")
@roles(*EDITORS)
def edit_activity(activity_id: int):
    return _row("activity", access.load(Activity, activity_id), editing=True)


@bp.post("/activities/<int:activity_id>")
@roles(*EDITORS)
def update_activity(activity_id: int):
    return _update("activity", activity_id)


@bp.post("/activities/<int:activity_id>/review")
@roles(*EDITORS)
def review_activity(activity_id: int):
    activity = access.load(Activity, activity_id)
    try:
        status = ActivityStatus(request.form.get("status", ""))
    except ValueError:
        # Only a forged form sends another status. The answer goes to the message area (crm.errors),
        # so neither the list's row nor the home queue's item (swapped "delete") changes.
        abort(422)
    operations.review(activity, status, current_user)
    db.session.commit()
    if htmx.is_htmx():
        return htmx.notify(_row("activity", activity), _("Activity marked as %(status)s.", status=status.label))
    flash(_("Activity marked as %(status)s.", status=status.label), "success")
    return htmx.redirect(url_for("ambassadors.list_activities"))


# --- Investment ------------------------------------------------------------------------------------

def _year_free(form, record) -> bool:
    if operations.year_taken(record.prefecture_id, form.fiscal_year.data, except_id=record.id):
        form.fiscal_year.errors.append(_("This fiscal year has been entered already; edit that row instead."))
        return False
    return True


@bp.get("/investment")
@roles(*EDITORS)
def list_investment():
    return render_template("ambassadors/investment/index.html", rows=operations.investments(),
                           form=InvestmentForm(formdata=None, prefix="new").fill_choices())


@bp.post("/investment")
@roles(Role.PREFECTURE_STAFF)
def record_investment():
    form = InvestmentForm(prefix="new").fill_choices()
    valid = form.validate_on_submit()
    if valid and operations.year_taken(current_user.prefecture_id, form.fiscal_year.data):
        form.fiscal_year.errors.append(_("This fiscal year has been entered already; edit that row instead."))
        valid = False
    if not valid:
        return _quick_add_errors("ambassadors/investment/_new.html", form=form)
    operations.record_investment(current_user.prefecture_id, _values(form))
    db.session.commit()
    flash(_("Investment saved."), "success")
    return htmx.redirect(url_for("ambassadors.list_investment"))


@bp.get("/investment/<int:investment_id>")
@roles(*EDITORS)
def show_investment(investment_id: int):
    return _row("investment", access.load(Investment, investment_id))


@bp.get("/investment/<int:investment_id>/edit")
@roles(*EDITORS)
def edit_investment(investment_id: int):
    return _row("investment", access.load(Investment, investment_id), editing=True)


@bp.post("/investment/<int:investment_id>")
@roles(*EDITORS)
def update_investment(investment_id: int):
    return _update("investment", investment_id, validate_extra=_year_free)
