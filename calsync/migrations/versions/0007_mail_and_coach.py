"""mail and coach: a user's email and digest choices, an outbox key, why a follow-up was missed

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 16:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import calsync.models

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    _add_user_mail_choices()
    _add_outbox_key()
    _add_missed_reasons()


def downgrade() -> None:
    _drop_missed_reasons()
    _drop_outbox_key()
    _drop_user_mail_choices()


def _add_user_mail_choices() -> None:
    """Prompts by email (each, summary or off), quiet hours, the daily digest, and a
    refused address, with defaults that every existing user gets."""
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email_prompts", sa.String(length=16),
                                      server_default="each", nullable=False))
        batch_op.add_column(sa.Column("summary_hour", sa.Integer(), server_default="17",
                                      nullable=False))
        batch_op.add_column(sa.Column("quiet_start", sa.Time(), server_default="20:00:00",
                                      nullable=False))
        batch_op.add_column(sa.Column("quiet_end", sa.Time(), server_default="07:00:00",
                                      nullable=False))
        batch_op.add_column(sa.Column("digest", sa.Boolean(), server_default=sa.true(),
                                      nullable=False))
        batch_op.add_column(sa.Column("digest_hour", sa.Integer(), server_default="8",
                                      nullable=False))
        batch_op.add_column(sa.Column("email_refused_at", calsync.models.UTCDateTime(),
                                      nullable=True))
        batch_op.add_column(sa.Column("email_refused_reason", sa.Text(), nullable=True))


def _drop_user_mail_choices() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        for column in ("email_refused_reason", "email_refused_at", "digest_hour", "digest",
                       "quiet_end", "quiet_start", "summary_hour", "email_prompts"):
            batch_op.drop_column(column)


def _add_outbox_key() -> None:
    """An effect that must happen once ever (one email per prompt) is named by a key."""
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("key", sa.String(length=128), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_outbox_key"), ["key"])


def _drop_outbox_key() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_outbox_key"), type_="unique")
        batch_op.drop_column("key")


def _add_missed_reasons() -> None:
    """Why a follow-up's time passed without it being done, as told to the coach."""
    with op.batch_alter_table("followups", schema=None) as batch_op:
        batch_op.add_column(sa.Column("missed_reason", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("missed_note", sa.Text(), server_default="",
                                      nullable=False))
        batch_op.add_column(sa.Column("missed_reason_at", calsync.models.UTCDateTime(),
                                      nullable=True))


def _drop_missed_reasons() -> None:
    with op.batch_alter_table("followups", schema=None) as batch_op:
        for column in ("missed_reason_at", "missed_note", "missed_reason"):
            batch_op.drop_column(column)
