"""saved import mappings: a prefecture's column mapping, proposed for files with the same headers

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 18:45:00
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "import_mappings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("prefecture_id", sa.Integer(), nullable=False),
        sa.Column("target", sa.String(length=30), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("headers_key", sa.String(length=64), nullable=False),
        sa.Column("mapping", sa.JSON(), nullable=False),
        sa.Column("defaults", sa.JSON(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("CURRENT_TIMESTAMP"), nullable=False),
        sa.ForeignKeyConstraint(["prefecture_id"], ["prefectures.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("prefecture_id", "target", "name"),
    )
    op.create_index("ix_import_mappings_prefecture_id", "import_mappings", ["prefecture_id"])
    op.create_index("ix_import_mappings_headers_key", "import_mappings", ["headers_key"])


def downgrade():
    op.drop_index("ix_import_mappings_headers_key", table_name="import_mappings")
    op.drop_index("ix_import_mappings_prefecture_id", table_name="import_mappings")
    op.drop_table("import_mappings")
