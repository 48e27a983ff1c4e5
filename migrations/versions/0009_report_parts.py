"""report figures in parts: the triggers also count cohort-membership changes apart (MEMBERSHIP)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23 04:30:00

No table changes: the counters are rows of report_generations. The figures stored by 0008 stay
valid (they read the same counters as before), except its countries sections, now kept in two
parts under other keys: they are deleted. The parts are computed when first needed, or by
`flask --app crm reports warm`.
"""
from alembic import op

# The trigger DDL lives with the models, where create_all (tests, benchmarks) installs it too.
from crm.reports.models import create_triggers


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    create_triggers(op.get_bind())  # replaces 0008's
    op.execute("DELETE FROM report_figures WHERE key LIKE 'countries;%'")


def downgrade():
    # 0008's code reads the EVERY_YEAR and per-年度 counters only, which these triggers bump exactly
    # as 0008's did: they can stay (0008's downgrade drops them). Its countries sections are
    # computed again when first read; the parts stored since would be left unread.
    op.execute("DELETE FROM report_figures WHERE " + " OR ".join(
        f"key LIKE '{part};%'" for part in ("cohort", "activity", "residence", "activity-countries")))
