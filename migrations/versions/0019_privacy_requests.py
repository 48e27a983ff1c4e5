"""privacy requests: APPI requests for disclosure, correction and suspension of use

Revision ID: 0019
Revises: 0016
Create Date: 2026-12-03 22:00:00
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0019'
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "privacy_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("prefecture_id", sa.Integer(), nullable=False),
        sa.Column("alumnus_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("identity_verified_by", sa.String(length=200), nullable=False),
        sa.Column("requester_contact", sa.String(length=300), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("extension_days", sa.Integer(), nullable=True),
        sa.Column("extension_reason", sa.Text(), nullable=True),
        sa.Column("extension_notified_on", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("decision", sa.String(length=20), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column("decided_on", sa.Date(), nullable=True),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.CheckConstraint("extension_days IS NULL OR (extension_days >= 1 AND extension_days <= 30)",
                           name=op.f("ck_privacy_requests_extension_within_limit")),
        sa.ForeignKeyConstraint(["alumnus_id"], ["alumni.id"], name=op.f("fk_privacy_requests_alumnus_id_alumni"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["prefecture_id"], ["prefectures.id"], name=op.f("fk_privacy_requests_prefecture_id_prefectures")),
        sa.ForeignKeyConstraint(["recorded_by_id"], ["users.id"], name=op.f("fk_privacy_requests_recorded_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privacy_requests")),
    )
    with op.batch_alter_table("privacy_requests", schema=None) as batch_op:
        batch_op.create_index("ix_privacy_requests_prefecture_status_due", ["prefecture_id", "status", "due_on"], unique=False)
        batch_op.create_index(batch_op.f("ix_privacy_requests_alumnus_id"), ["alumnus_id"], unique=False)


def downgrade():
    op.drop_table("privacy_requests")
