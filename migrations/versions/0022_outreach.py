"""outreach: mailing lists, subscriptions with their consent history, sends, RSVP answers;
preferred_language on alumni and members; the one newsletter_consent flag becomes a confirmed
subscription to each of the person's prefectures' default list, then is dropped

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-04 14:00:00
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0022'
down_revision = "0021"
branch_labels = None
depends_on = None

WORDING = ("Migrated from the former single newsletter consent flag (one flag shared by every prefecture "
           "the person served in): a subscription to each such prefecture's default list.")


def upgrade():
    op.add_column("alumni", sa.Column("preferred_language", sa.String(length=2), server_default="en", nullable=False))
    op.add_column("association_members", sa.Column("preferred_language", sa.String(length=2), server_default="ja", nullable=False))
    op.execute("UPDATE alumni SET preferred_language = 'ja' WHERE citizenship = 'JP'")

    op.create_table(
        "mailing_lists",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("prefecture_id", sa.Integer(), nullable=True),
        sa.Column("association_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("purpose_ja", sa.Text(), nullable=False),
        sa.Column("purpose_en", sa.Text(), nullable=False),
        sa.Column("public_signup", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("public_archive", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("is_default", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.CheckConstraint("(prefecture_id IS NULL) <> (association_id IS NULL)", name=op.f("ck_mailing_lists_one_owner")),
        sa.ForeignKeyConstraint(["association_id"], ["associations.id"], name=op.f("fk_mailing_lists_association_id_associations")),
        sa.ForeignKeyConstraint(["prefecture_id"], ["prefectures.id"], name=op.f("fk_mailing_lists_prefecture_id_prefectures")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mailing_lists")),
    )
    with op.batch_alter_table("mailing_lists", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mailing_lists_association_id"), ["association_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_mailing_lists_prefecture_id"), ["prefecture_id"], unique=False)
        batch_op.create_index("ux_mailing_lists_default", ["prefecture_id"], unique=True,
                              sqlite_where=sa.text("is_default"), postgresql_where=sa.text("is_default"))

    op.create_table(
        "outreach_sends",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("subject_ja", sa.String(length=200), nullable=False),
        sa.Column("body_ja", sa.Text(), nullable=False),
        sa.Column("subject_en", sa.String(length=200), nullable=False),
        sa.Column("body_en", sa.Text(), nullable=False),
        sa.Column("filters", sa.Text(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("scheduled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("recipient_count", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_outreach_sends_created_by_id_users"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["list_id"], ["mailing_lists.id"], name=op.f("fk_outreach_sends_list_id_mailing_lists"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["program_id"], ["association_programs.id"], name=op.f("fk_outreach_sends_program_id_association_programs"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outreach_sends")),
    )
    with op.batch_alter_table("outreach_sends", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outreach_sends_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_outreach_sends_list_id"), ["list_id"], unique=False)

    op.create_table(
        "subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("alumnus_id", sa.Integer(), nullable=True),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("language", sa.String(length=2), nullable=True),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.CheckConstraint("alumnus_id IS NULL OR member_id IS NULL", name=op.f("ck_subscriptions_one_person")),
        sa.CheckConstraint("alumnus_id IS NOT NULL OR member_id IS NOT NULL OR email IS NOT NULL", name=op.f("ck_subscriptions_someone")),
        sa.ForeignKeyConstraint(["alumnus_id"], ["alumni.id"], name=op.f("fk_subscriptions_alumnus_id_alumni"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["list_id"], ["mailing_lists.id"], name=op.f("fk_subscriptions_list_id_mailing_lists"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["member_id"], ["association_members.id"], name=op.f("fk_subscriptions_member_id_association_members"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscriptions")),
        sa.UniqueConstraint("list_id", "alumnus_id", name="uq_subscriptions_list_alumnus"),
        sa.UniqueConstraint("list_id", "email", name="uq_subscriptions_list_email"),
        sa.UniqueConstraint("list_id", "member_id", name="uq_subscriptions_list_member"),
    )
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_subscriptions_alumnus_id"), ["alumnus_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_subscriptions_member_id"), ["member_id"], unique=False)
        batch_op.create_index("ix_subscriptions_list_status", ["list_id", "status"], unique=False)

    op.create_table(
        "consent_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(length=30), nullable=False),
        sa.Column("how", sa.String(length=30), nullable=False),
        sa.Column("by_id", sa.Integer(), nullable=True),
        sa.Column("wording", sa.Text(), nullable=False),
        sa.Column("send_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["by_id"], ["users.id"], name=op.f("fk_consent_events_by_id_users"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["send_id"], ["outreach_sends.id"], name=op.f("fk_consent_events_send_id_outreach_sends"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["subscription_id"], ["subscriptions.id"], name=op.f("fk_consent_events_subscription_id_subscriptions"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_events")),
    )
    with op.batch_alter_table("consent_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_consent_events_subscription_id"), ["subscription_id"], unique=False)

    op.create_table(
        "outreach_rsvps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("send_id", sa.Integer(), nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("answer", sa.String(length=30), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["program_id"], ["association_programs.id"], name=op.f("fk_outreach_rsvps_program_id_association_programs"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["send_id"], ["outreach_sends.id"], name=op.f("fk_outreach_rsvps_send_id_outreach_sends"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["subscription_id"], ["subscriptions.id"], name=op.f("fk_outreach_rsvps_subscription_id_subscriptions"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outreach_rsvps")),
        sa.UniqueConstraint("send_id", "subscription_id", name="uq_outreach_rsvps_send_subscription"),
    )
    with op.batch_alter_table("outreach_rsvps", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outreach_rsvps_program_id"), ["program_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_outreach_rsvps_subscription_id"), ["subscription_id"], unique=False)

    _migrate_newsletter_consent()
    # Not a batch (which would copy the table with its computed column, triggers and search index):
    # SQLite 3.35+ and PostgreSQL drop a column in place.
    op.execute("ALTER TABLE alumni DROP COLUMN newsletter_consent")


def _migrate_newsletter_consent():
    """Each prefecture where someone with the flag served gets a default list; each such person a
    confirmed subscription there (people whose use has ceased: none), with a consent event saying so."""
    consenting = ("SELECT DISTINCT p.prefecture_id, a.id AS alumnus_id, a.consent_on FROM alumni a "
                  "JOIN placements p ON p.alumnus_id = a.id "
                  "WHERE a.newsletter_consent AND NOT a.cease_use AND a.archived_at IS NULL")
    op.execute(
        "INSERT INTO mailing_lists (prefecture_id, name, purpose_ja, purpose_en, public_signup, public_archive, is_default, "
        "created_at, version) "
        "SELECT f.id, f.name_ja || 'ニュースレター', f.name_ja || 'が元JET参加者にお知らせ・イベント案内を送るため', "
        "'News and event invitations from ' || f.name_en || ' to its JET alumni', "
        f"{_false()}, {_false()}, {_true()}, CURRENT_TIMESTAMP, 1 FROM prefectures f "
        f"WHERE f.id IN (SELECT prefecture_id FROM ({consenting}) c)")
    op.execute(
        "INSERT INTO subscriptions (list_id, alumnus_id, status, confirmed_at, created_at, version) "
        "SELECT l.id, c.alumnus_id, 'subscribed', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 1 "
        f"FROM ({consenting}) c JOIN mailing_lists l ON l.prefecture_id = c.prefecture_id AND l.is_default")
    op.get_bind().execute(sa.text(
        "INSERT INTO consent_events (subscription_id, at, action, how, wording) "
        "SELECT s.id, CURRENT_TIMESTAMP, 'subscribed', 'migration', :wording FROM subscriptions s"), {"wording": WORDING})


def _true():
    return "true" if op.get_bind().dialect.name == "postgresql" else "1"


def _false():
    return "false" if op.get_bind().dialect.name == "postgresql" else "0"


def downgrade():
    op.add_column("alumni", sa.Column("newsletter_consent", sa.Boolean(), server_default="0", nullable=False))
    op.execute("UPDATE alumni SET newsletter_consent = " + _true() + " WHERE id IN (SELECT alumnus_id FROM subscriptions "
               "WHERE alumnus_id IS NOT NULL AND status = 'subscribed')")
    op.drop_table("outreach_rsvps")
    op.drop_table("consent_events")
    op.drop_table("subscriptions")
    op.drop_table("outreach_sends")
    op.drop_table("mailing_lists")
    op.execute("ALTER TABLE association_members DROP COLUMN preferred_language")
    op.execute("ALTER TABLE alumni DROP COLUMN preferred_language")
