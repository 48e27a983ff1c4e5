"""alumni scope and short words: name-word prefix indexes for one- and two-character searches (issue 3)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23 04:40:00

"""
from alembic import op
import sqlalchemy as sa

# As in crm/alumni/models.py (ALUMNI_NAMES_DDL, NAME_WORDS), copied so that this migration never
# changes with the app.
NAMES = "family_name, given_name, name_katakana"
OLD_NAMES = "old.family_name, old.given_name, old.name_katakana"
NEW_NAMES = "new.family_name, new.given_name, new.name_katakana"
NAMES_DDL = (
    f"CREATE VIRTUAL TABLE alumni_names USING fts5({NAMES}, content='alumni', content_rowid='id',"
    " tokenize='unicode61 remove_diacritics 0', prefix='1 2')",
    f"CREATE TRIGGER alumni_names_insert AFTER INSERT ON alumni BEGIN"
    f" INSERT INTO alumni_names(rowid, {NAMES}) VALUES (new.id, {NEW_NAMES}); END",
    f"CREATE TRIGGER alumni_names_delete AFTER DELETE ON alumni BEGIN"
    f" INSERT INTO alumni_names(alumni_names, rowid, {NAMES}) VALUES ('delete', old.id, {OLD_NAMES}); END",
    "CREATE TRIGGER alumni_names_update AFTER UPDATE ON alumni WHEN old.family_name IS NOT new.family_name"
    " OR old.given_name IS NOT new.given_name OR old.name_katakana IS NOT new.name_katakana BEGIN"
    f" INSERT INTO alumni_names(alumni_names, rowid, {NAMES}) VALUES ('delete', old.id, {OLD_NAMES});"
    f" INSERT INTO alumni_names(rowid, {NAMES}) VALUES (new.id, {NEW_NAMES}); END",
)
NAME_WORDS = "to_tsvector('simple', family_name || ' ' || given_name || ' ' || coalesce(name_katakana, ''))"

# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "sqlite":
        for statement in NAMES_DDL:
            op.execute(statement)
        op.execute("INSERT INTO alumni_names(alumni_names) VALUES ('rebuild')")
    else:
        op.create_index('ix_alumni_name_words', 'alumni', [sa.text(NAME_WORDS)], unique=False, postgresql_using='gin')


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("alumni_names_update", "alumni_names_delete", "alumni_names_insert"):
            op.execute(f"DROP TRIGGER {trigger}")
        op.execute("DROP TABLE alumni_names")
    else:
        op.drop_index('ix_alumni_name_words', table_name='alumni', postgresql_using='gin')
