"""The register of personal information files: a printable page (A4) and a CSV. Prefecture staff
read their prefecture's register, administrators any prefecture's (crm.access.register_prefecture)."""
from __future__ import annotations

from flask import render_template, request
from flask_babel import gettext as _

from crm import access
from crm.access import roles
from crm.auth.models import Role
from crm.exporting import download
from crm.extensions import db
from crm.file_register import bp, operations
from crm.reference.models import Prefecture


def _prefecture() -> Prefecture | None:
    prefecture_id = access.register_prefecture(request.args.get("prefecture"))
    return db.session.get(Prefecture, prefecture_id) if prefecture_id is not None else None


@bp.get("/")
@roles(Role.ADMIN, Role.PREFECTURE_STAFF)
def show_register():
    prefecture = _prefecture()
    entries = operations.entries(prefecture) if prefecture is not None else []
    prefectures = db.session.scalars(db.select(Prefecture).order_by(Prefecture.id)) if prefecture is None else []
    return render_template("file_register/index.html", prefecture=prefecture, entries=entries,
                           headings=operations.HEADINGS, prefectures=prefectures)


@bp.get("/register.csv")
@roles(Role.ADMIN, Role.PREFECTURE_STAFF)
def export_register():
    prefecture = _prefecture()
    if prefecture is None:
        return show_register()
    rows = list(operations.csv_rows(prefecture))
    return download(rows, [str(heading) for heading in operations.HEADINGS.values()], "csv",
                    _("Register of personal information files %(prefecture)s", prefecture=prefecture.name),
                    record_type="file_register", record_id=prefecture.id, row_count=len(rows))
