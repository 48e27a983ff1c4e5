"""The signed-in user's starting page."""
from flask import render_template
from flask_login import current_user
from sqlalchemy import func, select

from crm.access import ALL_ROLES, roles
from crm.audit import AuditEntry
from crm.auth.models import Role, User
from crm.extensions import db
from crm.home import bp


@bp.get("/")
@roles(*ALL_ROLES)
def index():
    # Each role starts from its own page of things to do.
    context = {"welcome": f"home/_{current_user.role.value}.html"}
    if current_user.role == Role.ADMIN:
        context["users_by_role"] = dict(
            db.session.execute(select(User.role, func.count()).where(User.active).group_by(User.role)).all()
        )
        context["recent_entries"] = db.session.scalars(
            select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(10)
        ).all()
    return render_template("home/index.html", **context)
