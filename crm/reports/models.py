"""Precomputed report figures and what keeps them exact: a generation per (prefecture, 年度), bumped
by the database itself whenever a row that feeds the figures changes.

Why triggers rather than an ORM hook: the figures read contact entries, activities, placements,
alumni, ambassadors and investment, and these are written by forms (ORM), by imports and merges
(Core INSERT / UPDATE), by foreign-key cascades (deleting an alumnus) and by the benchmark
generator. A trigger sees every one of them, in the writing transaction, so a figure can never be
served for data it has not seen; no write path has to remember anything. The same DDL is installed
by `create_all` (tests, benchmarks) and by migration 0008.

- SQLite: row triggers, each an UPSERT of one generation row (cheap: no MVCC, writers are serial).
- PostgreSQL: statement triggers with transition tables record the changed (prefecture, 年度)
  pairs once per statement (not per row) in report_changes; a deferred constraint trigger turns
  them into bumps when the transaction commits. Bumping at once would lock the generation row
  until commit, so a long import would block every other writer of its prefecture.

A contact entry, an activity or an investment row feeds one 年度 and bumps that year only;
placements, ambassadors and alumni bump every year of the prefecture. Alumni rows feed the figures
through four columns only (consent, cease of use, archive, country of residence); other edits (names,
emails) bump nothing. Two all-years counters tell apart what feeds which part of the figures
(crm.reports.returns): `EVERY_YEAR` counts every all-years change (the cohort part: tracked,
reachable, ambassadors), `MEMBERSHIP` only those that change who belongs to the cohort (placements,
archive, country of residence), the one all-years input of the activity part (engaged, activities,
their sums) — so a consent change or an appointment leaves the activity figures current, and an
activity leaves the cohort figures current.
"""
from __future__ import annotations

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, event
from sqlalchemy.orm import Mapped, mapped_column

from crm.alumni.models import Alumnus
from crm.extensions import db


class ReportGeneration(db.Model):
    """How many times the data behind a prefecture's figures changed: for one 年度 (contact entries,
    activities, investment), or for every year at once (`fiscal_year` EVERY_YEAR: placements, alumni,
    ambassadors, which feed the cumulative and term-spanning figures; MEMBERSHIP: the subset of
    those that change cohort membership). Written by triggers only; a missing row is generation 0.
    The generation of stored figures is the sum of the counters they read: all only grow, so the
    sum changes whenever one does."""

    __tablename__ = "report_generations"

    prefecture_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    fiscal_year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    generation: Mapped[int] = mapped_column(BigInteger, default=0)


class ReportFigures(db.Model):
    """Raw (unsuppressed) figures of one prefecture and 年度 under one key (the report's cohort
    filter, or the countries section), as computed at `generation`; current while the generation of
    (prefecture, 年度) is unchanged."""

    __tablename__ = "report_figures"

    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    fiscal_year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    prefecture_id: Mapped[int] = mapped_column(ForeignKey("prefectures.id", ondelete="CASCADE"), primary_key=True,
                                               autoincrement=False)
    generation: Mapped[int] = mapped_column(BigInteger)
    figures: Mapped[dict] = mapped_column(JSON)


class ReportPublication(db.Model):
    """The protected publication of one 年度 (crm.reports.protection: what every reader under
    disclosure control sees), as computed at `generation` — the sum of every counter its figures
    read: all prefectures' all-years counters and those of the 年度 and the two around it — by the
    protection code `method` (a digest of it: a deploy that changes the method recomputes). Kept in
    the database so that every worker and server serves it without protecting the 年度 again."""

    __tablename__ = "report_publications"

    fiscal_year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    method: Mapped[str] = mapped_column(String(64))
    generation: Mapped[int] = mapped_column(BigInteger)
    publication: Mapped[dict] = mapped_column(JSON)


class ReportChange(db.Model):
    """PostgreSQL only: the (prefecture, 年度) pairs a transaction changed, recorded as it writes and
    turned into generation bumps when it commits (then deleted): a long import does not hold the
    generation rows locked, and never blocks other writers of its prefecture, until its end."""

    __tablename__ = "report_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    prefecture_id: Mapped[int]
    fiscal_year: Mapped[int]


EVERY_YEAR = 0   # every all-years change: what the cohort part (tracked, reachable, ambassadors) reads
MEMBERSHIP = -1  # only who belongs to the cohort: the all-years input of the activity part (each is
#                   an EVERY_YEAR change too, so figures reading both may count EVERY_YEAR alone)
# Tables whose rows carry the prefecture whose figures they feed, with the counters (fiscal_year of
# report_generations) a row bumps, as SQL over the row (SQLite, PostgreSQL).
COUNTERS_OF = {
    "placements": ((str(EVERY_YEAR), str(EVERY_YEAR)), (str(MEMBERSHIP), str(MEMBERSHIP))),
    "ambassadors": ((str(EVERY_YEAR), str(EVERY_YEAR)),),
    "contact_entries": (("CAST(strftime('%Y', {row}contacted_on) AS INTEGER) - (CAST(strftime('%m', {row}contacted_on) AS INTEGER) < 4)",
                         "(extract(year FROM {row}contacted_on) - CASE WHEN extract(month FROM {row}contacted_on) < 4 THEN 1 ELSE 0 END)::int"),),
    "ambassador_activities": (("{row}fiscal_year", "{row}fiscal_year"),),
    "jet_investments": (("{row}fiscal_year", "{row}fiscal_year"),),
}
# The alumni columns the figures read (crm.reports.returns: cohort, reachable, country filter), and
# those of them that decide membership of the cohort.
ALUMNUS_COLUMNS = ("contact_consent", "cease_use", "archived_at", "residence_country")
MEMBERSHIP_COLUMNS = ("archived_at", "residence_country")

# Recomputing one prefecture reads its cohort's alumni by id (consent, cease of use, country). With
# this covering index PostgreSQL looks each up index-only instead of scanning the whole registry
# for a hash join; SQLite already looks them up by primary key.
COHORT_INDEX = Index("ix_alumni_cohort", Alumnus.id, postgresql_include=["contact_consent", "cease_use", "residence_country"],
                     postgresql_where=Alumnus.archived_at.is_(None)).ddl_if(dialect="postgresql")

_BUMP = ("INSERT INTO report_generations (prefecture_id, fiscal_year, generation) {rows} "
         "ON CONFLICT (prefecture_id, fiscal_year) DO UPDATE SET generation = report_generations.generation + 1")


def _sqlite_triggers() -> list[tuple[str, str]]:
    """(name, CREATE TRIGGER statement) pairs."""
    triggers = []
    for table, years in COUNTERS_OF.items():
        for operation, rows in (("insert", ("NEW",)), ("update", ("OLD", "NEW")), ("delete", ("OLD",))):
            body = "; ".join(_BUMP.format(rows=f"SELECT {row}.prefecture_id, {year.format(row=row + '.')}, 1 "
                                               f"WHERE {row}.prefecture_id IS NOT NULL") for row in rows for year, _ in years)
            name = f"report_touch_{table}_{operation}"
            triggers.append((name, f"CREATE TRIGGER {name} AFTER {operation.upper()} ON {table} BEGIN {body}; END"))
    changed = lambda columns: " OR ".join(f"OLD.{column} IS NOT NEW.{column}" for column in columns)  # noqa: E731
    placements = "; ".join(
        _BUMP.format(rows=f"SELECT DISTINCT prefecture_id, {year}, 1 FROM placements WHERE alumnus_id = NEW.id AND ({changed(columns)})")
        for year, columns in ((EVERY_YEAR, ALUMNUS_COLUMNS), (MEMBERSHIP, MEMBERSHIP_COLUMNS)))
    triggers.append(("report_touch_alumni_update", f"CREATE TRIGGER report_touch_alumni_update AFTER UPDATE OF {', '.join(ALUMNUS_COLUMNS)} "
                                                   f"ON alumni WHEN {changed(ALUMNUS_COLUMNS)} BEGIN {placements}; END"))
    return triggers


def _postgresql_triggers() -> list[str]:
    # Once per pair and transaction (only its own rows are visible): a bulk insert run row by row
    # fires a statement trigger per row, and the commit then has one pair to apply, not thousands.
    record = ("INSERT INTO report_changes (prefecture_id, fiscal_year) SELECT DISTINCT c.prefecture_id, c.fiscal_year "
              "FROM ({rows}) AS c (prefecture_id, fiscal_year) WHERE NOT EXISTS (SELECT FROM report_changes r "
              "WHERE r.prefecture_id = c.prefecture_id AND r.fiscal_year = c.fiscal_year)")
    differs = lambda columns: (f"({', '.join(f'n.{column}' for column in columns)}) IS DISTINCT FROM "  # noqa: E731
                               f"({', '.join(f'o.{column}' for column in columns)})")
    alumni = record.format(rows=" UNION ALL ".join(
        f"SELECT p.prefecture_id, {year} FROM new_rows n JOIN old_rows o ON o.id = n.id "
        f"JOIN placements p ON p.alumnus_id = n.id WHERE {differs(columns)}"
        for year, columns in ((EVERY_YEAR, ALUMNUS_COLUMNS), (MEMBERSHIP, MEMBERSHIP_COLUMNS))))
    apply = _BUMP.format(rows="SELECT DISTINCT prefecture_id, fiscal_year, 1 FROM applied")
    statements = [
        # At commit (deferred), the first of the transaction's recorded changes applies them all.
        "CREATE OR REPLACE FUNCTION report_apply_changes() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"WITH applied AS (DELETE FROM report_changes RETURNING prefecture_id, fiscal_year) {apply}; RETURN NULL; END $$",
        "DROP TRIGGER IF EXISTS report_apply_changes ON report_changes",
        "CREATE CONSTRAINT TRIGGER report_apply_changes AFTER INSERT ON report_changes DEFERRABLE INITIALLY DEFERRED "
        "FOR EACH ROW EXECUTE FUNCTION report_apply_changes()",
        f"CREATE OR REPLACE FUNCTION report_touch_alumni() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {alumni}; RETURN NULL; END $$",
        "CREATE OR REPLACE TRIGGER report_touch_update AFTER UPDATE ON alumni REFERENCING OLD TABLE AS old_rows "
        "NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION report_touch_alumni()",
    ]
    for table, years in COUNTERS_OF.items():
        changed = lambda rows: record.format(rows=" UNION ALL ".join(  # noqa: E731
            f"SELECT prefecture_id, {year.format(row='')} FROM {rows} WHERE prefecture_id IS NOT NULL" for _, year in years))
        # Transition tables exist only for the operations that have them: each branch names its own.
        statements.append(
            f"CREATE OR REPLACE FUNCTION report_touch_{table}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"IF TG_OP IN ('INSERT', 'UPDATE') THEN {changed('new_rows')}; END IF; "
            f"IF TG_OP IN ('UPDATE', 'DELETE') THEN {changed('old_rows')}; END IF; RETURN NULL; END $$")
        for operation, referencing in (("insert", "NEW TABLE AS new_rows"), ("update", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
                                       ("delete", "OLD TABLE AS old_rows")):
            statements.append(f"CREATE OR REPLACE TRIGGER report_touch_{operation} AFTER {operation.upper()} ON {table} "
                              f"REFERENCING {referencing} FOR EACH STATEMENT EXECUTE FUNCTION report_touch_{table}()")
    return statements


def create_triggers(connection) -> None:
    """Install (or refresh: a database made before a change of them gets the new ones) the
    generation triggers; idempotent."""
    if connection.dialect.name == "sqlite":
        for name, statement in _sqlite_triggers():
            connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")
            connection.exec_driver_sql(statement)
        return
    for statement in _postgresql_triggers():
        connection.exec_driver_sql(statement)


def drop_triggers(connection) -> None:
    if connection.dialect.name == "sqlite":
        for name, _statement in _sqlite_triggers():
            connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")
        return
    for table in (*COUNTERS_OF, "alumni"):
        for operation in ("insert", "update", "delete"):
            connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS report_touch_{operation} ON {table}")
        connection.exec_driver_sql(f"DROP FUNCTION IF EXISTS report_touch_{table}()")
    connection.exec_driver_sql("DROP TRIGGER IF EXISTS report_apply_changes ON report_changes")
    connection.exec_driver_sql("DROP FUNCTION IF EXISTS report_apply_changes()")


@event.listens_for(db.metadata, "after_create")
def _after_create(_metadata, connection, **_kw):
    """After every table exists (the triggers span several domains' tables). On a database created
    before these (bench --reuse), `create_all` adds the missing tables only: the index and the
    triggers are added here."""
    if connection.dialect.name == "postgresql":
        COHORT_INDEX.create(connection, checkfirst=True)
    create_triggers(connection)
