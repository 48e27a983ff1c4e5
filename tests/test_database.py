"""SQLite settings, write transactions under concurrency, and migrations on SQLite and PostgreSQL."""
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import func, inspect, select, text

from crm import create_app
from crm.db import schema_filter
from crm.extensions import db
from crm.reference.models import Prefecture
from tests.conftest import build_schema, in_threads, reset_schema

ROOT = Path(__file__).resolve().parent.parent


def test_sqlite_pragmas(tmp_path):
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/p.sqlite"})
    with app.app_context(), db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_read_then_write_transactions_do_not_fail_with_database_is_locked(tmp_path):
    """Two workers each read a counter and write it back, many times, at the same time."""
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/c.sqlite"})
    with app.app_context():
        with db.engine.begin() as connection:
            connection.exec_driver_sql("CREATE TABLE counter (n INTEGER)")
            connection.exec_driver_sql("INSERT INTO counter VALUES (0)")
    rounds = 40

    def count():
        for _ in range(rounds):
            value = db.session.execute(text("SELECT n FROM counter")).scalar()
            db.session.execute(text("UPDATE counter SET n = :n"), {"n": value + 1})
            db.session.commit()

    assert in_threads(app, count) == []
    with app.app_context():
        # IMMEDIATE serialises the read-modify-write, so no increment is lost either.
        assert db.session.execute(text("SELECT n FROM counter")).scalar() == 4 * rounds


@pytest.fixture
def empty_database(app, database_url, tmp_path):
    """An empty database of the kind under test; for PostgreSQL the shared test database, rebuilt after."""
    if database_url.startswith("sqlite"):
        migration_app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/m.sqlite"})
        yield migration_app
        return
    with app.app_context():
        db.session.remove()
        reset_schema(db.engine)
    try:
        yield app
    finally:
        with app.app_context():
            db.session.remove()
            reset_schema(db.engine)
            build_schema()


def _schema_differences():
    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_object": schema_filter(connection.dialect.name)}
        )
        return compare_metadata(context, db.metadata)


def test_migrations_upgrade_downgrade_upgrade_and_match_the_models(empty_database):
    directory = str(ROOT / "migrations")
    with empty_database.app_context():
        upgrade(directory=directory)
        assert db.session.scalar(select(func.count()).select_from(Prefecture)) == 47
        db.session.remove()
        assert _schema_differences() == []
        db.session.remove()
        downgrade(directory=directory, revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade(directory=directory)
        assert _schema_differences() == []
        assert db.session.get(Prefecture, 31).name_ja == "鳥取県"
        db.session.remove()
