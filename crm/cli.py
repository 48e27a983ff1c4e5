"""Command-line tools: `flask --app crm create-user …`, `flask --app crm seed-demo`."""
from __future__ import annotations

import sys

import click
from flask import Flask
from flask.cli import with_appcontext
from sqlalchemy import func, select

from crm import audit
from crm.auth import operations as accounts
from crm.auth.models import Role
from crm.extensions import db


def register_commands(app: Flask) -> None:
    app.cli.add_command(create_user_command)
    app.cli.add_command(seed_demo_command)


@click.command("create-user")
@with_appcontext
@click.argument("email")
@click.option("--role", type=click.Choice([role.value for role in Role]), required=True)
@click.option("--prefecture", type=click.IntRange(1, 47), help="JIS code of the prefecture (prefecture staff).")
@click.option("--association", type=int, help="Id of the association (association staff).")
@click.option("--name", "display_name", default="", help="Display name (defaults to the email).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input instead of prompting.")
def create_user_command(email, role, prefecture, association, display_name, password_stdin):
    """Create an account. The password is never taken from the command line (it would land in shell history)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    with audit.acting_as("cli:create-user"):
        try:
            user = accounts.create_user(
                email, display_name or email, Role(role), password, prefecture_id=prefecture, association_id=association
            )
        except accounts.AccountError as error:
            db.session.rollback()
            raise click.ClickException(str(error)) from None
        db.session.commit()
    click.echo(f"created {user.email} ({user.role.value})")


@click.command("seed-demo")
@with_appcontext
@click.option("--if-empty", is_flag=True, help="Only when the database has no accounts yet (used by `make run`).")
def seed_demo_command(if_empty):
    """Add demo accounts and records; running it again changes nothing."""
    from crm.auth.models import User
    from crm.demo import DEMO_ACCOUNTS, seed

    if if_empty and db.session.scalar(select(func.count()).select_from(User)):
        click.echo("The database already has accounts; demo data not added.")
    else:
        with audit.acting_as("cli:seed-demo"):
            seed()
        click.echo("Demo data is in place.")
    present = set(db.session.scalars(select(User.email).where(User.email.in_([a["email"] for a in DEMO_ACCOUNTS]))))
    if present:
        click.echo("Demo sign-ins:")
    for account in DEMO_ACCOUNTS:
        if account["email"] in present:
            click.echo(f"  {account['email']:<32} {account['password']:<24} {account['role'].value}")
