"""covered prompts: an answer on a deal covers the deal's older prompts still waiting

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 18:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """The prompt whose answer covered this one; the status "covered" needs no schema change
    (vocabulary columns are plain strings)."""
    with op.batch_alter_table("prompts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("covered_by_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_prompts_covered_by_id"), ["covered_by_id"],
                              unique=False)
        batch_op.create_foreign_key(batch_op.f("fk_prompts_covered_by_id_prompts"), "prompts",
                                    ["covered_by_id"], ["id"], ondelete="SET NULL")


def downgrade() -> None:
    """Covered prompts wait again: without the column nothing says what covered them."""
    op.execute("UPDATE prompts SET status = 'pending' WHERE status = 'covered'")
    with op.batch_alter_table("prompts", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_prompts_covered_by_id_prompts"),
                                 type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_prompts_covered_by_id"))
        batch_op.drop_column("covered_by_id")
