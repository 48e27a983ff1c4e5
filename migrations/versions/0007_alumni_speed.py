"""alumni speed: list indexes, and SQLite's trigram search index (issue 3)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 03:40:00

"""
from alembic import op
import sqlalchemy as sa

# As in crm/alumni/models.py (ALUMNI_SEARCH_DDL), copied so that this migration never changes with the app.
SEARCH_DDL = (
    "CREATE VIRTUAL TABLE alumni_search USING fts5(search_text, content='alumni', content_rowid='id',"
    " tokenize='trigram')",
    "CREATE TRIGGER alumni_search_insert AFTER INSERT ON alumni BEGIN"
    " INSERT INTO alumni_search(rowid, search_text) VALUES (new.id, new.search_text); END",
    "CREATE TRIGGER alumni_search_delete AFTER DELETE ON alumni BEGIN"
    " INSERT INTO alumni_search(alumni_search, rowid, search_text) VALUES ('delete', old.id, old.search_text); END",
    "CREATE TRIGGER alumni_search_update AFTER UPDATE ON alumni WHEN old.search_text IS NOT new.search_text BEGIN"
    " INSERT INTO alumni_search(alumni_search, rowid, search_text) VALUES ('delete', old.id, old.search_text);"
    " INSERT INTO alumni_search(rowid, search_text) VALUES (new.id, new.search_text); END",
)

# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    # Plain (not batch) operations: a batch rebuild of the alumni table would lose the triggers.
    op.drop_index('ix_alumni_residence_country', table_name='alumni')
    op.create_index('ix_alumni_country_family_name_id', 'alumni', ['residence_country', 'family_name', 'id'], unique=False)
    op.drop_index('ix_alumni_archived_at', table_name='alumni')
    op.create_index('ix_alumni_archived', 'alumni', ['archived_at'], unique=False, sqlite_where=sa.text('archived_at IS NOT NULL'),
                    postgresql_where=sa.text('archived_at IS NOT NULL'))
    op.drop_index('ix_placements_alumnus_id', table_name='placements')
    op.create_index('ix_placements_alumnus_position', 'placements', ['alumnus_id', 'position'], unique=False)
    if op.get_bind().dialect.name == "sqlite":
        for statement in SEARCH_DDL:
            op.execute(statement)
        op.execute("INSERT INTO alumni_search(alumni_search) VALUES ('rebuild')")


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("alumni_search_update", "alumni_search_delete", "alumni_search_insert"):
            op.execute(f"DROP TRIGGER {trigger}")
        op.execute("DROP TABLE alumni_search")
    op.drop_index('ix_placements_alumnus_position', table_name='placements')
    op.create_index('ix_placements_alumnus_id', 'placements', ['alumnus_id'], unique=False)
    op.drop_index('ix_alumni_archived', table_name='alumni')
    op.create_index('ix_alumni_archived_at', 'alumni', ['archived_at'], unique=False)
    op.drop_index('ix_alumni_country_family_name_id', table_name='alumni')
    op.create_index('ix_alumni_residence_country', 'alumni', ['residence_country'], unique=False)
