"""search backlog: an import's alumni join SQLite's search tables after its commit, in short batches (issue 12)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 16:10:00

"""
from alembic import op
import sqlalchemy as sa

# As in crm/alumni/models.py (ALUMNI_SEARCH_DDL, ALUMNI_NAMES_DDL), copied so that this migration
# never changes with the app: the triggers leave rows of a backlog range alone.
NEW_INDEXED = "NOT EXISTS (SELECT 1 FROM alumni_search_backlog WHERE new.id BETWEEN first_id AND last_id)"
OLD_INDEXED = "NOT EXISTS (SELECT 1 FROM alumni_search_backlog WHERE old.id BETWEEN first_id AND last_id)"
NAMES = "family_name, given_name, name_katakana"
OLD_NAMES = "old.family_name, old.given_name, old.name_katakana"
NEW_NAMES = "new.family_name, new.given_name, new.name_katakana"
NAME_CHANGED = "old.family_name IS NOT new.family_name OR old.given_name IS NOT new.given_name OR old.name_katakana IS NOT new.name_katakana"


def _triggers(guarded: bool) -> dict[str, str]:
    new, old = (f" WHEN {NEW_INDEXED}", f" AND {OLD_INDEXED}") if guarded else ("", "")
    old_only = f" WHEN {OLD_INDEXED}" if guarded else ""
    return {
        "alumni_search_insert": f"CREATE TRIGGER alumni_search_insert AFTER INSERT ON alumni{new} BEGIN"
                                " INSERT INTO alumni_search(rowid, search_text) VALUES (new.id, new.search_text); END",
        "alumni_search_delete": f"CREATE TRIGGER alumni_search_delete AFTER DELETE ON alumni{old_only} BEGIN"
                                " INSERT INTO alumni_search(alumni_search, rowid, search_text) VALUES ('delete', old.id, old.search_text); END",
        "alumni_search_update": f"CREATE TRIGGER alumni_search_update AFTER UPDATE ON alumni WHEN old.search_text IS NOT new.search_text{old} BEGIN"
                                " INSERT INTO alumni_search(alumni_search, rowid, search_text) VALUES ('delete', old.id, old.search_text);"
                                " INSERT INTO alumni_search(rowid, search_text) VALUES (new.id, new.search_text); END",
        "alumni_names_insert": f"CREATE TRIGGER alumni_names_insert AFTER INSERT ON alumni{new} BEGIN"
                               f" INSERT INTO alumni_names(rowid, {NAMES}) VALUES (new.id, {NEW_NAMES}); END",
        "alumni_names_delete": f"CREATE TRIGGER alumni_names_delete AFTER DELETE ON alumni{old_only} BEGIN"
                               f" INSERT INTO alumni_names(alumni_names, rowid, {NAMES}) VALUES ('delete', old.id, {OLD_NAMES}); END",
        "alumni_names_update": f"CREATE TRIGGER alumni_names_update AFTER UPDATE ON alumni WHEN "
                               + (f"({NAME_CHANGED}){old}" if guarded else NAME_CHANGED) + " BEGIN"
                               f" INSERT INTO alumni_names(alumni_names, rowid, {NAMES}) VALUES ('delete', old.id, {OLD_NAMES});"
                               f" INSERT INTO alumni_names(rowid, {NAMES}) VALUES (new.id, {NEW_NAMES}); END",
    }


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('alumni_search_backlog',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('first_id', sa.Integer(), nullable=False),
                    sa.Column('last_id', sa.Integer(), nullable=False),
                    sa.PrimaryKeyConstraint('id', name=op.f('pk_alumni_search_backlog')))
    if op.get_bind().dialect.name == "sqlite":
        for name, statement in _triggers(guarded=True).items():
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
            op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        for name, statement in _triggers(guarded=False).items():
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
            op.execute(statement)
    op.drop_table('alumni_search_backlog')
