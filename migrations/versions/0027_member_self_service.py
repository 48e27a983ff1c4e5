"""member self-service: a self-update is an alumnus's or an association member's

Revision ID: 0027
Revises: 0025
Create Date: 2026-12-04 15:00:00
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0027'
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("self_updates") as batch:
        batch.alter_column("alumnus_id", existing_type=sa.Integer(), nullable=True)
        batch.add_column(sa.Column("member_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_self_updates_member_id_association_members", "association_members", ["member_id"], ["id"],
                                 ondelete="CASCADE")
        batch.create_index(batch.f("ix_self_updates_member_id"), ["member_id"], unique=False)


def downgrade():
    op.execute("DELETE FROM self_updates WHERE alumnus_id IS NULL")
    with op.batch_alter_table("self_updates") as batch:
        batch.drop_index(batch.f("ix_self_updates_member_id"))
        batch.drop_constraint("fk_self_updates_member_id_association_members", type_="foreignkey")
        batch.drop_column("member_id")
        batch.alter_column("alumnus_id", existing_type=sa.Integer(), nullable=False)
