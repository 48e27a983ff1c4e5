"""APPI requests: list, record, detail with click-to-edit sections (details, extension, decision), the
due panel of the home page, the administrators' overview, the disclosure package, and the access
records of a person or of a user (breach response)."""
from __future__ import annotations

from flask import abort, flash, render_template, request, url_for
from flask_babel import format_datetime, gettext as _, lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from crm import access, audit, clock, htmx
from crm.access import roles
from crm.alumni.models import Alumnus
from crm.auth.models import Role, User
from crm.editing import save_edit
from crm.exporting import FORMATS, download
from crm.extensions import db
from crm.forms import choices
from crm.listing import paginate
from crm.privacy import bp, operations, package as packages
from crm.privacy.forms import DecisionForm, DetailsForm, ExtensionForm, PeriodForm, RequestForm, UserAccessForm
from crm.privacy.models import PrivacyRequest, RequestStatus

# A request is the prefecture's record: its staff keep it; administrators read and may correct it.
EDITORS = (Role.ADMIN, Role.PREFECTURE_STAFF)
SECTIONS = {
    "details": (DetailsForm, _l("Request")),
    "extension": (ExtensionForm, _l("Extension")),
    "decision": (DecisionForm, _l("Decision")),
}


def _values(form) -> dict:
    return {name: value for name, value in form.data.items() if name not in ("csrf_token", "version", "alumnus")}


# --- List, record, detail --------------------------------------------------------------------------

@bp.get("/requests")
@roles(*EDITORS)
def list_requests():
    status = request.args.get("status", "")
    page = paginate(operations.request_query(status), operations.REQUEST_SORTS, "-received", PrivacyRequest.id.desc())
    return htmx.render("privacy/index.html", "privacy/_rows.html", page=page, status_filter=status, statuses=RequestStatus,
                       today=clock.today())


@bp.route("/requests/new", methods=["GET", "POST"])
@roles(Role.PREFECTURE_STAFF)
def create_request():
    form = RequestForm() if request.method == "POST" else RequestForm(formdata=None, alumnus=request.args.get("alumnus", type=int))
    if form.validate_on_submit():
        alumnus = access.load(Alumnus, form.alumnus.data)
        record = operations.record_request(current_user.prefecture_id, alumnus, current_user, _values(form))
        db.session.commit()
        flash(_("Request recorded. It is due on %(date)s.", date=record.due_on.isoformat()), "success")
        return htmx.redirect(url_for("privacy.show_request", request_id=record.id))
    return render_template("privacy/new.html", form=form), 422 if form.is_submitted() else 200


def _detail_context(record: PrivacyRequest) -> dict:
    return {"record": record, "sections": {name: _section_form(name, record) for name in SECTIONS},
            "section_titles": {name: title for name, (_form, title) in SECTIONS.items()},
            "history": operations.history(record), "today": clock.today()}


@bp.get("/requests/<int:request_id>")
@roles(*EDITORS)
def show_request(request_id: int):
    return render_template("privacy/show.html", **_detail_context(access.load(PrivacyRequest, request_id)))


def _section_form(name: str, record: PrivacyRequest, submitted: bool = False):
    form_class = SECTIONS[name][0]
    if submitted:
        return form_class(prefix=name)
    fields = [field.name for field in form_class(formdata=None, meta={"csrf": False}) if field.name != "csrf_token"]
    return form_class(formdata=None, data={field: getattr(record, field) for field in fields}, prefix=name)


def _section(record: PrivacyRequest, name: str, editing: bool = False, form=None, status: int = 200):
    if name not in SECTIONS:
        abort(404)
    return htmx.render("privacy/section.html", "privacy/_section.html", status=status, record=record, name=name,
                       title=SECTIONS[name][1], form=form or _section_form(name, record), editing=editing, today=clock.today())


@bp.get("/requests/<int:request_id>/sections/<name>")
@roles(*EDITORS)
def show_section(request_id: int, name: str):
    return _section(access.load(PrivacyRequest, request_id), name)


@bp.get("/requests/<int:request_id>/sections/<name>/edit")
@roles(*EDITORS)
def edit_section(request_id: int, name: str):
    return _section(access.load(PrivacyRequest, request_id), name, editing=True)


@bp.post("/requests/<int:request_id>/sections/<name>")
@roles(*EDITORS)
def update_section(request_id: int, name: str):
    if name not in SECTIONS:
        return _section(access.load(PrivacyRequest, request_id), name)

    def update(record, form):
        if name == "decision":
            operations.decide(record, _values(form), clock.today())
        else:
            operations.set_fields(record, _values(form))

    return save_edit(
        lambda: access.load(PrivacyRequest, request_id),
        lambda record, submitted=False: _section_form(name, record, submitted),
        update,
        lambda record, form=None, status=200: _section(record, name, editing=form is not None, form=form, status=status),
        lambda record: url_for("privacy.show_request", request_id=record.id),
        saved_message=lambda _record: _("Saved."),
    )


@bp.post("/requests/<int:request_id>/withdraw")
@roles(*EDITORS)
def withdraw_request(request_id: int):
    record = access.load(PrivacyRequest, request_id)
    if operations.withdraw(record, clock.today()):
        db.session.commit()
        flash(_("The request is recorded as withdrawn."), "success")
    else:
        flash(_("Only an open request can be withdrawn."), "error")
    return htmx.redirect(url_for("privacy.show_request", request_id=record.id))


# --- What is due -----------------------------------------------------------------------------------

@bp.get("/due")
@roles(*EDITORS)
def due_requests():
    """The home page's panel (loaded by htmx from templates/privacy/_due.html), or a page of its own."""
    return htmx.render("privacy/due.html", "privacy/_due.html", due=operations.requests_due(current_user, clock.today()))


@bp.get("/overview")
@roles(Role.ADMIN)
def overview():
    today = clock.today()
    return render_template("privacy/overview.html", counts=operations.overview(today),
                           due=operations.requests_due(current_user, today), today=today)


# --- Disclosure package ----------------------------------------------------------------------------

@bp.get("/requests/<int:request_id>/package")
@roles(*EDITORS)
def disclosure_package(request_id: int):
    """Everything the requesting prefecture holds about the person: printable A4, or CSV / XLSX."""
    record = access.load(PrivacyRequest, request_id)
    if record.alumnus is None:
        abort(404)
    held = packages.package(record.prefecture_id, record.alumnus)
    fmt = request.args.get("format", "")
    if fmt in FORMATS:
        rows = packages.package_rows(held)
        return download(rows, [_("Section"), _("Item"), _("Value")], fmt, f"disclosure-{record.id}",
                        record_type=Alumnus.__tablename__, record_id=record.alumnus_id, row_count=len(rows),
                        sheet_title=_("Disclosure"), request=record.id)
    audit.record_event("view", Alumnus.__tablename__, record.alumnus_id, request=record.id)
    return render_template("privacy/package.html", record=record, held=held, packages=packages)


# --- Access records (breach response) --------------------------------------------------------------

def _access_rows(entries) -> list[list]:
    return [[format_datetime(packages.moment(entry), "yyyy-MM-dd HH:mm"), entry.actor, packages.action_label(entry), entry.record_type or "",
             entry.record_id or "", packages.people_count(entry) or ""] for entry in entries]


ACCESS_HEADERS = (_l("When (Japan time)"), _l("Who"), _l("Action"), _l("Record"), _l("Record id"), _l("People in the export"))


def _accesses_download(entries, fmt: str, filename: str, **details):
    rows = _access_rows(entries)
    return download(rows, [str(header) for header in ACCESS_HEADERS], fmt, filename, record_type="audit_entries",
                    row_count=len(rows), **details)


@bp.get("/alumni/<int:alumnus_id>/accesses")
@roles(*EDITORS)
def person_accesses(alumnus_id: int):
    """Who viewed or exported this person's data: their own prefecture's staff (administrators: anyone)."""
    alumnus = access.load(Alumnus, alumnus_id)
    form = PeriodForm(request.args)
    period = form.data if form.validate() else {}
    entries = packages.accesses_of(alumnus.id, access.own_prefecture(), period.get("since"), period.get("until"))
    fmt = request.args.get("format", "")
    if fmt in FORMATS:
        return _accesses_download(entries, fmt, f"accesses-alumnus-{alumnus.id}", alumnus=alumnus.id)
    return render_template("privacy/accesses.html", alumnus=alumnus, entries=entries, form=form, packages=packages)


@bp.get("/accesses")
@roles(Role.ADMIN)
def user_accesses():
    """What one user viewed or exported between two days."""
    form = UserAccessForm(request.args)
    form.user.choices = choices([(user.id, user.email) for user in db.session.scalars(select(User).order_by(User.email))],
                                blank=True)
    entries = None
    if request.args and form.validate():
        entries = packages.accesses_by(form.user.data, form.since.data, form.until.data)
        fmt = request.args.get("format", "")
        if fmt in FORMATS:
            return _accesses_download(entries, fmt, f"accesses-user-{form.user.data}", user=form.user.data,
                                      since=form.since.data, until=form.until.data)
    return render_template("privacy/user_accesses.html", entries=entries, form=form, packages=packages), \
        422 if request.args and form.errors else 200
