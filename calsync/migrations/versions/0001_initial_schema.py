"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-23 19:42:00.090853
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import calsync.models

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("password_hash", sa.String(length=256), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("internal_domains", sa.JSON(), nullable=False),
        sa.Column("skip_keywords", sa.JSON(), nullable=True),
        sa.Column("cadence", sa.JSON(), nullable=True),
        sa.Column("feed_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", calsync.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
        sa.UniqueConstraint("feed_token", name=op.f("uq_users_feed_token")),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("created_at", calsync.models.UTCDateTime(), nullable=False),
        sa.Column("last_used_at", calsync.models.UTCDateTime(), nullable=True),
        sa.Column("revoked_at", calsync.models.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_api_tokens_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_tokens_user_id"), ["user_id"], unique=False)

    op.create_table(
        "deals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("key", sa.String(length=300), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", calsync.models.UTCDateTime(), nullable=False),
        sa.Column("closed_at", calsync.models.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_deals_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deals")),
        sa.UniqueConstraint("user_id", "key", name="uq_deals_user_key"),
    )
    with op.batch_alter_table("deals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_deals_user_id"), ["user_id"], unique=False)

    op.create_table(
        "feed_states",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("etag", sa.String(length=80), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("last_modified", calsync.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_feed_states_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_feed_states")),
    )
    op.create_table(
        "sources",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("upload", sa.LargeBinary(), nullable=True),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("cursor", sa.JSON(), nullable=False),
        sa.Column("last_synced_at", calsync.models.UTCDateTime(), nullable=True),
        sa.Column("last_attempt_at", calsync.models.UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("warnings", sa.JSON(), nullable=False),
        sa.Column("failure_count", sa.Integer(), nullable=False),
        sa.Column("next_sync_at", calsync.models.UTCDateTime(), nullable=True),
        sa.Column("locked_until", calsync.models.UTCDateTime(), nullable=True),
        sa.Column("created_at", calsync.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_sources_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sources")),
    )
    with op.batch_alter_table("sources", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sources_next_sync_at"), ["next_sync_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_sources_user_id"), ["user_id"], unique=False)

    op.create_table(
        "followups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("deal_id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=64), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("start", calsync.models.UTCDateTime(), nullable=False),
        sa.Column("end", calsync.models.UTCDateTime(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("changed_at", calsync.models.UTCDateTime(), nullable=False),
        sa.Column("cancelled_at", calsync.models.UTCDateTime(), nullable=True),
        sa.Column("created_at", calsync.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["deal_id"], ["deals.id"], name=op.f("fk_followups_deal_id_deals"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_followups_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_followups")),
        sa.UniqueConstraint("uid", name=op.f("uq_followups_uid")),
    )
    with op.batch_alter_table("followups", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_followups_deal_id"), ["deal_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_followups_user_id"), ["user_id"], unique=False)

    op.create_table(
        "meetings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=True),
        sa.Column("uid", sa.String(length=1024), nullable=False),
        sa.Column("recurrence_id", sa.String(length=64), nullable=False),
        sa.Column("series_uid", sa.String(length=1024), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("start", calsync.models.UTCDateTime(), nullable=False),
        sa.Column("end", calsync.models.UTCDateTime(), nullable=False),
        sa.Column("all_day", sa.Boolean(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attendees", sa.JSON(), nullable=False),
        sa.Column("organizer", sa.String(length=320), nullable=False),
        sa.Column("location", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("prompt_skip", sa.String(length=32), nullable=True),
        sa.Column("updated_at", calsync.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
            name=op.f("fk_meetings_source_id_sources"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_meetings_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meetings")),
        sa.UniqueConstraint("source_id", "uid", "recurrence_id", name="uq_meetings_key"),
    )
    with op.batch_alter_table("meetings", schema=None) as batch_op:
        batch_op.create_index("ix_meetings_user_end", ["user_id", "end"], unique=False)
        batch_op.create_index(batch_op.f("ix_meetings_user_id"), ["user_id"], unique=False)

    op.create_table(
        "skipped_series",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("series_uid", sa.String(length=1024), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
            name=op.f("fk_skipped_series_source_id_sources"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_skipped_series_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_skipped_series")),
        sa.UniqueConstraint("user_id", "source_id", "series_uid", name="uq_skipped_series"),
    )
    with op.batch_alter_table("skipped_series", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_skipped_series_user_id"), ["user_id"], unique=False)

    op.create_table(
        "prompts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=True),
        sa.Column("followup_id", sa.Integer(), nullable=True),
        sa.Column("deal_id", sa.Integer(), nullable=True),
        sa.Column("touch_at", calsync.models.UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("no_reason", sa.String(length=32), nullable=True),
        sa.Column("dismiss_reason", sa.String(length=32), nullable=True),
        sa.Column("snoozed_until", calsync.models.UTCDateTime(), nullable=True),
        sa.Column("planned_followup_id", sa.Integer(), nullable=True),
        sa.Column("answered_at", calsync.models.UTCDateTime(), nullable=True),
        sa.Column("created_at", calsync.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["deal_id"], ["deals.id"], name=op.f("fk_prompts_deal_id_deals"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["followup_id"],
            ["followups.id"],
            name=op.f("fk_prompts_followup_id_followups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meetings.id"],
            name=op.f("fk_prompts_meeting_id_meetings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["planned_followup_id"],
            ["followups.id"],
            name=op.f("fk_prompts_planned_followup_id_followups"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_prompts_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prompts")),
        sa.UniqueConstraint("followup_id", name=op.f("uq_prompts_followup_id")),
        sa.UniqueConstraint("meeting_id", name=op.f("uq_prompts_meeting_id")),
    )
    with op.batch_alter_table("prompts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_prompts_deal_id"), ["deal_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_prompts_user_id"), ["user_id"], unique=False)
        batch_op.create_index("ix_prompts_user_status", ["user_id", "status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("prompts", schema=None) as batch_op:
        batch_op.drop_index("ix_prompts_user_status")
        batch_op.drop_index(batch_op.f("ix_prompts_user_id"))
        batch_op.drop_index(batch_op.f("ix_prompts_deal_id"))

    op.drop_table("prompts")
    with op.batch_alter_table("skipped_series", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_skipped_series_user_id"))

    op.drop_table("skipped_series")
    with op.batch_alter_table("meetings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_meetings_user_id"))
        batch_op.drop_index("ix_meetings_user_end")

    op.drop_table("meetings")
    with op.batch_alter_table("followups", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_followups_user_id"))
        batch_op.drop_index(batch_op.f("ix_followups_deal_id"))

    op.drop_table("followups")
    with op.batch_alter_table("sources", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sources_user_id"))
        batch_op.drop_index(batch_op.f("ix_sources_next_sync_at"))

    op.drop_table("sources")
    op.drop_table("feed_states")
    with op.batch_alter_table("deals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deals_user_id"))

    op.drop_table("deals")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_tokens_user_id"))

    op.drop_table("api_tokens")
    op.drop_table("users")
