"""Marks a user's cached feed stale in the transaction that changes what it shows: a
follow-up, its deal's name, or the user's address or zone, by ORM flush or bulk statement.

Registered once on every Session (calsync.feed imports this module); marking is one UPDATE.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, cast

from sqlalchemy import Connection, Select, Table, event, inspect, select, update
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction
from sqlalchemy.sql.dml import Delete, Insert, Update

from calsync.models import Base, Deal, FeedState, FollowUp, User

# The attributes the feed renders (calsync.feed.cache): a change to any other one (a
# write-back's status, the coach's missed reason) leaves the bytes as they are.
SHOWN: dict[type[Base], tuple[str, ...]] = {
    FollowUp: ("user_id", "deal_id", "uid", "summary", "start", "end", "channel", "note",
               "status", "sequence", "changed_at", "cancelled_at", "kind", "promise_due",
               "value_note"),
    Deal: ("name",),
    User: ("email", "timezone"),
}

_feeds: Table = FeedState.__table__  # type: ignore[assignment]
# Whose feed a row of each watched table is in.
_OWNER: dict[str, str] = {"followups": "user_id", "deals": "user_id", "users": "id"}
_TABLES: dict[str, Table] = {t.name: t for t in Base.metadata.sorted_tables if t.name in _OWNER}


def mark_stale(connection: Connection, owners: Iterable[int] | Select[tuple[int]] | None) -> None:
    """Bump the generation of the feeds of these users (a list, or a subquery of user ids;
    None: everyone's): their next request renders again. On the caller's transaction."""
    statement = update(_feeds).values(generation=_feeds.c.generation + 1)
    if owners is not None:
        statement = statement.where(_feeds.c.user_id.in_(owners))
    connection.execute(statement)


@event.listens_for(Session, "before_flush")
def _changed_by_flush(session: Session, _context: UOWTransaction, _instances: object) -> None:
    owners = {_owner(obj) for obj in session.new if isinstance(obj, FollowUp)}
    owners |= {_owner(obj) for obj in session.deleted if isinstance(obj, FollowUp | Deal)}
    owners |= {_owner(obj) for obj in session.dirty if type(obj) in SHOWN and _shows_change(obj)}
    owners.discard(None)
    if owners:
        mark_stale(session.connection(), sorted(cast(set[int], owners)))


@event.listens_for(Session, "do_orm_execute")
def _changed_by_statement(state: ORMExecuteState) -> None:
    statement = state.statement
    if not isinstance(statement, Update | Delete | Insert):
        return
    table = _TABLES.get(getattr(statement.table, "name", ""))
    if table is None:
        return
    params = state.parameters or {}
    rows = [params] if isinstance(params, Mapping) else params
    mark_stale(state.session.connection(), _owners(statement, table, rows))


def _owners(statement: Update | Delete | Insert, table: Table,
            rows: Sequence[Mapping[str, Any]]) -> Iterable[int] | Select[tuple[int]] | None:
    """The users whose rows the statement writes, as a subquery run before it (a delete's
    rows are gone after); None when that can't be told, so every feed is marked."""
    owner = table.c[_OWNER[table.name]]
    if isinstance(statement, Insert):
        if table.name != "followups":  # a new deal or user is in no feed yet
            return []
        found: list[int] = [row["user_id"] for row in rows if row.get("user_id") is not None]
        return found if len(found) == len(rows) else None
    if statement.whereclause is not None:
        return select(owner).where(statement.whereclause)
    # An ORM bulk UPDATE by primary key: one parameter set per row, each naming its id.
    ids = [row.get("id") for row in rows]
    if not ids or None in ids:
        return None
    return select(owner).where(table.c.id.in_(ids))


def _owner(obj: Base) -> int | None:
    value = obj.id if isinstance(obj, User) else getattr(obj, "user_id", None)
    return value if isinstance(value, int) else None


def _shows_change(obj: Base) -> bool:
    attrs = inspect(obj).attrs
    return any(attrs[name].history.has_changes() for name in SHOWN[type(obj)])
