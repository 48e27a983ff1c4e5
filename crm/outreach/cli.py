"""`flask --app crm mailing lists` and `flask --app crm mailing send --list ID --subject … --body FILE`."""
from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from crm import audit
from crm.extensions import db
from crm.outreach import operations
from crm.outreach.models import MailingList


@click.group("mailing")
def mailing_group():
    """Mailing lists and sends (outreach)."""


@mailing_group.command("lists")
@with_appcontext
def lists_command():
    """One line per list: id, owner, name, confirmed subscribers."""
    lists = list(db.session.scalars(select(MailingList).order_by(MailingList.id)))
    counts = operations.subscriber_counts(mailing_list.id for mailing_list in lists)
    for mailing_list in lists:
        click.echo(f"{mailing_list.id}\t{mailing_list.owner}\t{mailing_list.name}\t{counts.get(mailing_list.id, 0)}")


@mailing_group.command("send")
@with_appcontext
@click.option("--list", "list_id", type=int, required=True, help="Id of the list (see `mailing lists`).")
@click.option("--subject", required=True, help="Subject in Japanese.")
@click.option("--body", type=click.File("r", encoding="utf-8"), required=True, help="Markdown file in Japanese.")
@click.option("--subject-en", default="", help="Subject in English.")
@click.option("--body-en", type=click.File("r", encoding="utf-8"), help="Markdown file in English.")
def send_command(list_id, subject, body, subject_en, body_en):
    """Queue a send to the list's confirmed subscribers; prints the recipient count."""
    mailing_list = db.session.get(MailingList, list_id)
    if mailing_list is None:
        click.echo(f"No mailing list with id {list_id} (see `flask --app crm mailing lists`).", err=True)
        sys.exit(1)
    values = {"subject_ja": subject, "body_ja": body.read(), "subject_en": subject_en, "body_en": body_en.read() if body_en else ""}
    if not values["body_ja"].strip() and not values["body_en"].strip():
        click.echo("The body is empty: nothing queued.", err=True)
        sys.exit(1)
    try:
        with audit.acting_as("cli:mailing-send"):
            send = operations.create_send(mailing_list, None, values)
            count = operations.queue_send(send)
            db.session.commit()
    except ValueError:
        click.echo("A subject is one line (no line breaks): nothing queued.", err=True)
        sys.exit(1)
    click.echo(count)
