"""meeting search text: each meeting's title and attendees, case-folded, for search boxes

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 19:30:00

Searching the attendees' JSON matched its own keys ("email", "response") and ignored case
only for ASCII letters on SQLite; the column holds what a search finds a meeting by,
folded once, from the pure rule in calsync.domain.meeting.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from calsync.domain.meeting import search_text

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The columns this migration reads and writes, as they are at revision 0010.
meetings = sa.table("meetings", sa.column("id", sa.Integer), sa.column("title", sa.Text),
                    sa.column("attendees", sa.JSON), sa.column("search_text", sa.Text))
BATCH = 2_000


def upgrade() -> None:
    with op.batch_alter_table("meetings") as batch:
        batch.add_column(sa.Column("search_text", sa.Text(), nullable=False,
                                   server_default=""))
    bind = op.get_bind()
    after = 0
    while True:
        rows = bind.execute(sa.select(meetings.c.id, meetings.c.title, meetings.c.attendees)
                            .where(meetings.c.id > after).order_by(meetings.c.id)
                            .limit(BATCH)).all()
        if not rows:
            return
        bind.execute(meetings.update().where(meetings.c.id == sa.bindparam("meeting_id"))
                     .values(search_text=sa.bindparam("text")),
                     [{"meeting_id": row.id, "text": search_text(row.title or "",
                                                                   row.attendees or [])}
                      for row in rows])
        after = rows[-1].id


def downgrade() -> None:
    with op.batch_alter_table("meetings") as batch:
        batch.drop_column("search_text")
