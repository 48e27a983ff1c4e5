"""Administrators manage accounts (with inline editing) and browse the audit trail."""
from __future__ import annotations

from flask import flash, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user

from crm import access, htmx
from crm.access import roles
from crm.admin import bp, operations, trail
from crm.admin.forms import AuditFilterForm, PasswordResetForm, UserCreateForm, UserEditForm
from crm.audit import AuditEntry
from crm.auth import operations as accounts
from crm.auth.models import Role, User
from crm.editing import save_edit
from crm.forms import choices
from crm.extensions import db
from crm.listing import paginate


@bp.get("/users")
@roles(Role.ADMIN)
def list_users():
    search = request.args.get("q", "")
    role = request.args.get("role", "")
    status = request.args.get("status", "")
    page = paginate(
        operations.user_query(search, role, status), operations.USER_SORTS, "email", User.id
    )
    return htmx.render(
        "admin/users/index.html", "admin/users/_rows.html",
        page=page, search=search, role=role, status_filter=status,
    )


@bp.route("/users/new", methods=["GET", "POST"])
@roles(Role.ADMIN)
def create_user():
    form = UserCreateForm().fill_choices()
    if form.validate_on_submit():
        try:
            user = accounts.create_user(
                form.email.data, form.display_name.data, Role(form.role.data), form.new_password.data,
                prefecture_id=form.prefecture.data, association_id=form.association.data,
            )
        except accounts.AccountError as error:
            form.form_errors.append(str(error))
        else:
            db.session.commit()
            flash(_("Account %(email)s created.", email=user.email), "success")
            return htmx.redirect(url_for("admin.list_users"))
    status = 422 if form.is_submitted() else 200
    return render_template("admin/users/new.html", form=form), status


def _edit_form(user: User, submitted: bool = False) -> UserEditForm:
    """The inline edit form: the request's values when submitted, else the record's."""
    # A prefix per account keeps field ids unique when several rows are open for editing.
    prefix = f"user-{user.id}"
    if submitted:
        return UserEditForm(prefix=prefix).fill_choices()
    current = {
        "display_name": user.display_name,
        "role": user.role.value,
        "prefecture": user.prefecture_id,
        "association": user.association_id,
        "version": user.version,
    }
    return UserEditForm(formdata=None, data=current, prefix=prefix).fill_choices()


@bp.get("/users/<int:user_id>")
@roles(Role.ADMIN)
def show_user(user_id: int):
    user = access.load(User, user_id)
    return htmx.render("admin/users/show.html", "admin/users/_row.html", user=user)


@bp.get("/users/<int:user_id>/edit")
@roles(Role.ADMIN)
def edit_user(user_id: int):
    user = access.load(User, user_id)
    return htmx.render("admin/users/edit.html", "admin/users/_form.html", user=user, form=_edit_form(user))


@bp.post("/users/<int:user_id>")
@roles(Role.ADMIN)
def update_user(user_id: int):
    return save_edit(
        lambda: access.load(User, user_id), _edit_form, _apply_account_form, _user_fragment,
        lambda _user: url_for("admin.list_users"),
        saved_message=lambda user: _("Account %(email)s saved.", email=user.email),
        refusals=(accounts.AccountError,),
        stale_message=_l("Someone else changed this account meanwhile. These are the current values; apply your change again."),
    )


def _apply_account_form(user: User, form: UserEditForm) -> None:
    user.display_name = form.display_name.data.strip()
    accounts.change_role(user, Role(form.role.data), form.prefecture.data, form.association.data, current_user)


def _user_fragment(user: User, form: UserEditForm | None = None, status: int = 200):
    if form is None:
        return htmx.render("admin/users/show.html", "admin/users/_row.html", user=user)
    return htmx.render("admin/users/edit.html", "admin/users/_form.html", status=status, user=user, form=form)


def _set_active(user_id: int, active: bool):
    user = access.load(User, user_id)
    try:
        accounts.set_active(user, active, current_user)
        db.session.commit()
    except accounts.AccountError as error:
        db.session.rollback()
        flash(str(error), "error")
        if htmx.is_htmx():
            return htmx.render("admin/users/show.html", "admin/users/_row.html", status=422, user=user, error=str(error))
    if htmx.is_htmx():
        return htmx.render("admin/users/show.html", "admin/users/_row.html", user=user)
    return htmx.redirect(url_for("admin.list_users"))


@bp.post("/users/<int:user_id>/deactivate")
@roles(Role.ADMIN)
def deactivate_user(user_id: int):
    return _set_active(user_id, False)


@bp.post("/users/<int:user_id>/activate")
@roles(Role.ADMIN)
def activate_user(user_id: int):
    return _set_active(user_id, True)


@bp.route("/users/<int:user_id>/password", methods=["GET", "POST"])
@roles(Role.ADMIN)
def reset_password(user_id: int):
    user = access.load(User, user_id)
    form = PasswordResetForm()
    form.policy_email = user.email
    if form.validate_on_submit():
        accounts.set_password(user, form.new_password.data)
        db.session.commit()
        flash(_("The password of %(email)s has been reset; their sessions have ended.", email=user.email), "success")
        return htmx.redirect(url_for("admin.list_users"))
    status = 422 if form.is_submitted() else 200
    return render_template("admin/users/password.html", form=form, user=user), status


@bp.get("/audit")
@roles(Role.ADMIN)
def audit_trail():
    form = AuditFilterForm(request.args)
    form.action.choices = choices(operations.AUDIT_ACTIONS.items(), blank=True)
    form.record_type.choices = choices(trail.record_type_choices(), blank=True)
    filters = form.data if form.validate() else {}
    statement = operations.audit_query(
        **{key: filters.get(key) for key in ("actor", "action", "record_type", "record_id", "since", "until")}
    )
    page = paginate(statement, operations.AUDIT_SORTS, "-at", AuditEntry.id.desc())
    return htmx.render(
        "admin/audit/index.html", "admin/audit/_rows.html",
        page=page, form=form, trail=trail,
    )
