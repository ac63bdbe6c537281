"""Lists read a page at a time in a stable order: after the sort key of the last item seen
(the API's cursors carry it) or from an offset (the pages' `?page=`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, and_, or_
from sqlalchemy.orm import InstrumentedAttribute, Session

from calsync.errors import ValidationFailed
from calsync.models import UTCDateTime

T = TypeVar("T")


@dataclass(frozen=True)
class Paged(Generic[T]):
    """One page of a list: its rows, and where the next page starts."""

    items: list[T]
    # The sort key of the last item when more follow (None on the last page): where the
    # next page starts.
    next_key: list[Any] | None


def invalid_cursor() -> ValidationFailed:
    """The error for a key (or the cursor carrying it) that no page of this list gave out."""
    return ValidationFailed("cursor", "this cursor is not one this list gave out; "
                                      "start again without a cursor.")


def page(session: Session, query: Select[T], *,
         order: Sequence[InstrumentedAttribute[Any]], descending: bool, limit: int | None,
         after: list[Any] | None = None, offset: int = 0) -> Paged[T]:
    """Up to `limit` rows of `query` (every row when None) in `order`, after the key `after`
    (as JSON gave it back: times as ISO strings) or from `offset`. Read only.

    Raises ValidationFailed (field "cursor") when `after` is not a key of this order.
    """
    directed = [column.desc() if descending else column.asc() for column in order]
    query = query.order_by(*directed).offset(offset or None)
    if after is not None:
        query = query.where(_after(order, _key(order, after), descending))
    if limit is None:
        return Paged(list(session.scalars(query)), None)
    rows = list(session.scalars(query.limit(limit + 1)))
    if len(rows) <= limit:
        return Paged(rows, None)
    rows = rows[:limit]
    return Paged(rows, [getattr(rows[-1], column.key) for column in order])


def _after(order: Sequence[InstrumentedAttribute[Any]], values: list[Any],
           descending: bool) -> ColumnElement[bool]:
    # (a, b) after (x, y): a beyond x, or a equal to x and b beyond y. Spelt out rather
    # than as a row-value comparison so every dialect and column type binds it alike.
    terms = []
    for i, column in enumerate(order):
        beyond = column < values[i] if descending else column > values[i]
        terms.append(and_(*(order[j] == values[j] for j in range(i)), beyond))
    return or_(*terms)


def _key(order: Sequence[InstrumentedAttribute[Any]], raw: list[Any]) -> list[Any]:
    """The key's values typed as their columns: times from ISO strings, ids as integers."""
    if len(raw) != len(order):
        raise invalid_cursor()
    values = []
    for column, value in zip(order, raw, strict=True):
        try:
            if isinstance(column.type, UTCDateTime):
                value = datetime.fromisoformat(value)
            elif not isinstance(value, int) or isinstance(value, bool):
                raise TypeError(value)
        except (TypeError, ValueError) as exc:
            raise invalid_cursor() from exc
        values.append(value)
    return values
