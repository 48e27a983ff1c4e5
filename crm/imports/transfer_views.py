"""Imports and exports of the associations and ambassadors domains through the import wizard and
the export machinery (crm.imports.records, crm.imports.exports, crm.imports.export_jobs, crm.exporting).

Scope is checked before anything is read or stored: the association through
`access.load_editable_association` (404 for another association's), activities through their scope
(prefecture staff their own prefecture's, administrators all, the ministry never reaches them).
"""
from __future__ import annotations

from flask import render_template, request, url_for

from crm import access, clock, htmx
from crm.access import roles
from crm.auth.models import Role
from crm.extensions import db
from crm.imports import bp
from crm.imports.export_jobs import export_target
from crm.imports.forms import MemberUploadForm
from crm.imports.views import accept_upload
from crm.reference import fiscal_year as fy

MEMBER_IMPORT_ROLES = (Role.PREFECTURE_STAFF, Role.ASSOCIATION_STAFF)
ASSOCIATION_EXPORT_ROLES = tuple(access.STAFF)
ACTIVITY_EXPORT_ROLES = (Role.ADMIN, Role.PREFECTURE_STAFF)


@bp.route("/associations/<int:association_id>/members", methods=["GET", "POST"])
@roles(*MEMBER_IMPORT_ROLES)
def upload_members(association_id: int):
    """Upload an association's member list; the wizard takes it from there (scope: this association)."""
    association = access.load_editable_association(association_id)
    form = MemberUploadForm()
    status = 200
    if request.method == "POST":
        status = 422
        if form.validate_on_submit() and (job := accept_upload(form, "members")):
            job.prefecture_id = association.prefecture_id
            job.options = {**(job.options or {}), "scope": {"association": association.id}}
            db.session.commit()
            return htmx.redirect(url_for("imports.show_job", job_id=job.id))
    return render_template("imports/members_upload.html", form=form, association=association), status


@bp.get("/associations/<int:association_id>/members/export")
@roles(*ASSOCIATION_EXPORT_ROLES)
def export_members(association_id: int):
    """The treasurer's membership list: CSV (UTF-8 with BOM or CP932) or XLSX."""
    association = access.load_editable_association(association_id)
    search, status = request.args.get("q", ""), request.args.get("status", "")
    return export_target("members", {"association": association.id, "q": search, "status": status},
                         endpoint="imports.export_members", url_args={"association_id": association.id, "q": search, "status": status},
                         filename=f"members-{association.id}-{clock.today().isoformat()}")


@bp.get("/associations/<int:association_id>/programs/export")
@roles(*ASSOCIATION_EXPORT_ROLES)
def export_programs(association_id: int):
    """An association's programs of one 年度, one row per funding line."""
    association = access.load_editable_association(association_id)
    year = fy.requested()
    return export_target("programs", {"association": association.id, "fy": year}, endpoint="imports.export_programs",
                         url_args={"association_id": association.id, "fy": year}, filename=f"programs-{association.id}-FY{year}")


@bp.get("/activities/export")
@roles(*ACTIVITY_EXPORT_ROLES)
def export_activities():
    """Alumni activities of one 年度 in the user's scope: verified only (what reports count) or all."""
    year = fy.requested()
    status = "verified" if request.args.get("status", "verified") == "verified" else ""
    prefecture = access.chosen_prefecture(request.args.get("prefecture"))
    filters = {"fy": year, "status": status, "prefecture": prefecture}
    return export_target("activities", filters, endpoint="imports.export_activities",
                         url_args={"fy": year, "status": status or "all", "prefecture": prefecture},
                         filename=f"activities-FY{year}-{status or 'all'}")
