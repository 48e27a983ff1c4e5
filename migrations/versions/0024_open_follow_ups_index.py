"""open follow-ups of a prefecture in date order: the home page's office queue

Revision ID: 0024
Revises: 0020
Create Date: 2026-12-04 14:15:00
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0024'
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_contact_entries_prefecture_open", "contact_entries", ["prefecture_id", "done_at", "follow_up_on"], unique=False)


def downgrade():
    op.drop_index("ix_contact_entries_prefecture_open", table_name="contact_entries")
