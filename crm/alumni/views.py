"""Alumni pages: list with active search and bulk actions, detail with click-to-edit sections, the
contact timeline, follow-ups, merge, alumni networks and Japan alumni associations abroad."""
from __future__ import annotations

import re

from flask import abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import format_date, gettext as _, lazy_gettext as _l
from flask_login import current_user
from sqlalchemy.orm.exc import StaleDataError

from crm import access, audit, clock, htmx, signals
from crm.access import ALUMNI_ROLES, STAFF, roles
from crm.alumni import bp, operations
from crm.alumni.forms import (
    AlumniGroupForm, AlumnusCreateForm, ConsentForm, ContactDetailsForm, ContactEntryForm, JapanAlumniAssociationForm,
    PlacementForm, ProfileForm, ReassignForm, SnoozeForm,
)
from crm.alumni.models import (
    AlumniGroup, Alumnus, Channel, ContactEntry, Direction, JapanAlumniAssociation, Placement, Position, Sector,
)
from crm.auth.models import Role
from crm.db import StaleRecord, check_version
from crm.editing import STALE_MESSAGE, keep_typed, save_edit
from crm.extensions import db
from crm.forms import choices
from crm.listing import paginate
from crm.reference.countries import country_choices, country_name
from crm.reference.prefectures import prefecture_choices

# Association staff and the ministry never reach an alumnus (403 by role; the scope says the same).
FILTER_KEYS = ("q", "country", "position", "year_from", "year_to", "sector", "tag", "consent", "ambassador", "status",
               "prefecture")
# Click-to-edit sections of the detail page: form and heading.
SECTIONS = {
    "profile": (ProfileForm, _l("Profile")),
    "contact": (ContactDetailsForm, _l("Contact details")),
    "consent": (ConsentForm, _l("Consent and purpose of use")),
}


def _form_values(form_class, record) -> dict:
    """The record's current values for the fields a form edits, plus its version."""
    names = [field.name for field in form_class(formdata=None) if field.name not in ("csrf_token", "confirm_new")]
    return {name: getattr(record, name) for name in names}


def _submitted_values(form) -> dict:
    return {name: value for name, value in form.data.items() if name not in ("csrf_token", "version")}


@bp.app_template_filter("country")
def country_filter(code):
    return country_name(code)


# --- List, search, bulk ----------------------------------------------------------------------------

@bp.get("")
@roles(*ALUMNI_ROLES)
def list_alumni():
    filters = {key: request.args.get(key, "") for key in FILTER_KEYS}
    statement = operations.list_columns(operations.filtered_alumni(filters))
    page = paginate(statement, operations.alumni_sorts(filters), "name", Alumnus.id, scalars=False,
                    count_limit=current_app.config["ALUMNI_COUNT_LIMIT"], rows_by_key=operations.rows_by_key(filters))
    page.items = operations.listed_alumni(page.items)
    return htmx.render(
        "alumni/index.html", "alumni/_rows.html",
        # The filter form's tags: only the whole page has the form (not each keystroke's rows).
        page=page, filters=filters, tags=[] if htmx.is_htmx() else operations.all_tags(), countries=country_choices(),
        positions=Position, sectors=Sector, filtered=any(filters.values()),
        prefectures=prefecture_choices() if access.reaches_whole_registry() else (),
    )


PICKER_SIZE = 10


@bp.get("/pick")
@roles(*ALUMNI_ROLES)
def pick_alumnus():
    """The search-as-you-type picker's choices: the alumni search through the user's scope, ten at most."""
    name = request.args.get("field", "alumnus")
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,40}", name):
        abort(404)
    q = request.args.get("q", "").strip()[:100]
    alumni = []
    if q:
        statement = operations.alumni_query({"q": q}).order_by(Alumnus.family_name, Alumnus.given_name, Alumnus.id)
        alumni = list(db.session.scalars(statement.limit(PICKER_SIZE + 1)))
    return htmx.render("alumni/pick.html", "alumni/_picker_choices.html", name=name, q=q,
                       alumni=alumni[:PICKER_SIZE], more=len(alumni) > PICKER_SIZE, chosen=None)


def _bulk_selection():
    """The people a bulk action applies to: the ticked rows, or every match of the filter shown
    ("Select all N matching", the filter's values sent as match-<key>), refused (None) when the
    number of matches is no longer the N the user saw."""
    if not request.form.get("all_matching"):
        return access.load_many(Alumnus, request.form.getlist("ids")), None
    filters = {key: request.form.get(f"match-{key}", "") for key in FILTER_KEYS}
    alumni = operations.all_matching(filters)
    if str(len(alumni)) != request.form["all_matching"]:
        return None, _("The list changed since it was shown: %(count)s people match now. Nothing was changed; "
                       "check the list and select again.", count=len(alumni))
    return alumni, None


@bp.post("/bulk")
@roles(*ALUMNI_ROLES)
def bulk_action():
    alumni, message = _bulk_selection()
    action, tag = request.form.get("action", ""), request.form.get("tag", "").strip()
    status = 409 if alumni is None else 200
    if alumni is None:
        pass
    elif not alumni:
        message, status = _("Select at least one person first."), 422
    elif action in ("add_tag", "remove_tag") and not tag:
        message, status = _("Enter the tag to add or remove."), 422
    elif action == "add_tag":
        operations.add_tag(alumni, tag)
        message = _("Tag “%(tag)s” added to %(count)s people.", tag=tag, count=len(alumni))
    elif action == "remove_tag":
        operations.remove_tag(alumni, tag)
        message = _("Tag “%(tag)s” removed from %(count)s people.", tag=tag, count=len(alumni))
    elif action == "archive":
        operations.archive(alumni)
        message = _("%(count)s people archived.", count=len(alumni))
    else:
        message, status = _("Choose an action."), 422
    if status == 200:
        db.session.commit()
    if not htmx.is_htmx():
        flash(message, "success" if status == 200 else "error")
        return htmx.redirect(url_for("alumni.list_alumni"))
    # The tag filter's options follow the tags (out of band), keeping the tag chosen in it.
    response = make_response(render_template(
        "alumni/_bulk_status.html", message=message, ok=status == 200, tags=operations.all_tags(),
        chosen_tag=request.form.get("match-tag", "")), status)
    if status == 200:
        response.headers["HX-Trigger"] = "alumni-changed"
    return response


# --- Create with duplicate warning -----------------------------------------------------------------

@bp.route("/new", methods=["GET", "POST"])
@roles(*ALUMNI_ROLES)
def create_alumnus():
    form = AlumnusCreateForm().fill_choices()
    if request.method == "GET" and current_user.prefecture_id:
        form.host_prefecture.data = current_user.prefecture_id
    duplicates = []
    if form.validate_on_submit() and _registered_in_scope(form):
        values = {name: value for name, value in _submitted_values(form).items()
                  if name not in ("host_prefecture", "organisation", "position", "start_year", "end_year", "confirm_new")}
        if not form.confirm_new.data:
            duplicates = operations.find_duplicates(
                form.family_name.data, form.given_name.data, form.name_katakana.data,
                [form.email.data, form.email_secondary.data], form.start_year.data,
            )
        if not duplicates:
            placement = {"prefecture_id": form.host_prefecture.data, "organisation": form.organisation.data,
                         "position": Position(form.position.data), "start_year": form.start_year.data,
                         "end_year": form.end_year.data}
            alumnus = operations.create_alumnus(values, placement)
            db.session.commit()
            flash(_("%(name)s added.", name=alumnus.name), "success")
            return htmx.redirect(url_for("alumni.show_alumnus", alumnus_id=alumnus.id))
    status = 422 if form.is_submitted() else 200
    return render_template("alumni/new.html", form=form, duplicates=duplicates), status


def _registered_in_scope(form) -> bool:
    if access.may_place_in(form.host_prefecture.data):
        return True
    form.host_prefecture.errors.append(_("A new person starts with a placement in your own prefecture."))
    return False


# --- Detail page and its sections ------------------------------------------------------------------

def _detail_context(alumnus: Alumnus) -> dict:
    return {
        "alumnus": alumnus,
        "sections": {name: _section_form(name, alumnus) for name in SECTIONS},
        "section_titles": {name: title for name, (_form, title) in SECTIONS.items()},
        "timeline": operations.timeline(alumnus),
        "contact_form": _contact_form(),
        "groups": operations.groups_of(alumnus),
        "group_choices": db.session.scalars(access.scoped(AlumniGroup).order_by(AlumniGroup.name)).all(),
        "placement_form": PlacementForm(formdata=None).fill_choices(),
        # Exchange-association programs the alumnus took part in, among the programs the user reaches.
        "programs": signals.answer(signals.programs_of_alumnus, alumnus),
    }


@bp.get("/<int:alumnus_id>")
@roles(*ALUMNI_ROLES)
def show_alumnus(alumnus_id: int):
    alumnus = access.load(Alumnus, alumnus_id)
    audit.record_view(alumnus)
    return render_template("alumni/show.html", **_detail_context(alumnus))


def _section_form(name: str, alumnus: Alumnus, submitted: bool = False):
    form_class = SECTIONS[name][0]
    prefix = f"{name}"
    if submitted:
        return form_class(prefix=prefix).fill_choices()
    return form_class(formdata=None, data=_form_values(form_class, alumnus), prefix=prefix).fill_choices()


def _section(alumnus: Alumnus, name: str, editing: bool = False, form=None, status: int = 200):
    if name not in SECTIONS:
        abort(404)
    return htmx.render(
        "alumni/section.html", "alumni/_section.html", status=status, alumnus=alumnus, name=name,
        title=SECTIONS[name][1], form=form or _section_form(name, alumnus), editing=editing,
    )


@bp.get("/<int:alumnus_id>/sections/<name>")
@roles(*ALUMNI_ROLES)
def show_section(alumnus_id: int, name: str):
    return _section(access.load(Alumnus, alumnus_id), name)


@bp.get("/<int:alumnus_id>/sections/<name>/edit")
@roles(*ALUMNI_ROLES)
def edit_section(alumnus_id: int, name: str):
    return _section(access.load(Alumnus, alumnus_id), name, editing=True)


@bp.post("/<int:alumnus_id>/sections/<name>")
@roles(*ALUMNI_ROLES)
def update_section(alumnus_id: int, name: str):
    if name not in SECTIONS:
        return _section(access.load(Alumnus, alumnus_id), name)
    return save_edit(
        lambda: access.load(Alumnus, alumnus_id),
        lambda alumnus, submitted=False: _section_form(name, alumnus, submitted),
        lambda alumnus, form: operations.set_fields(alumnus, _submitted_values(form)),
        lambda alumnus, form=None, status=200: _section(alumnus, name, editing=form is not None, form=form, status=status),
        lambda alumnus: url_for("alumni.show_alumnus", alumnus_id=alumnus.id),
        saved_message=lambda _alumnus: _("Saved."),
    )


@bp.post("/<int:alumnus_id>/archive")
@roles(*ALUMNI_ROLES)
def archive_alumnus(alumnus_id: int):
    alumnus = access.load(Alumnus, alumnus_id)
    operations.archive([alumnus])
    db.session.commit()
    flash(_("%(name)s archived. The record can be restored.", name=alumnus.name), "success")
    return htmx.redirect(url_for("alumni.show_alumnus", alumnus_id=alumnus.id))


@bp.post("/<int:alumnus_id>/restore")
@roles(*ALUMNI_ROLES)
def restore_alumnus(alumnus_id: int):
    alumnus = access.load(Alumnus, alumnus_id)
    operations.restore(alumnus)
    db.session.commit()
    flash(_("%(name)s restored.", name=alumnus.name), "success")
    return htmx.redirect(url_for("alumni.show_alumnus", alumnus_id=alumnus.id))


# --- Placements ------------------------------------------------------------------------------------

def _placements(alumnus: Alumnus, form=None, status: int = 200):
    return htmx.render(
        "alumni/section.html", "alumni/placements/_panel.html", status=status, alumnus=alumnus, name="placements",
        placement_form=form or PlacementForm(formdata=None).fill_choices(),
    )


@bp.get("/<int:alumnus_id>/placements")
@roles(*ALUMNI_ROLES)
def show_placements(alumnus_id: int):
    return _placements(access.load(Alumnus, alumnus_id))


def _placement_values(form) -> dict:
    return {"prefecture_id": form.host_prefecture.data, "organisation": form.organisation.data,
            "position": Position(form.position.data), "start_year": form.start_year.data, "end_year": form.end_year.data}


@bp.post("/<int:alumnus_id>/placements")
@roles(*ALUMNI_ROLES)
def add_placement(alumnus_id: int):
    alumnus = access.load(Alumnus, alumnus_id)
    form = PlacementForm().fill_choices()
    if not (form.validate_on_submit() and _placed_in_scope(form)):
        return _placements(alumnus, form, 422)
    operations.add_placement(alumnus, _placement_values(form))
    db.session.commit()
    if htmx.is_htmx():
        return _placements(alumnus)
    return htmx.redirect(url_for("alumni.show_alumnus", alumnus_id=alumnus.id))


def _placement_form(placement: Placement, submitted: bool = False):
    prefix = f"placement-{placement.id}"
    if submitted:
        return PlacementForm(prefix=prefix).fill_choices()
    data = {"host_prefecture": placement.prefecture_id, "organisation": placement.organisation,
            "position": placement.position.value, "start_year": placement.start_year,
            "end_year": placement.end_year, "version": placement.version}
    return PlacementForm(formdata=None, data=data, prefix=prefix).fill_choices()


def _placement_row(placement: Placement, editing: bool = False, form=None, status: int = 200):
    template = "alumni/placements/_form.html" if editing else "alumni/placements/_row.html"
    return htmx.render("alumni/placements/show.html", template, status=status, placement=placement,
                       form=form or (_placement_form(placement) if editing else None), editing=editing)


@bp.get("/placements/<int:placement_id>")
@roles(*ALUMNI_ROLES)
def show_placement(placement_id: int):
    return _placement_row(access.load(Placement, placement_id))


@bp.get("/placements/<int:placement_id>/edit")
@roles(*ALUMNI_ROLES)
def edit_placement(placement_id: int):
    return _placement_row(access.load_editable_placement(placement_id), editing=True)


@bp.post("/placements/<int:placement_id>")
@roles(*ALUMNI_ROLES)
def update_placement(placement_id: int):
    return save_edit(
        lambda: access.load_editable_placement(placement_id),
        _placement_form,
        lambda placement, form: operations.update_placement(placement, _placement_values(form)),
        lambda placement, form=None, status=200: _placement_row(placement, form is not None, form, status),
        lambda placement: url_for("alumni.show_alumnus", alumnus_id=placement.alumnus_id),
        validate=lambda form, _placement: _placed_in_scope(form),
    )


@bp.post("/placements/<int:placement_id>/delete")
@roles(*ALUMNI_ROLES)
def delete_placement(placement_id: int):
    """Delete a placement, confirmed and at the version shown (409 if it changed since); a person's
    last placement stays (422 with the reason)."""
    placement = access.load_editable_placement(placement_id)
    alumnus = placement.alumnus
    message, status = None, 200
    if request.form.get("confirm") != "y":
        message, status = _("Confirm that the placement is to be deleted."), 422
    elif request.form.get("version") != str(placement.version):
        message, status = STALE_MESSAGE, 409
    else:
        try:
            operations.delete_placement(placement)
        except operations.LastPlacement:
            message, status = _("This is the person's only placement: add the right one before deleting this one, "
                                "or archive the person."), 422
    if status == 200:
        db.session.commit()
        message = _("Placement deleted.")
    else:
        db.session.rollback()
    if not htmx.is_htmx():
        flash(message, "success" if status == 200 else "error")
        return htmx.redirect(url_for("alumni.show_alumnus", alumnus_id=alumnus.id))
    response = htmx.render("alumni/section.html", "alumni/placements/_panel.html", status=status, alumnus=alumnus,
                           name="placements", placement_form=PlacementForm(formdata=None).fill_choices(),
                           placement_error=None if status == 200 else message)
    return htmx.notify(response, message) if status == 200 else response


def _placed_in_scope(form) -> bool:
    if access.may_place_in(form.host_prefecture.data):
        return True
    form.host_prefecture.errors.append(_("Placements are recorded in your own prefecture; an administrator shares a person "
                                         "with another prefecture."))
    return False


# --- Contact log and follow-ups --------------------------------------------------------------------

def _contact_form(submitted: bool = False) -> ContactEntryForm:
    form = ContactEntryForm(prefix="contact") if submitted else ContactEntryForm(prefix="contact", formdata=None)
    form.assignee.choices = choices([(user.id, user.display_name) for user in operations.assignable_staff(current_user)], blank=True)
    return form


@bp.post("/<int:alumnus_id>/contacts")
@roles(*ALUMNI_ROLES)
def add_contact(alumnus_id: int):
    alumnus = access.load(Alumnus, alumnus_id)
    form = _contact_form(submitted=True)
    if not form.validate_on_submit():
        response = make_response(render_template("alumni/contacts/_new.html", alumnus=alumnus, contact_form=form), 422)
        # The quick-add form targets the timeline; errors replace the form itself.
        response.headers["HX-Retarget"] = "#contact-form"
        response.headers["HX-Reswap"] = "outerHTML"
        return response
    values = {name: value for name, value in form.data.items() if name not in ("csrf_token", "assignee")}
    values.update(channel=Channel(values["channel"]), direction=Direction(values["direction"]), assignee_id=form.assignee.data)
    entry = operations.add_contact(alumnus, current_user, values)
    db.session.commit()
    if not htmx.is_htmx():
        return htmx.redirect(url_for("alumni.show_alumnus", alumnus_id=alumnus.id))
    # The new entry goes on top of the timeline; a fresh form replaces the filled one (out of band).
    return render_template("alumni/contacts/_added.html", entry=entry, alumnus=alumnus, contact_form=_contact_form())


@bp.get("/follow-ups")
@roles(*ALUMNI_ROLES)
def my_follow_ups():
    return _follow_ups_page()


def _follow_ups_page(status: int = 200):
    today = clock.today()
    return render_template("alumni/follow_ups.html", entries=operations.follow_ups(current_user, today),
                           office_entries=operations.follow_ups(current_user, today, whose="office"),
                           staff=_staff_choices()), status


def _staff_choices() -> list:
    return [(user.id, user.display_name) for user in operations.assignable_staff(current_user)]


def _follow_up_done(entry: ContactEntry, message, form=None, status: int = 200):
    """After an action on a follow-up: htmx gets the item again (or nothing once it is done) and a
    toast; a plain form goes back to the follow-ups page."""
    if not htmx.is_htmx():
        if status != 200:
            # A plain form's refusal: the follow-ups page again, saying why, with the refusal's status.
            flash(" ".join(error for errors in form.errors.values() for error in errors), "error")
            return _follow_ups_page(status)
        flash(message, "success")
        return htmx.redirect(url_for("alumni.my_follow_ups"))
    body = "" if entry.done_at else render_template("alumni/_follow_up.html", entry=entry, staff=_staff_choices(), form=form)
    response = make_response(body, status)
    return htmx.notify(response, message) if status == 200 else response


@bp.post("/contacts/<int:entry_id>/done")
@roles(*ALUMNI_ROLES)
def complete_follow_up(entry_id: int):
    entry = access.load(ContactEntry, entry_id)
    operations.mark_done(entry)
    db.session.commit()
    return _follow_up_done(entry, _("Follow-up done."))


@bp.post("/contacts/<int:entry_id>/snooze")
@roles(*ALUMNI_ROLES)
def snooze_follow_up(entry_id: int):
    entry = access.load(ContactEntry, entry_id)
    form = SnoozeForm()
    if not form.validate_on_submit():
        return _follow_up_done(entry, None, form, 422)
    operations.snooze(entry, form.follow_up_on.data)
    db.session.commit()
    return _follow_up_done(entry, _("Follow-up moved to %(date)s.", date=format_date(entry.follow_up_on, "medium")))


@bp.post("/contacts/<int:entry_id>/reassign")
@roles(*ALUMNI_ROLES)
def reassign_follow_up(entry_id: int):
    entry = access.load(ContactEntry, entry_id)
    staff = {user.id: user for user in operations.assignable_staff(current_user)}
    form = ReassignForm()
    form.assignee.choices = choices(((key, user.display_name) for key, user in staff.items()), blank=True)
    if not form.validate_on_submit():
        return _follow_up_done(entry, None, form, 422)
    operations.reassign(entry, staff[form.assignee.data])
    db.session.commit()
    return _follow_up_done(entry, _("Follow-up assigned to %(name)s.", name=staff[form.assignee.data].display_name))


# --- Merge -----------------------------------------------------------------------------------------

@bp.get("/<int:alumnus_id>/merge")
@roles(*ALUMNI_ROLES)
def merge_form(alumnus_id: int):
    alumnus = access.load(Alumnus, alumnus_id)
    other = access.load(Alumnus, request.args["other"]) if request.args.get("other") else None
    if other is not None and other.id == alumnus.id:
        flash(_("Choose another record to merge with."), "error")
        return redirect(url_for("alumni.merge_form", alumnus_id=alumnus.id))
    return _merge_page(alumnus, other)


def _merge_page(alumnus: Alumnus, other: Alumnus | None, error: str | None = None):
    candidates = [] if other else operations.merge_candidates(alumnus)
    return render_template("alumni/merge.html", alumnus=alumnus, other=other, candidates=candidates, error=error), \
        422 if error else 200


@bp.post("/<int:alumnus_id>/merge")
@roles(*ALUMNI_ROLES)
def merge_alumni(alumnus_id: int):
    alumnus = access.load(Alumnus, alumnus_id)
    other = access.load(Alumnus, request.form.get("other"))
    if other.id == alumnus.id:
        flash(_("Choose another record to merge with."), "error")
        return htmx.redirect(url_for("alumni.merge_form", alumnus_id=alumnus.id))
    if request.form.get("confirm") != "y":
        # A merge cannot be undone from the UI: it happens only from the comparison, confirmed.
        return _merge_page(alumnus, other, _("Confirm that both records are the same person."))
    survivor, merged = (other, alumnus) if request.form.get("survivor") == str(other.id) else (alumnus, other)
    operations.merge(survivor, merged)
    db.session.commit()
    flash(_("Records merged; the other record is archived."), "success")
    return htmx.redirect(url_for("alumni.show_alumnus", alumnus_id=survivor.id))


# --- Alumni networks -------------------------------------------------------------------------------

@bp.post("/<int:alumnus_id>/groups")
@roles(*ALUMNI_ROLES)
def join_group(alumnus_id: int):
    alumnus = access.load(Alumnus, alumnus_id)
    group = access.load(AlumniGroup, request.form.get("group"))
    operations.join_group(group, alumnus)
    db.session.commit()
    return _networks(alumnus)


@bp.post("/<int:alumnus_id>/groups/<int:group_id>/remove")
@roles(*ALUMNI_ROLES)
def leave_group(alumnus_id: int, group_id: int):
    alumnus = access.load(Alumnus, alumnus_id)
    operations.leave_group(access.load(AlumniGroup, group_id), alumnus)
    db.session.commit()
    return _networks(alumnus)


def _networks(alumnus: Alumnus):
    if not htmx.is_htmx():
        return htmx.redirect(url_for("alumni.show_alumnus", alumnus_id=alumnus.id))
    return render_template(
        "alumni/groups/_panel.html", alumnus=alumnus, groups=operations.groups_of(alumnus),
        group_choices=db.session.scalars(access.scoped(AlumniGroup).order_by(AlumniGroup.name)).all(),
    )


@bp.get("/groups")
@roles(*ALUMNI_ROLES)
def list_groups():
    return render_template("alumni/groups/index.html", rows=db.session.execute(operations.group_query()).all())


@bp.get("/groups/<int:group_id>")
@roles(*ALUMNI_ROLES)
def show_group(group_id: int):
    group = access.load(AlumniGroup, group_id)
    return render_template("alumni/groups/show.html", group=group, members=operations.group_members(group))


def _save_record(model, form_class, record, template: str, new_record, done_url):
    """The create/edit form of a simple record (a network, an association abroad): fields copied by
    name, the version compared, 409 with the current values on a stale save."""
    def current_form(current):
        data = None if current is None else _form_values(form_class, current)
        return form_class(formdata=None, data=data).fill_choices()

    form = current_form(record) if request.method == "GET" else form_class().fill_choices()
    if form.validate_on_submit():
        try:
            if record is None:
                record = new_record()
                db.session.add(record)
            else:
                check_version(record, form.version.data)
            for key, value in _submitted_values(form).items():
                setattr(record, key, value)
            db.session.commit()
        except (StaleRecord, StaleDataError):
            db.session.rollback()
            record, submitted = access.load(model, record.id), form
            form = current_form(record)
            keep_typed(form, submitted)  # what the user typed stays beside the current values
            form.form_errors.append(str(STALE_MESSAGE))
            return render_template(template, form=form, record=record), 409
        flash(_("Saved."), "success")
        return htmx.redirect(done_url(record))
    return render_template(template, form=form, record=record), 422 if form.is_submitted() else 200


def _save_group(group: AlumniGroup | None):
    # New networks belong to the creating staff member's prefecture; the owner never changes here.
    return _save_record(AlumniGroup, AlumniGroupForm, group, "alumni/groups/form.html",
                        lambda: AlumniGroup(prefecture_id=current_user.prefecture_id),
                        lambda record: url_for("alumni.show_group", group_id=record.id))


@bp.route("/groups/new", methods=["GET", "POST"])
@roles(Role.PREFECTURE_STAFF)
def create_group():
    return _save_group(None)


@bp.route("/groups/<int:group_id>/edit", methods=["GET", "POST"])
@roles(*ALUMNI_ROLES)
def edit_group(group_id: int):
    return _save_group(access.load(AlumniGroup, group_id))


# --- Japan alumni associations abroad --------------------------------------------------------------

@bp.get("/associations-abroad")
@roles(*STAFF)
def list_japan_associations():
    country = request.args.get("country", "")
    page = paginate(operations.japan_association_query(country), operations.JAPAN_ASSOCIATION_SORTS, "country",
                    JapanAlumniAssociation.id)
    return htmx.render("alumni/abroad/index.html", "alumni/abroad/_rows.html", page=page, country=country,
                       countries=country_choices())


def _save_japan_association(association: JapanAlumniAssociation | None):
    return _save_record(JapanAlumniAssociation, JapanAlumniAssociationForm, association, "alumni/abroad/form.html",
                        JapanAlumniAssociation, lambda _record: url_for("alumni.list_japan_associations"))


@bp.route("/associations-abroad/new", methods=["GET", "POST"])
@roles(Role.ADMIN)
def create_japan_association():
    return _save_japan_association(None)


@bp.route("/associations-abroad/<int:association_id>/edit", methods=["GET", "POST"])
@roles(Role.ADMIN)
def edit_japan_association(association_id: int):
    return _save_japan_association(access.load(JapanAlumniAssociation, association_id))

