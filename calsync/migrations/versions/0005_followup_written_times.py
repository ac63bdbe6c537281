"""follow-up written times

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 21:21:29.319276
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import calsync.models

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("followups", schema=None) as batch_op:
        batch_op.add_column(sa.Column("written_start", calsync.models.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("written_end", calsync.models.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("followups", schema=None) as batch_op:
        batch_op.drop_column("written_end")
        batch_op.drop_column("written_start")
