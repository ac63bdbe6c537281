"""plugin kinds and schedule marks

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 20:03:15.005431
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import calsync.models

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "schedule_marks",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("last_run_at", calsync.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_schedule_marks")),
    )
    with op.batch_alter_table("sources", schema=None) as batch_op:
        batch_op.alter_column(
            "kind",
            existing_type=sa.VARCHAR(length=32),
            type_=sa.String(length=200),
            existing_nullable=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("sources", schema=None) as batch_op:
        batch_op.alter_column(
            "kind",
            existing_type=sa.String(length=200),
            type_=sa.VARCHAR(length=32),
            existing_nullable=False,
        )

    op.drop_table("schedule_marks")
