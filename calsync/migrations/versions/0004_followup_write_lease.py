"""follow-up write lease

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 20:43:15.498867
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import calsync.models

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("followups", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("write_leased_until", calsync.models.UTCDateTime(), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("followups", schema=None) as batch_op:
        batch_op.drop_column("write_leased_until")
