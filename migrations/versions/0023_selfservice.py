"""selfservice: personal links, self-updates, alumni.confirmed_on, ambassador_activities.self_reported

Revision ID: 0023
Revises: 0020
Create Date: 2026-12-04 14:00:00
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0023'
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMN (no batch copy): alumni has triggers and a computed column a copy would have to rebuild.
    op.add_column("alumni", sa.Column("confirmed_on", sa.Date(), nullable=True))
    op.add_column("ambassador_activities", sa.Column("self_reported", sa.Boolean(), server_default="0", nullable=False))
    op.create_table(
        "personal_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("alumnus_id", sa.Integer(), nullable=True),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("(alumnus_id IS NULL) <> (member_id IS NULL)", name="one_person"),
        sa.ForeignKeyConstraint(["alumnus_id"], ["alumni.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["member_id"], ["association_members.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index(op.f("ix_personal_links_alumnus_id"), "personal_links", ["alumnus_id"], unique=False)
    op.create_index(op.f("ix_personal_links_member_id"), "personal_links", ["member_id"], unique=False)
    op.create_table(
        "self_updates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alumnus_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=True),
        sa.Column("activity_id", sa.Integer(), nullable=True),
        sa.Column("prefecture_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("undone_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("undone_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["alumnus_id"], ["alumni.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["activity_id"], ["ambassador_activities.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["prefecture_id"], ["prefectures.id"]),
        sa.ForeignKeyConstraint(["undone_by_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_self_updates_alumnus_id"), "self_updates", ["alumnus_id"], unique=False)
    op.create_index(op.f("ix_self_updates_at"), "self_updates", ["at"], unique=False)


def downgrade():
    op.drop_index(op.f("ix_self_updates_at"), table_name="self_updates")
    op.drop_index(op.f("ix_self_updates_alumnus_id"), table_name="self_updates")
    op.drop_table("self_updates")
    op.drop_index(op.f("ix_personal_links_member_id"), table_name="personal_links")
    op.drop_index(op.f("ix_personal_links_alumnus_id"), table_name="personal_links")
    op.drop_table("personal_links")
    op.drop_column("ambassador_activities", "self_reported")
    op.drop_column("alumni", "confirmed_on")
