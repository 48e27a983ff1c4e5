"""import undo: what each committed batch of a running import wrote, until the import is final

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 18:50:00

An import writes its rows in batches, each in a short transaction of its own (other users' saves
wait for a batch at most); a commit that fails or is cut short is undone from these rows.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "import_undo",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["import_jobs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_import_undo_job_id", "import_undo", ["job_id"])


def downgrade():
    op.drop_index("ix_import_undo_job_id", table_name="import_undo")
    op.drop_table("import_undo")
