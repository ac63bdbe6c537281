"""google write-back outbox channels

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 20:00:23.312937
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import calsync.models

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "oauth_states",
        sa.Column("state", sa.String(length=128), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("code_verifier", sa.String(length=256), nullable=False),
        sa.Column("created_at", calsync.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_oauth_states_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("state", name=op.f("pk_oauth_states")),
    )
    op.create_table(
        "push_channels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("calendar_id", sa.String(length=1024), nullable=False),
        sa.Column("channel_id", sa.String(length=64), nullable=False),
        sa.Column("token", sa.String(length=128), nullable=False),
        sa.Column("resource_id", sa.String(length=255), nullable=True),
        sa.Column("expires_at", calsync.models.UTCDateTime(), nullable=True),
        sa.Column("created_at", calsync.models.UTCDateTime(), nullable=False),
        sa.Column("stopped_at", calsync.models.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
            name=op.f("fk_push_channels_source_id_sources"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_push_channels")),
        sa.UniqueConstraint("channel_id", name=op.f("uq_push_channels_channel_id")),
    )
    with op.batch_alter_table("push_channels", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_push_channels_source_id"), ["source_id"], unique=False)

    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("followup_id", sa.Integer(), nullable=True),
        sa.Column("source_id", sa.Integer(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", calsync.models.UTCDateTime(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", calsync.models.UTCDateTime(), nullable=False),
        sa.Column("done_at", calsync.models.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["followup_id"],
            ["followups.id"],
            name=op.f("fk_outbox_followup_id_followups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
            name=op.f("fk_outbox_source_id_sources"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_outbox_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_due", ["status", "next_attempt_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_outbox_followup_id"), ["followup_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_outbox_user_id"), ["user_id"], unique=False)

    with op.batch_alter_table("followups", schema=None) as batch_op:
        batch_op.add_column(sa.Column("target_source_id", sa.Integer(), nullable=True))
        # Rows from before write-back went nowhere: "not_applicable" is their truth.
        batch_op.add_column(
            sa.Column(
                "write_status",
                sa.String(length=16),
                nullable=False,
                server_default="not_applicable",
            )
        )
        batch_op.add_column(sa.Column("write_error", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("remote_calendar_id", sa.String(length=1024), nullable=True))
        batch_op.add_column(sa.Column("remote_event_id", sa.String(length=1024), nullable=True))
        batch_op.add_column(sa.Column("remote_etag", sa.String(length=255), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_followups_target_source_id_sources"),
            "sources",
            ["target_source_id"],
            ["id"],
            ondelete="SET NULL",
        )

    with op.batch_alter_table("meetings", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("conference_url", sa.Text(), nullable=False, server_default="")
        )

    with op.batch_alter_table("sources", schema=None) as batch_op:
        batch_op.add_column(sa.Column("credentials", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("sync_requested_at", calsync.models.UTCDateTime(), nullable=True)
        )

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("google_subject", sa.String(length=255), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_users_google_subject"), ["google_subject"])


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_users_google_subject"), type_="unique")
        batch_op.drop_column("google_subject")

    with op.batch_alter_table("sources", schema=None) as batch_op:
        batch_op.drop_column("sync_requested_at")
        batch_op.drop_column("credentials")

    with op.batch_alter_table("meetings", schema=None) as batch_op:
        batch_op.drop_column("conference_url")

    with op.batch_alter_table("followups", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_followups_target_source_id_sources"), type_="foreignkey"
        )
        batch_op.drop_column("remote_etag")
        batch_op.drop_column("remote_event_id")
        batch_op.drop_column("remote_calendar_id")
        batch_op.drop_column("write_error")
        batch_op.drop_column("write_status")
        batch_op.drop_column("target_source_id")

    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_user_id"))
        batch_op.drop_index(batch_op.f("ix_outbox_followup_id"))
        batch_op.drop_index("ix_outbox_due")

    op.drop_table("outbox")
    with op.batch_alter_table("push_channels", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_push_channels_source_id"))

    op.drop_table("push_channels")
    op.drop_table("oauth_states")
