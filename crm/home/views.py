"""The signed-in user's starting page: a work queue for each role (crm.home.operations)."""
from flask import render_template
from flask_login import current_user

from crm import clock
from crm.access import ALL_ROLES, roles
from crm.auth.models import Role
from crm.home import bp, operations
from crm.reports.views import INDICATOR_LABELS


@bp.get("/")
@roles(*ALL_ROLES)
def index():
    # Each role starts from its own page of things to do.
    today = clock.today()
    role = current_user.role
    if role == Role.PREFECTURE_STAFF:
        queue = operations.prefecture_queue(current_user, today)
    elif role == Role.ASSOCIATION_STAFF:
        queue = operations.association_queue(current_user, today)
    elif role == Role.MINISTRY_REVIEWER:
        queue = {**operations.national_headline(), "labels": INDICATOR_LABELS}
    else:
        queue = operations.admin_queue(current_user)
    return render_template("home/index.html", welcome=f"home/_{role.value}.html", **queue)
