"""deal names: deals named after an email domain or address get the organisation's name

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 19:00:00

Only a deal still carrying the name calsync first gave it (its domain, or a free-mail
address) is renamed: a name the user typed is never the bare domain, so no column is needed
to tell them apart. Names come from the pure rule in calsync.domain.deals.
"""

from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op

from calsync.domain.deals import organisation_name, person_name

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The columns this data migration reads and writes, as they are at revision 0009.
deals = sa.table("deals", sa.column("id", sa.Integer), sa.column("name", sa.String),
                 sa.column("key", sa.String))
NAMES: dict[str, Callable[[str], str]] = {
    "domain": organisation_name,
    "email": lambda address: person_name("", address),
}
MAX_NAME = 200


def upgrade() -> None:
    """contoso.example becomes Contoso, ana.souza@gmail.com Ana Souza."""
    _rename(forward=True)


def downgrade() -> None:
    """Deals with the name the rule gives them go back to the domain or the address."""
    _rename(forward=False)


def _rename(*, forward: bool) -> None:
    """Deals grouped by a domain or an address and named after it get the rule's name
    (forward), or the other way round."""
    bind = op.get_bind()
    rows = bind.execute(sa.select(deals.c.id, deals.c.key, deals.c.name).where(
        sa.or_(deals.c.key.like("domain:%"), deals.c.key.like("email:%")))).all()
    changes = []
    for deal_id, key, name in rows:
        kind, _, value = key.partition(":")
        bare, ruled = value[:MAX_NAME], NAMES[kind](value)[:MAX_NAME]
        before, after = (bare, ruled) if forward else (ruled, bare)
        if name == before != after:
            changes.append({"deal_id": deal_id, "new_name": after})
    if changes:
        bind.execute(deals.update().where(deals.c.id == sa.bindparam("deal_id"))
                     .values(name=sa.bindparam("new_name")), changes)
