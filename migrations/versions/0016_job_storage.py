"""queue job storage: an import's upload and the rows its check kept, in the database every server shares

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 18:30:00

Before, both were files in the instance folder of the server that took the upload; the worker of
the task queue (`flask --app crm worker`) may run anywhere.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "import_uploads",
        sa.Column("stored_name", sa.String(length=80), nullable=False),
        sa.Column("part", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("stored_name", "part"),
    )
    op.create_table(
        "import_checked_batches",
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("part", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["import_jobs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("job_id", "fingerprint", "part"),
    )


def downgrade():
    op.drop_table("import_checked_batches")
    op.drop_table("import_uploads")
