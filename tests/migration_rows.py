"""Rows stored as an older schema had them, for tests of the migrations that carry them on."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from calsync import migrate


def stored_at(url: str, revision: str, insert: str, rows: Iterable[dict[str, Any]]) -> None:
    """Upgrades the empty database at `url` to `revision`, then stores user 1
    (ann@seller.example) and each of `rows` by the `insert` statement, in one transaction."""
    migrate.upgrade(url, revision)
    engine = sa.create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(sa.text(
                "INSERT INTO users (id, email, timezone, internal_domains, feed_token,"
                " created_at) VALUES (1, 'ann@seller.example', 'UTC', '[]', 'feed',"
                " CURRENT_TIMESTAMP)"))
            for row in rows:
                connection.execute(sa.text(insert), row)
    finally:
        engine.dispose()


def pairs(url: str, query: str) -> dict[Any, Any]:
    """The two-column `query`'s rows, as a dict of first column to second."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return dict(connection.execute(sa.text(query)).all())
    finally:
        engine.dispose()
