"""Self-service routes: the public request page and the pages behind a personal link (no account),
and the staff side (send and revoke links, the feed with undo, the annual confirmation mailing,
how current each registry is).

A token that does not open a live link answers 404 before anything is read or written, whatever
was wrong with it (forged, expired, revoked, of a person no longer in use).
"""
from __future__ import annotations

import hashlib

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from limits import parse_many
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from crm import access, audit, htmx
from crm.access import REPORT_ROLES, public, roles
from crm.alumni.models import Alumnus
from crm.associations.models import Member
from crm.auth.models import Role
from crm.auth.throttle import client_address
from crm.db import StaleRecord, check_version
from crm.extensions import db, limiter
from crm.reference.models import Prefecture
from crm.selfservice import bp, operations
from crm.selfservice.forms import DetailsForm, LinkRequestForm, MemberDetailsForm, SelfReportForm
from crm.selfservice.models import SelfUpdate

STAFF = (Role.ADMIN, Role.PREFECTURE_STAFF)


# --- Public: asking for a link ---------------------------------------------------------------------

def _within_limits(email: str) -> bool:
    """Count this request against its address and the client; False once either is over its limit.
    Known and unknown addresses count alike, so a refusal says nothing about the address either."""
    if not limiter.enabled:
        return True
    digest = hashlib.sha256(email.encode()).hexdigest()[:32]
    config = current_app.config
    counters = [(config["SELF_SERVICE_LIMIT_PER_EMAIL"], f"selfservice/email/{digest}"),
                (config["SELF_SERVICE_LIMIT_PER_IP"], f"selfservice/address/{client_address()}")]
    results = [limiter.limiter.hit(item, key) for spec, key in counters for item in parse_many(spec)]
    return all(results)


@bp.route("/me", methods=["GET", "POST"])
@public
def request_link():
    form = LinkRequestForm()
    if form.validate_on_submit():
        if not _within_limits(form.email.data):
            db.session.commit()  # the counts
            return render_template("selfservice/request.html", form=form, limited=True), 429
        db.session.commit()  # the counts; nothing read after it (a task run at once needs SQLite's write lock)
        operations.ask_for_link(form.email.data)
        return render_template("selfservice/requested.html")
    return render_template("selfservice/request.html", form=form), 422 if form.errors else 200


# --- Public: through the link ----------------------------------------------------------------------

def _link(token: str):
    link = operations.link_for(token)
    if link is None:
        abort(404)
    return link


def _member_page(token, link, details=None, status=200):
    """A member's page: what their association holds about them, and nothing of anyone else's."""
    member = link.member
    subscriptions = operations.subscriptions_of(member)
    details = details or MemberDetailsForm(obj=member, formdata=None)
    return render_template("selfservice/member.html", token=token, link=link, member=member, details=details,
                           confirmed_on=operations.member_confirmed_on(member), subscriptions=subscriptions,
                           invitations=operations.invitations_of(subscriptions)), status


def _person_page(token, link, details=None, report=None, status=200):
    if link.member_id is not None:
        return _member_page(token, link, details=details, status=status)
    alumnus = link.alumnus
    prefectures = operations.served_prefectures(alumnus)
    subscriptions = operations.subscriptions_of(alumnus)
    details = details or DetailsForm(obj=alumnus, formdata=None)
    # A person who served in one prefecture only finds it chosen already (a post still names it).
    report = report or SelfReportForm(formdata=None, prefecture_id=prefectures[0].id if len(prefectures) == 1 else None)
    return render_template("selfservice/person.html", token=token, link=link, alumnus=alumnus, prefectures=prefectures,
                           details=details.fill_choices(), report=report.limit_to(prefectures).fill_choices(),
                           activities=operations.own_activities(alumnus),
                           subscriptions=subscriptions, invitations=operations.invitations_of(subscriptions)), status


@bp.get("/me/<token>")
@public
def person(token: str):
    link = _link(token)
    return _person_page(token, link)


@bp.post("/me/<token>/details")
@public
def update_details(token: str):
    """An alumnus's (DetailsForm) or a member's (MemberDetailsForm) corrections: those fields only."""
    link = _link(token)
    person = operations.person_of(link)
    form_class, fields = (MemberDetailsForm, operations.MEMBER_FIELDS) if link.member_id else (DetailsForm, operations.DETAIL_FIELDS)
    form = form_class(obj=person)
    form.fill_choices()
    if not form.validate_on_submit():
        return _person_page(token, link, details=form, status=422)
    try:
        check_version(person, form.version.data)
        with audit.acting_as(operations.actor(person)):
            operations.update_details(person, {name: form[name].data for name in fields})
            db.session.commit()
    except (StaleRecord, StaleDataError):
        db.session.rollback()
        link = _link(token)
        fresh = form_class(obj=operations.person_of(link), formdata=None)
        fresh.form_errors.append(_("Your details were changed meanwhile; here they are as they are now."))
        return _person_page(token, link, details=fresh, status=409)
    flash(_("Thank you: your details are saved."), "success")
    return redirect(url_for("selfservice.person", token=token), 303)


@bp.post("/me/<token>/confirm")
@public
def confirm(token: str):
    link = _link(token)
    with audit.acting_as(operations.actor(operations.person_of(link))):
        if link.member_id is not None:
            operations.confirm_member(link.member)
        else:
            operations.confirm(link.alumnus)
        db.session.commit()
    flash(_("Thank you for confirming that your details are current."), "success")
    return redirect(url_for("selfservice.person", token=token), 303)


@bp.post("/me/<token>/activities")
@public
def report_activity(token: str):
    link = _link(token)
    if link.member_id is not None:  # activities are alumni's
        abort(404)
    alumnus = link.alumnus
    prefectures = operations.served_prefectures(alumnus)
    form = SelfReportForm().limit_to(prefectures)
    form.fill_choices()
    if not form.validate_on_submit():
        return _person_page(token, link, report=form, status=422)
    with audit.acting_as(f"alumnus:{alumnus.id}"):
        operations.report_activity(alumnus, form.prefecture_id.data,
                                   {name: form[name].data for name in operations.ACTIVITY_FIELDS})
        db.session.commit()
    flash(_("Thank you: your activity is reported. The prefecture's staff will verify it."), "success")
    return redirect(url_for("selfservice.person", token=token), 303)


@bp.post("/me/<token>/subscriptions/<int:subscription_id>")
@public
def set_subscription(token: str, subscription_id: int):
    link = _link(token)
    subscribed = request.form.get("subscribed") == "1"
    person = operations.person_of(link)
    with audit.acting_as(operations.actor(person)):
        if operations.set_subscription(person, subscription_id, subscribed) is None:
            abort(404)
        db.session.commit()
    flash(_("Your subscription is updated."), "success")
    return redirect(url_for("selfservice.person", token=token), 303)


@bp.post("/me/<token>/invitations/<int:send_id>")
@public
def answer_invitation(token: str, send_id: int):
    """Attend or not: only an invitation sent to one of the person's own subscriptions (else 404)."""
    person = operations.person_of(_link(token))
    with audit.acting_as(operations.actor(person)):
        if operations.answer_invitation(operations.subscriptions_of(person), send_id, request.form.get("answer", "")) is None:
            abort(404)
        db.session.commit()
    flash(_("Thank you: your answer is recorded."), "success")
    return redirect(url_for("selfservice.person", token=token) + "#invitations", 303)


# --- Staff -----------------------------------------------------------------------------------------

@bp.get("/self-service/alumni/<int:alumnus_id>/links")
@roles(*STAFF)
def links_panel(alumnus_id: int):
    """The alumnus page's panel (loaded by htmx): open links, send one, revoke them."""
    return _links_panel(access.load(Alumnus, alumnus_id))


@bp.post("/self-service/alumni/<int:alumnus_id>/links")
@roles(*STAFF)
def send_link(alumnus_id: int):
    alumnus = access.load(Alumnus, alumnus_id)
    sent = operations.send_link(alumnus, current_user)
    db.session.commit()
    return _sent(alumnus, sent)


@bp.post("/self-service/alumni/<int:alumnus_id>/links/revoke")
@roles(*STAFF)
def revoke_links(alumnus_id: int):
    alumnus = access.load(Alumnus, alumnus_id)
    count = operations.revoke_links(alumnus)
    db.session.commit()
    return _links_answer(alumnus, _("Links revoked: %(count)d.", count=count))


def _links_panel(person):
    """The personal-link panel of an alumnus's or a member's page."""
    owner = {"member": person} if isinstance(person, Member) else {"alumnus": person}
    return htmx.render("selfservice/links.html", "selfservice/_links.html", **owner, open_links=operations.open_links(person))


def _links_answer(person, message):
    if htmx.is_htmx():
        return htmx.notify(_links_panel(person), message)
    flash(message, "success")
    if isinstance(person, Member):
        return redirect(url_for("associations.show_member", member_id=person.id), 303)
    return redirect(url_for("alumni.show_alumnus", alumnus_id=person.id), 303)


def _sent(person, sent: bool):
    return _links_answer(person, _("A personal link is on its way to %(email)s.", email=person.email) if sent
                         else _("This person has no email address to send a link to."))


@bp.get("/self-service/members/<int:member_id>/links")
@roles(*access.STAFF)
def member_links_panel(member_id: int):
    """The member page's panel (loaded by htmx): open links, send one, revoke them."""
    return _links_panel(access.load(Member, member_id))


@bp.post("/self-service/members/<int:member_id>/links")
@roles(*access.STAFF)
def send_member_link(member_id: int):
    member = access.load(Member, member_id)
    sent = operations.send_member_link(member, current_user)
    db.session.commit()
    return _sent(member, sent)


@bp.post("/self-service/members/<int:member_id>/links/revoke")
@roles(*access.STAFF)
def revoke_member_links(member_id: int):
    member = access.load(Member, member_id)
    count = operations.revoke_links(member)
    db.session.commit()
    return _links_answer(member, _("Links revoked: %(count)d.", count=count))


@bp.get("/self-service/members/feed")
@roles(Role.ADMIN, Role.ASSOCIATION_STAFF)
def member_feed():
    """Recent self-updates of the association's members, each with undo (the association staff home
    loads it by htmx)."""
    return htmx.render("selfservice/member_feed.html", "selfservice/_member_feed.html",
                       updates=operations.feed(current_user, members=True))


@bp.get("/self-service/feed")
@roles(*STAFF)
def feed():
    """Recent self-updates (the home page loads it by htmx from templates/selfservice/_feed.html)."""
    prefecture_id = access.own_prefecture()
    currency = operations.currency_of(prefecture_id) if prefecture_id else None
    return htmx.render("selfservice/feed.html", "selfservice/_feed.html", updates=operations.feed(current_user),
                       currency=currency, share=operations.protected_share(*currency) if currency else None)


@bp.post("/self-service/updates/<int:update_id>/undo")
@roles(*access.STAFF)
def undo(update_id: int):
    """Undo an alumnus's self-update (prefecture staff) or an association member's (their association's
    staff), through the scope (404 outside it); answers with the feed it was listed in."""
    entry = access.load(SelfUpdate, update_id)
    panel, page = (member_feed, "selfservice.member_feed") if entry.member_id is not None else (feed, "selfservice.feed")
    try:
        operations.undo(entry, current_user)
        db.session.commit()
        message, status = _("The self-update is undone."), 200
    except operations.StaleUndo as refusal:
        db.session.rollback()
        message, status = str(refusal.message), 409
    except StaleDataError:
        db.session.rollback()
        message, status = str(operations.STALE), 409
    if htmx.is_htmx():
        response = htmx.notify(panel(), message)
        response.status_code = status
        return response
    flash(message, "success" if status == 200 else "error")
    return redirect(url_for(page), 303)


@bp.post("/self-service/confirmation")
@roles(Role.PREFECTURE_STAFF)
def send_confirmation():
    """The annual "please check your details" mailing to the prefecture's alumni."""
    count = operations.send_confirmation_mailing(current_user.prefecture_id, current_user)
    db.session.commit()
    flash(_("Confirmation requests queued: %(count)d.", count=count), "success")
    return redirect(url_for("selfservice.feed"), 303)


@bp.get("/self-service/currency")
@roles(*REPORT_ROLES)
def currency():
    """How current each prefecture's registry is: a share under disclosure control (the national
    dashboard loads it by htmx)."""
    counts = operations.currency_counts()
    prefectures = db.session.scalars(select(Prefecture).order_by(Prefecture.id)).all()
    rows = [(prefecture, operations.protected_share(*counts.get(prefecture.id, (0, 0)))) for prefecture in prefectures]
    return htmx.render("selfservice/currency.html", "selfservice/_currency.html", rows=rows)
