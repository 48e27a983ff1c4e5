"""Command-line tools: `flask --app crm create-user …`, `flask --app crm seed-demo`, `flask --app crm reports warm`,
`flask --app crm worker`, `flask --app crm retention report|apply`, `flask --app crm outbox run|bounces|status`,
`flask --app crm mailing lists|send`."""
from __future__ import annotations

import gc
import sys

import click
from flask import Flask
from flask.cli import with_appcontext
from sqlalchemy import func, select

from crm import audit
from crm.auth import operations as accounts
from crm.auth.models import Role
from crm.db import map_no_memory
from crm.extensions import db
from crm.mail.cli import outbox_group
from crm.outreach.cli import mailing_group


def register_commands(app: Flask) -> None:
    app.cli.add_command(create_user_command)
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(import_group)
    app.cli.add_command(export_group)
    app.cli.add_command(reports_group)
    app.cli.add_command(worker_command)
    app.cli.add_command(retention_group)
    app.cli.add_command(outbox_group)
    app.cli.add_command(mailing_group)


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


@click.command("worker")
@with_appcontext
@click.option("--threads", default=2, show_default=True, type=click.IntRange(1, 32), help="Tasks run at once.")
def worker_command(threads):
    """Run the task queue's worker: imports' checks and commits, the reports' nightly warm-up. Stop
    it with Ctrl-C or SIGINT (the running tasks finish) or SIGTERM."""
    from crm import tasks

    tasks.consume(threads)


@click.group("import")
def import_group():
    """Import a file: the same checks and report as the web wizard, all rows or none."""


@import_group.command("alumni")
@with_appcontext
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--prefecture", type=click.IntRange(1, 47), required=True, help="JIS code of the importing prefecture.")
@click.option("--format", "fmt", type=click.Choice(["csv", "tsv", "xlsx", "linkedin", "vcard"]), help="Default: detected.")
@click.option("--encoding", help="Default: detected (BOM, UTF-8, CP932, then a detector).")
@click.option("--sheet", help="The XLSX sheet to read (default: the first).")
@click.option("--position", type=click.Choice(["alt", "cir", "sea"]), help="For rows without a position.")
@click.option("--start-year", type=int, help="For rows without a start year.")
@click.option("--mapping", "mapping_name", help="A mapping the prefecture saved in the wizard, by name.")
@click.option("--map", "maps", multiple=True, metavar="COLUMN=KEY",
              help="Import the file's COLUMN as KEY (e.g. '氏名（姓）=family_name'). Repeatable.")
@click.option("--ignore", "ignored", multiple=True, metavar="COLUMN", help="Leave this column of the file out on purpose. Repeatable.")
@click.option("--ignore-unmapped", is_flag=True, help="Leave out every column not mapped.")
@click.option("--dry-run", is_flag=True, help="Check and report; write nothing.")
def import_alumni_command(path, prefecture, fmt, encoding, sheet, position, start_year, mapping_name, maps, ignored,
                          ignore_unmapped, dry_run):
    """Import alumni and their placements; exit status 1 when any row or the file is rejected, or a
    column of the file is neither mapped nor ignored (nothing is left out silently)."""
    from pathlib import Path

    from crm.imports import acting, checking, operations, storage
    from crm.imports.models import JobState
    from crm.formats.problems import problem_message
    from crm.imports.targets import TARGETS

    # A one-shot process that builds and drops several objects a cell: leave the start-up objects out
    # of the cyclic collector's scans (as wsgi.py does) so it runs far less often; the rows hold no
    # cycles worth collecting early, and the scans would grow with the file.
    gc.freeze()
    gc.set_threshold(10_000, 20, 20)
    map_no_memory(db.engine)
    target = TARGETS["alumni"]
    office = acting.prefecture_office(prefecture, f"cli:import (prefecture {prefecture})")
    with acting.acting_for(office), Path(path).open("rb") as upload:
        job = operations.save_upload(upload, Path(path).name, target, office, 1 << 40)
        if fmt or encoding or sheet:
            checking.inspect_file(job, fmt, encoding, sheet=sheet)
        problems = [] if job.problem else _chosen_mapping(job, target, mapping_name, maps, ignored)
        if not job.problem and not problems:
            problems = checking.save_mapping(job, job.mapping or {}, {"position": position or "", "start_year": str(start_year or "")})
        db.session.commit()
        if job.problem or problems:
            storage.discard_upload(job)
            for message in ([problem_message(job.problem)] if job.problem else problems):
                click.echo(message, err=True)
            sys.exit(1)
        for header in (job.options or {}).get("not_kept") or ():
            click.echo(f"not kept on purpose (not needed for the purpose of use): {header}", err=True)
        left_out = [header for header in checking.unmapped(job) if header not in ignored]
        if left_out and not ignore_unmapped and job.format != "vcard":
            storage.discard_upload(job)
            for header in left_out:
                click.echo(f"unmapped column: {header}", err=True)
            click.echo("Map each with --map 'COLUMN=KEY', or leave it out with --ignore COLUMN or --ignore-unmapped. "
                       "Keys: " + ", ".join(column.key for column in target.import_columns()), err=True)
            sys.exit(1)
        click.echo(f"{job.format}, {job.encoding or '-'}: " + ", ".join(f"{h} → {k}" for h, k in job.mapping.items() if k))
        # A dry run only checks. Otherwise one pass checks and commits (the wizard's commit without a
        # check before it: every row checked, all rolled back and every bad row reported when any is
        # rejected), so a large file is read once.
        phase = JobState.VALIDATING if dry_run else JobState.APPLYING
        job_id = job.id  # the commit ends its transactions and leaves `job` detached
        operations.begin(job_id, JobState.UPLOADED, phase)
        operations.run_phase(job_id, phase)
        db.session.expire_all()
        job = db.session.get(operations.ImportJob, job_id)
    for error in job.errors or []:
        click.echo(f"row {error['row']}: {error['column'] or ''}: {error['message']}", err=True)
    if job.problem:
        click.echo(problem_message(job.problem), err=True)
    if job.state.value == "done":
        click.echo(f"imported: {job.created_count} created, {job.updated_count} updated, {job.unchanged_count} unchanged")
    else:
        storage.discard_upload(job)
        click.echo(f"{job.row_count} rows checked, {job.error_rows} rejected" + ("" if job.errors or job.problem else " (dry run: nothing written)"))
    if job.errors or job.problem:
        sys.exit(1)


def _chosen_mapping(job, target, mapping_name, maps, ignored) -> list[str]:
    """Apply `--mapping NAME`, then each `--map COLUMN=KEY`; → problems (unknown name, column or key)."""
    from crm.imports import mappings

    problems = []
    if mapping_name:
        saved = mappings.named(job.prefecture_id, job.target, mapping_name)
        if saved is None:
            return [f"There is no saved mapping named {mapping_name!r} for this prefecture."]
        problems += [f"The saved mapping's column {header!r} is not in this file." for header in mappings.apply(job, saved)]
    keys = {column.key for column in target.import_columns()}
    mapping = dict(job.mapping or {})
    for item in maps:
        header, equals, key = item.partition("=")
        header, key = header.strip(), key.strip()
        if not equals or header not in (job.headers or []):
            problems.append(f"--map {item!r}: the file has no column {header!r}. Columns: " + ", ".join(job.headers or []))
        elif key and key not in keys:
            problems.append(f"--map {item!r}: unknown key {key!r}. Keys: " + ", ".join(sorted(keys)))
        else:
            mapping[header] = key
    problems += [f"--ignore {header!r}: the file has no such column." for header in ignored if header not in (job.headers or [])]
    job.mapping = {header: key for header, key in mapping.items() if header not in ignored}
    return problems


@click.group("export")
def export_group():
    """Export records to a file (scoped, cease-use people left out, recorded in the audit trail)."""


@export_group.command("alumni")
@with_appcontext
@click.option("--prefecture", type=click.IntRange(1, 47), required=True, help="JIS code of the exporting prefecture.")
@click.option("--format", "fmt", type=click.Choice(["csv", "csv-cp932", "xlsx", "vcard"]), default="csv")
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True)
def export_alumni_command(prefecture, fmt, output):
    """Export a prefecture's alumni and placements."""
    from crm.imports import acting, exports

    office = acting.prefecture_office(prefecture, f"cli:export (prefecture {prefecture})")
    with acting.acting_for(office):
        if fmt == "csv-cp932":
            # What the web export's confirmation step shows: values CP932 cannot hold, as they will read.
            for value, shown in exports.cp932_changes("alumni", {}):
                click.echo(f"CP932 cannot hold {value!r}: written as {shown!r}", err=True)
        rows = exports.export_to_file("alumni", fmt, {}, output)
        db.session.commit()
    click.echo(f"{rows} rows written to {output}")


@click.group("reports")
def reports_group():
    """The precomputed figures of the return reports and the dashboard."""


@reports_group.command("warm")
@with_appcontext
def warm_reports_command():
    """Compute and store the figures reports and the dashboard open on (run after `db upgrade`)."""
    from crm.reports import returns

    computed, publications = returns.warm()
    click.echo(f"Report figures for FY{returns.default_year()} and the {returns.TREND_YEARS - 1} years before: "
               f"{computed} computed and stored, the others were current; protected publications (what the "
               f"ministry reads): {publications} computed and stored.")


@click.group("retention")
def retention_group():
    """The retention rules: a dry run, and anonymisation of the people they select."""


def _retention_report() -> None:
    from crm.retention import operations

    runs, _candidates = operations.dry_run()
    for run in runs:
        click.echo(f"{run.label}: {run.found}")


@retention_group.command("report")
@with_appcontext
def retention_report_command():
    """How many people each rule selects (nothing is changed)."""
    _retention_report()


@retention_group.command("apply")
@click.option("--yes", is_flag=True, help="Anonymise without asking: the people `report` counts.")
@with_appcontext
def retention_apply_command(yes):
    """Anonymise the people the rules select (all prefectures); people already anonymised are skipped."""
    from crm.retention import operations

    _retention_report()
    if not yes:
        raise click.UsageError("anonymisation cannot be undone: read the counts above, then run `apply --yes`")
    with audit.acting_as("cli:retention"):
        done = operations.apply()
        db.session.commit()
    click.echo(f"{sum(done.values())} people anonymised.")
