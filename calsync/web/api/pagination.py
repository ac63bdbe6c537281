"""Cursor pagination: keyset pages over a stable order, with signed opaque cursors.

A cursor carries the sort key of the last item it saw and the list it belongs to, signed
with the app's secret, so a forged, garbled or foreign cursor is refused with 422.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from flask import current_app
from itsdangerous import BadData, URLSafeSerializer
from sqlalchemy import Select, and_, or_
from sqlalchemy.orm import InstrumentedAttribute, Session

from calsync.errors import ValidationFailed
from calsync.models import UTCDateTime

SALT = "calsync.api.cursor"


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key, salt=SALT)  # type: ignore[arg-type]


def page(session: Session, query: Select[Any], *, list_name: str,
         order: Sequence[InstrumentedAttribute[Any]], descending: bool, limit: int,
         cursor: str | None) -> tuple[list[Any], str | None]:
    """Up to `limit` rows of `query` after `cursor` in `order`, and the next page's cursor."""
    directed = [column.desc() if descending else column.asc() for column in order]
    query = query.order_by(*directed)
    if cursor:
        query = query.where(_after(order, decode(cursor, list_name, order), descending))
    rows = list(session.scalars(query.limit(limit + 1)))
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    last = rows[-1]
    return rows, encode(list_name, [getattr(last, column.key) for column in order])


def _after(order: Sequence[InstrumentedAttribute[Any]], values: list[Any],
           descending: bool) -> Any:
    # (a, b) after (x, y): a beyond x, or a equal to x and b beyond y. Spelt out rather
    # than as a row-value comparison so every dialect and column type binds it alike.
    terms = []
    for i, column in enumerate(order):
        beyond = column < values[i] if descending else column > values[i]
        terms.append(and_(*(order[j] == values[j] for j in range(i)), beyond))
    return or_(*terms)


def encode(list_name: str, values: list[Any]) -> str:
    key = [value.isoformat() if isinstance(value, datetime) else value for value in values]
    return str(_serializer().dumps({"list": list_name, "key": key}))


def decode(cursor: str, list_name: str, order: Sequence[InstrumentedAttribute[Any]]) -> list[Any]:
    invalid = ValidationFailed("cursor", "this cursor is not one this list gave out; "
                                         "start again without a cursor.")
    try:
        payload = _serializer().loads(cursor)
    except BadData as exc:
        raise invalid from exc
    if (not isinstance(payload, dict) or payload.get("list") != list_name
            or not isinstance(payload.get("key"), list) or len(payload["key"]) != len(order)):
        raise invalid
    values = []
    for column, value in zip(order, payload["key"], strict=True):
        try:
            if isinstance(column.type, UTCDateTime):
                value = datetime.fromisoformat(value)
            elif not isinstance(value, int) or isinstance(value, bool):
                raise TypeError(value)
        except (TypeError, ValueError) as exc:
            raise invalid from exc
        values.append(value)
    return values
