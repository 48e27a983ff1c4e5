"""Outreach pages: lists and their subscribers (staff), compose / preview / test / send with the
delivery log (staff), the ministry's counts, and the public pages: one-click unsubscribe, sign-up
with double opt-in, archive, reading a newsletter in the other language, RSVP."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from flask import abort, flash, render_template, request, url_for
from flask_babel import force_locale, gettext as _
from flask_login import current_user
from sqlalchemy import select

from crm import access, audit, clock, disclosure, htmx
from crm.access import public, roles
from crm.alumni.models import Alumnus, Position, Sector
from crm.alumni.operations import all_tags
from crm.associations.models import Member, Program
from crm.auth.models import Role
from crm.extensions import csrf, db, limiter
from crm.outreach import bp, operations
from crm.outreach.forms import ComposeForm, ListForm, SignupForm
from crm.outreach.models import ConsentHow, MailingList, Send, Subscription, SubscriptionStatus
from crm.reference.countries import country_choices

STAFF = (Role.ADMIN, Role.PREFECTURE_STAFF, Role.ASSOCIATION_STAFF)
OWNERS = (Role.PREFECTURE_STAFF, Role.ASSOCIATION_STAFF)
ALUMNI_STAFF = (Role.ADMIN, Role.PREFECTURE_STAFF)
# Who reach an association's lists (prefecture staff do not: access._mailing_list_scope).
MEMBER_LIST_STAFF = (Role.ADMIN, Role.ASSOCIATION_STAFF)


# --- Lists ------------------------------------------------------------------------------------------

@bp.get("/lists")
@roles(*STAFF)
def list_lists():
    lists = list(db.session.scalars(access.scoped(MailingList).order_by(MailingList.name, MailingList.id)))
    counts = operations.subscriber_counts(mailing_list.id for mailing_list in lists)
    return render_template("outreach/index.html", lists=lists, counts=counts)


@bp.route("/lists/new", methods=["GET", "POST"])
@roles(*OWNERS)
def create_list():
    form = ListForm()
    if form.validate_on_submit():
        values = {key: value for key, value in form.data.items() if key != "csrf_token"}
        mailing_list = operations.create_list(access.list_owner_for_new(), values)
        db.session.commit()
        flash(_("Mailing list created."), "success")
        return htmx.redirect(url_for("outreach.show_list", list_id=mailing_list.id))
    return render_template("outreach/new.html", form=form), 422 if form.is_submitted() else 200


@bp.get("/lists/<int:list_id>")
@roles(*STAFF)
def show_list(list_id: int):
    mailing_list = access.load(MailingList, list_id)
    subscriptions = list(db.session.scalars(access.scoped(Subscription).where(Subscription.list_id == mailing_list.id)
                                            .order_by(Subscription.status, Subscription.id)))
    return htmx.render("outreach/show.html", "outreach/_rows.html", mailing_list=mailing_list, subscriptions=subscriptions,
                       sends=operations.sends_of(mailing_list),
                       confirmed=sum(s.status == SubscriptionStatus.SUBSCRIBED for s in subscriptions))


@bp.post("/selection")
@roles(*ALUMNI_STAFF)
def choose_list():
    """The alumni list's selection (its bulk form): choose the list to add them to."""
    alumni = access.load_many(Alumnus, request.form.getlist("ids"))
    lists = list(db.session.scalars(access.scoped(MailingList).where(MailingList.prefecture_id.is_not(None))
                                    .order_by(MailingList.name)))
    return render_template("outreach/choose.html", people=alumni, lists=lists, target="outreach.add_subscribers")


@bp.post("/member-selection")
@roles(*MEMBER_LIST_STAFF)
def choose_member_list():
    """The member list's selection: choose the association's list to add them to."""
    members = access.load_many(Member, request.form.getlist("ids"))
    associations = {member.association_id for member in members}
    lists = list(db.session.scalars(access.scoped(MailingList).where(MailingList.association_id.in_(associations))
                                    .order_by(MailingList.name)))
    return render_template("outreach/choose.html", people=members, lists=lists, target="outreach.add_members")


def _add_people(mailing_list: MailingList, people: list, subscribe_all):
    """Subscribe the selected people with how and in which words they agreed (the choose page's fields)."""
    how = request.form.get("how", ConsentHow.FORM.value)
    if not people or how not in (ConsentHow.FORM.value, ConsentHow.PAPER.value, ConsentHow.IMPORT.value):
        flash(_("Select at least one person first."), "error")
        return htmx.redirect(url_for("outreach.show_list", list_id=mailing_list.id))
    wording = (request.form.get("wording") or "").strip()[:2000] or mailing_list.purpose("ja")
    added = subscribe_all(mailing_list, people, ConsentHow(how), current_user, wording)
    db.session.commit()
    skipped = len(people) - added
    message = _("%(count)s people subscribed.", count=added)
    if skipped:
        message += " " + _("%(count)s whose use has ceased were not subscribed.", count=skipped)
    flash(message, "success")
    return htmx.redirect(url_for("outreach.show_list", list_id=mailing_list.id))


@bp.post("/lists/<int:list_id>/members")
@roles(*MEMBER_LIST_STAFF)
def add_members(list_id: int):
    """Add the selected members of the list's own association (another association's are ignored)."""
    mailing_list = access.load(MailingList, list_id)
    members = [member for member in access.load_many(Member, request.form.getlist("ids"))
               if mailing_list.association_id is not None and member.association_id == mailing_list.association_id]
    return _add_people(mailing_list, members, operations.subscribe_members)


@bp.post("/lists/<int:list_id>/subscribers")
@roles(*ALUMNI_STAFF)
def add_subscribers(list_id: int):
    mailing_list = access.load(MailingList, list_id)
    return _add_people(mailing_list, access.load_many(Alumnus, request.form.getlist("ids")), operations.subscribe_alumni)


@bp.post("/subscriptions/<int:subscription_id>/remove")
@roles(*STAFF)
def remove_subscriber(subscription_id: int):
    subscription = access.load(Subscription, subscription_id)
    if subscription.status != SubscriptionStatus.UNSUBSCRIBED:
        operations.unsubscribe(subscription, ConsentHow.STAFF, current_user)
        db.session.commit()
    if htmx.is_htmx():
        return render_template("outreach/_row.html", subscription=subscription)
    return htmx.redirect(url_for("outreach.show_list", list_id=subscription.list_id))


@bp.get("/subscriptions/<int:subscription_id>/history")
@roles(*STAFF)
def subscription_history(subscription_id: int):
    subscription = access.load(Subscription, subscription_id)
    return htmx.render("outreach/history.html", "outreach/_history.html", subscription=subscription,
                       events=operations.history(subscription))


@bp.get("/alumni/<int:alumnus_id>/subscriptions")
@roles(*ALUMNI_STAFF)
def person_subscriptions(alumnus_id: int):
    """The person's subscriptions to the user's lists, on their record (loaded by the alumni page)."""
    alumnus = access.load(Alumnus, alumnus_id)
    subscriptions = list(db.session.scalars(access.scoped(Subscription).where(Subscription.alumnus_id == alumnus.id)
                                            .order_by(Subscription.id)))
    return htmx.render("outreach/person.html", "outreach/_panel.html", alumnus=alumnus, subscriptions=subscriptions)


@bp.get("/counts")
@roles(Role.ADMIN, Role.MINISTRY_REVIEWER)
def counts():
    from crm.reference.models import Prefecture
    names = {p.id: p.name for p in db.session.scalars(select(Prefecture))}
    return render_template("outreach/counts.html", rows=operations.counts_by_prefecture(), names=names,
                           legend=disclosure.legend())


# --- Compose, preview, test, send ---------------------------------------------------------------------

def _compose_context(mailing_list, form, filters, **extra):
    return dict(mailing_list=mailing_list, form=form, filters=filters, countries=country_choices(), positions=Position,
                sectors=Sector, tags=all_tags() if mailing_list.prefecture_id else [],
                subscribers=list(db.session.scalars(operations.recipients_query(mailing_list).limit(200))),
                programs=_programs(mailing_list), **extra)


def _programs(mailing_list):
    if mailing_list.association_id:
        statement = select(Program).where(Program.association_id == mailing_list.association_id)
    else:
        statement = access.scoped(Program)
    return list(db.session.scalars(statement.order_by(Program.starts_at.desc()).limit(50)))


def _scheduled_at(value: str | None):
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=clock.TOKYO)
        moment = moment.astimezone(timezone.utc)
    except (ValueError, OverflowError):  # not a time, or one at the calendar's ends (year 1, year 9999)
        return "invalid"
    # A send is scheduled within the coming year; a time already past sends at once.
    if not timedelta(days=-1) <= moment - clock.now() <= timedelta(days=366):
        return "invalid"
    return moment


@bp.route("/lists/<int:list_id>/compose", methods=["GET", "POST"])
@roles(*STAFF)
def compose(list_id: int):
    mailing_list = access.load(MailingList, list_id)
    form = ComposeForm()
    source = request.form if request.method == "POST" else request.args
    filters = operations.send_filters(source) if mailing_list.prefecture_id else {}
    action = request.form.get("action", "")
    context = {}
    if request.method == "POST" and action == "count":
        context["count"] = operations.recipient_count(mailing_list, filters)
        return render_template("outreach/_count.html", **_compose_context(mailing_list, form, filters, **context))
    if form.validate_on_submit():
        values = {key: form.data[key] or "" for key in ("subject_ja", "body_ja", "subject_en", "body_en")}
        program_id = request.form.get("program_id", type=int)
        if program_id is not None and program_id not in {p.id for p in _programs(mailing_list)}:
            abort(404)
        scheduled = _scheduled_at(request.form.get("scheduled_at"))
        if scheduled == "invalid":
            form.form_errors.append(_("Enter a time within the coming year, as YYYY-MM-DDTHH:MM."))
            return render_template("outreach/compose.html", **_compose_context(mailing_list, form, filters)), 422
        if action in ("preview", "test"):
            send = operations.draft_send(mailing_list, current_user, values, filters, scheduled, program_id)
            chosen = request.form.get("preview_as", type=int)
            recipient = None
            if chosen is not None:
                recipient = next((r for r in operations.recipients(mailing_list) if r.subscription_id == chosen), None)
            recipient = recipient or operations.Recipient(0, current_user.email, current_user.display_name or "", "ja")
            if action == "test":
                operations.test_send(send, current_user)
                audit.record_event("outreach_test_send", "mailing_lists", mailing_list.id, to=current_user.email)
                db.session.commit()
                context["notice"] = _("A test letter was queued to %(address)s.", address=current_user.email)
            else:
                context["preview"] = operations.compose(send, recipient)
            return render_template("outreach/compose.html", **_compose_context(mailing_list, form, filters, **context))
        if action == "send":
            send = operations.create_send(mailing_list, current_user, values, filters, scheduled, program_id)
            operations.queue_send(send)
            db.session.commit()
            flash(_("%(count)s letters queued.", count=send.recipient_count), "success")
            return htmx.redirect(url_for("outreach.show_send", send_id=send.id))
    status = 422 if form.is_submitted() else 200
    if request.method == "GET":
        context["count"] = operations.recipient_count(mailing_list, filters)
    return render_template("outreach/compose.html", **_compose_context(mailing_list, form, filters, **context)), status


@bp.get("/sends/<int:send_id>")
@roles(*STAFF)
def show_send(send_id: int):
    send = access.load(Send, send_id)
    return htmx.render("outreach/send.html", "outreach/_progress.html", send=send, progress=operations.progress(send),
                       messages=operations.delivery_log(send), filters=json.loads(send.filters or "{}"),
                       unsubscribed=operations.unsubscribed_by(send), status_labels=operations.STATUS_LABELS, tokyo=clock.TOKYO)


@bp.get("/programs/<int:program_id>/rsvps")
@roles(*STAFF)
def program_rsvps(program_id: int):
    program = access.load(Program, program_id)
    attendees = operations.attendees_to_link(program) if access.reaches_alumni() else []
    return htmx.render("outreach/rsvps.html", "outreach/_rsvps.html", program=program, counts=operations.rsvp_counts(program.id),
                       attendees=attendees)


@bp.post("/programs/<int:program_id>/rsvps/link")
@roles(*ALUMNI_STAFF)
def link_attendees(program_id: int):
    """Link the confirmed attendees (within the user's alumni scope) as the program's participants."""
    program = access.load(Program, program_id)
    linked = operations.link_attendees(program, current_user)
    db.session.commit()
    flash(_("%(count)s attendees linked to the program.", count=linked), "success")
    return htmx.redirect(url_for("associations.show_program", program_id=program.id, _anchor="program-alumni"))


# --- Public pages -----------------------------------------------------------------------------------

def _list_or_404(list_id: int, flag: str) -> MailingList:
    mailing_list = db.session.get(MailingList, list_id)
    if mailing_list is None or not getattr(mailing_list, flag):
        abort(404)
    return mailing_list


@bp.route("/u/<token>", methods=["GET", "POST"])
@public
@csrf.exempt
def unsubscribe(token: str):
    """RFC 8058 one-click: the token authenticates the POST (no sign-in, no CSRF token); a forged or
    already used token is a 404 and changes nothing. The GET only shows the page."""
    found = operations.subscription_for_unsubscribe(token)
    if found is None:
        abort(404)
    subscription, send_id = found
    language = subscription.preferred_language
    if request.method == "POST":
        if operations.already_used(subscription, send_id):
            abort(404)
        if subscription.status != SubscriptionStatus.UNSUBSCRIBED:
            operations.unsubscribe(subscription, ConsentHow.UNSUBSCRIBE_LINK, send_id=send_id)
        db.session.commit()
    with force_locale(language):
        return render_template("outreach/unsubscribe.html", subscription=subscription, token=token,
                               done=request.method == "POST", language=language)


@bp.post("/u/<token>/resubscribe")
@public
def resubscribe(token: str):
    found = operations.subscription_for_unsubscribe(token)
    if found is None:
        abort(404)
    subscription, send_id = found
    if subscription.status == SubscriptionStatus.UNSUBSCRIBED and not subscription.ceased:
        operations.resubscribe(subscription, send_id)
        db.session.commit()
    with force_locale(subscription.preferred_language):
        return render_template("outreach/unsubscribe.html", subscription=subscription, token=token, resubscribed=True,
                               language=subscription.preferred_language)


@bp.route("/lists/<int:list_id>/signup", methods=["GET", "POST"])
@public
@limiter.limit("10 per minute;60 per hour", methods=["POST"])
def signup(list_id: int):
    """Double opt-in: the answer is the same whether or not the address is known or subscribed."""
    mailing_list = _list_or_404(list_id, "public_signup")
    form = SignupForm()
    if form.validate_on_submit():
        operations.request_signup(mailing_list, form.email.data.lower(), form.name.data or "", form.language.data)
        db.session.commit()
        return render_template("outreach/signup.html", mailing_list=mailing_list, form=None, sent=True)
    return render_template("outreach/signup.html", mailing_list=mailing_list, form=form), 422 if form.is_submitted() else 200


@bp.route("/confirm/<token>", methods=["GET", "POST"])
@public
def confirm_signup(token: str):
    """The GET shows a button (mail scanners follow links); the POST confirms."""
    if operations.verify("c", token) is None:
        abort(404)
    subscription = None
    if request.method == "POST":
        subscription = operations.confirm_signup(token)
        if subscription is None:
            abort(404)
        db.session.commit()
    return render_template("outreach/confirm.html", token=token, subscription=subscription)


@bp.get("/lists/<int:list_id>/archive")
@public
def archive(list_id: int):
    mailing_list = _list_or_404(list_id, "public_archive")
    sends = [send for send in operations.sends_of(mailing_list) if operations.is_out(send)]
    return render_template("outreach/archive.html", mailing_list=mailing_list, sends=sends)


@bp.get("/archive/<int:send_id>")
@public
def archived_send(send_id: int):
    send = db.session.get(Send, send_id)
    if send is None or not send.mailing_list.public_archive or not operations.is_out(send):
        abort(404)
    return _read(send)


@bp.get("/read/<token>")
@public
def read_send(token: str):
    """A newsletter in the other language (the link at the top of each letter): signed, so only the
    recipients of the send can read a list's letters that are not in a public archive."""
    parts = operations.verify("v", token)
    send = db.session.get(Send, int(parts[0])) if parts and parts[0].isdigit() else None
    if send is None:
        abort(404)
    return _read(send)


def _read(send: Send):
    language = request.args.get("lang") if request.args.get("lang") in ("ja", "en") else "ja"
    body = (send.body_en if language == "en" else send.body_ja) or send.body_ja or send.body_en
    return render_template("outreach/read.html", send=send, subject=send.subject(language),
                           html=operations.render_markdown(body), language=language)


@bp.route("/rsvp/<token>", methods=["GET", "POST"])
@public
def rsvp(token: str):
    """The GET shows the answer to confirm (mail scanners follow links); the POST records it."""
    parts = operations.verify("r", token)
    if parts is None:
        abort(404)
    answer = None
    if request.method == "POST":
        answer = operations.answer_rsvp(token)
        if answer is None:
            abort(404)
        db.session.commit()
    return render_template("outreach/rsvp.html", token=token, answer=answer, choice=parts[-1])
