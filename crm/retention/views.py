"""The dry run of the retention rules, anonymisation after a confirmation, and requests for deletion.
Who may anonymise whom is crm.access.anonymisable; the page lists only people in the user's scope."""
from __future__ import annotations

from flask import flash, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from crm import access, htmx
from crm.access import roles
from crm.alumni.models import Alumnus
from crm.auth.models import Role
from crm.extensions import db
from crm.retention import bp, operations
from crm.retention.forms import ApplyForm, ErasureRequestForm


def _page(apply_form=None, erasure_form=None, status: int = 200):
    runs, candidates = operations.dry_run(current_user)
    return render_template("retention/index.html", runs=runs, candidates=candidates, limit=operations.LIST_LIMIT,
                           years=operations.inactive_years(), cutoff=operations.cutoff(),
                           apply_form=apply_form or ApplyForm(), erasure_form=erasure_form or ErasureRequestForm()), status


@bp.get("/")
@roles(Role.ADMIN, Role.PREFECTURE_STAFF)
def dry_run():
    return _page()


@bp.post("/apply")
@roles(Role.ADMIN, Role.PREFECTURE_STAFF)
def apply():
    form = ApplyForm()
    if not form.validate_on_submit():
        return _page(apply_form=form, status=422)
    done = operations.apply(current_user)
    db.session.commit()
    flash(_("%(count)s people anonymised.", count=sum(done.values())), "success")
    return htmx.redirect(url_for("retention.dry_run"))


@bp.post("/erasure-requests")
@roles(Role.ADMIN, Role.PREFECTURE_STAFF)
def request_erasure():
    form = ErasureRequestForm()
    if not form.validate_on_submit():
        return _page(erasure_form=form, status=422)
    alumnus = access.load(Alumnus, form.alumnus.data)
    operations.record_erasure_request(alumnus, form.requested_on.data, current_user)
    db.session.commit()
    flash(_("The request for deletion of %(name)s is recorded.", name=alumnus.name), "success")
    return htmx.redirect(url_for("retention.dry_run"))
