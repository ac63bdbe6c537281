"""follow-up kinds and promises: what a follow-up is for, a promise's deadline and its
delivery, the value it brings, and why calsync cancelled it (a booked meeting)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 19:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Every follow-up planned so far is a plain next touch (`follow_up`)."""
    with op.batch_alter_table("followups", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(16), nullable=False,
                                      server_default="follow_up"))
        batch_op.add_column(sa.Column("promise_due", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("delivered_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("value_note", sa.Text(), nullable=False,
                                      server_default=""))
        batch_op.add_column(sa.Column("cancel_reason", sa.String(16), nullable=True))
        batch_op.add_column(sa.Column("booked_meeting_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_followups_booked_meeting_id_meetings"),
                                    "meetings", ["booked_meeting_id"], ["id"],
                                    ondelete="SET NULL")


def downgrade() -> None:
    with op.batch_alter_table("followups", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_followups_booked_meeting_id_meetings"),
                                 type_="foreignkey")
        for column in ("booked_meeting_id", "cancel_reason", "value_note", "delivered_at",
                       "promise_due", "kind"):
            batch_op.drop_column(column)
