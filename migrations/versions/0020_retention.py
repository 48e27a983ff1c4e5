"""retention: requests for deletion and the mark of an anonymised person

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03 22:00:00
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0020'
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "erasure_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alumnus_id", sa.Integer(), nullable=False),
        sa.Column("prefecture_id", sa.Integer(), nullable=True),
        sa.Column("requested_on", sa.Date(), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False),
        sa.ForeignKeyConstraint(["alumnus_id"], ["alumni.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["prefecture_id"], ["prefectures.id"]),
        sa.ForeignKeyConstraint(["recorded_by_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_erasure_requests_alumnus_id"), "erasure_requests", ["alumnus_id"], unique=False)
    op.create_table(
        "anonymisations",
        sa.Column("alumnus_id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=20), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["alumnus_id"], ["alumni.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("alumnus_id"),
    )


def downgrade():
    op.drop_table("anonymisations")
    op.drop_index(op.f("ix_erasure_requests_alumnus_id"), table_name="erasure_requests")
    op.drop_table("erasure_requests")
