"""feed cache: the gzipped feed, the generation that marks it stale, and its next expiry

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import calsync.models

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Feeds stored before have no gzipped bytes: they start stale and render once."""
    with op.batch_alter_table("feed_states", schema=None) as batch_op:
        batch_op.add_column(sa.Column("body_gzip", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("generation", sa.Integer(), nullable=False,
                                      server_default="0"))
        batch_op.add_column(sa.Column("rendered_generation", sa.Integer(), nullable=False,
                                      server_default="0"))
        batch_op.add_column(sa.Column("expires_at", calsync.models.UTCDateTime(),
                                      nullable=True))
    op.execute("UPDATE feed_states SET generation = 1")


def downgrade() -> None:
    with op.batch_alter_table("feed_states", schema=None) as batch_op:
        for column in ("expires_at", "rendered_generation", "generation", "body_gzip"):
            batch_op.drop_column(column)
