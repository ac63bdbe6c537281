"""security: per-login sessions, bounded meetings

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 12:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import calsync.models

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    _add_meeting_attendee_count()
    _create_login_sessions()
    _add_push_message_numbers()


def downgrade() -> None:
    _drop_meeting_attendee_count()
    _drop_push_message_numbers()
    _drop_login_sessions()


def _create_login_sessions() -> None:
    """One row per sign-in: the session and remember cookies carry its token (hashed here)."""
    op.create_table(
        "login_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", calsync.models.UTCDateTime(), nullable=False),
        sa.Column("revoked_at", calsync.models.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_login_sessions_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_login_sessions_token_hash")),
    )
    with op.batch_alter_table("login_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_login_sessions_user_id"), ["user_id"], unique=False)


def _drop_login_sessions() -> None:
    with op.batch_alter_table("login_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_sessions_user_id"))
    op.drop_table("login_sessions")


def _add_push_message_numbers() -> None:
    """The highest Google message number seen per channel: replays are ignored."""
    with op.batch_alter_table("push_channels", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_message_number", sa.BigInteger(), nullable=True))


def _drop_push_message_numbers() -> None:
    with op.batch_alter_table("push_channels", schema=None) as batch_op:
        batch_op.drop_column("last_message_number")


def _add_meeting_attendee_count() -> None:
    """How many attendees the source listed; a meeting stores a bounded number of them."""
    with op.batch_alter_table("meetings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("attendee_count", sa.Integer(), server_default="0",
                                      nullable=False))


def _drop_meeting_attendee_count() -> None:
    with op.batch_alter_table("meetings", schema=None) as batch_op:
        batch_op.drop_column("attendee_count")
