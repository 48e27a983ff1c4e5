"""`flask --app crm outbox run [--once] | bounces --maildir DIR | --mbox FILE | status`."""
from __future__ import annotations

import logging
import signal
import sys
import threading

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import func, select

from crm.extensions import db
from crm.mail import bounces as bounce_reading
from crm.mail.models import STATUSES, MailAddress, OutboxMessage
from crm.mail.outbox import deliver_due, run


@click.group("outbox")
def outbox_group():
    """The mail outbox: send, read bounces, show what waits."""


@outbox_group.command("run")
@with_appcontext
@click.option("--once", is_flag=True, help="Send what is due, then exit (for cron).")
@click.option("--poll", default=5.0, show_default=True, help="Seconds between looks at the outbox when idle.")
def run_command(once, poll):
    """Send the outbox's due messages; keeps running (SIGTERM or Ctrl-C stops it after the message in hand)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    app = current_app._get_current_object()
    if not app.config.get("SMTP_URL"):
        raise click.ClickException("CRM_SMTP_URL is not set: no SMTP server to send through")
    stop = threading.Event()
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: stop.set())
    if once:
        counts = deliver_due(app, stop)
        click.echo(", ".join(f"{key} {counts.get(key, 0)}" for key in ("sent", "retry", "failed", "waiting")))
        if counts.get("waiting"):
            click.echo("the SMTP server could not be reached: the waiting messages stay queued", err=True)
            sys.exit(75)  # EX_TEMPFAIL: cron tries again
        return
    run(app, stop, poll)


@outbox_group.command("bounces")
@with_appcontext
@click.option("--maildir", type=click.Path(exists=True, file_okay=False), help="A Maildir the bounce address delivers to.")
@click.option("--mbox", type=click.Path(exists=True, dir_okay=False), help="An mbox file of bounces.")
def bounces_command(maildir, mbox):
    """Read delivery status notifications (RFC 3464): hard bounces mark the address, soft ones are counted;
    mails to the List-Unsubscribe mailto unsubscribe."""
    if bool(maildir) == bool(mbox):
        raise click.UsageError("give one of --maildir DIR or --mbox FILE")
    counts = bounce_reading.read_maildir(maildir) if maildir else bounce_reading.read_mbox(mbox)
    click.echo(f"hard {counts.get('hard', 0)}, soft {counts.get('soft', 0)}, not a DSN {counts.get('not a DSN', 0)}, "
               f"unsubscribed {counts.get('unsubscribed', 0)}, unsubscribe refused {counts.get('unsubscribe refused', 0)}")


@outbox_group.command("status")
@with_appcontext
def status_command():
    """Messages per status, the next one due, and the addresses that bounced hard."""
    counts = dict(db.session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all())
    click.echo("  ".join(f"{status} {counts.get(status, 0)}" for status in STATUSES))
    due = db.session.scalar(select(func.min(OutboxMessage.next_attempt_at)).where(OutboxMessage.status == "queued"))
    click.echo(f"next due: {due.isoformat() if due else '-'}")
    hard = db.session.scalar(select(func.count()).where(MailAddress.hard_bounced_at.is_not(None)))
    click.echo(f"hard-bounced addresses: {hard}")
