"""ambassadors: the day staff decided to let a term end (the home queue stops asking about it)

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-04 17:20:00
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("ambassadors") as batch:
        batch.add_column(sa.Column("end_confirmed_on", sa.Date(), nullable=True))


def downgrade():
    with op.batch_alter_table("ambassadors") as batch:
        batch.drop_column("end_confirmed_on")
