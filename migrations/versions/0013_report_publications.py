"""report publications: the protected publication of each 年度, stored for every worker (issue 12)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 17:15:00

Computed when first read, or by `flask --app crm reports warm`.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "report_publications",
        sa.Column("fiscal_year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("method", sa.String(length=64), nullable=False),
        sa.Column("generation", sa.BigInteger(), nullable=False),
        sa.Column("publication", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("fiscal_year"),
    )


def downgrade():
    op.drop_table("report_publications")
