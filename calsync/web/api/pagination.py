"""Opaque cursors for the API's lists: the sort key of the last item a page showed and the
list it belongs to, signed with the app's secret, so a forged, garbled or foreign cursor is
refused with 422. The services read the pages (calsync.services.paging).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import current_app
from itsdangerous import BadData, URLSafeSerializer

from calsync.services.paging import invalid_cursor

SALT = "calsync.api.cursor"


def _serializer() -> URLSafeSerializer:
    # Flask types secret_key as possibly None; create_app always sets it.
    return URLSafeSerializer(current_app.secret_key, salt=SALT)  # type: ignore[arg-type]


def encode(list_name: str, values: list[Any] | None) -> str | None:
    """The cursor of the page after the item whose sort key is `values`; None for none."""
    if values is None:
        return None
    key = [value.isoformat() if isinstance(value, datetime) else value for value in values]
    return str(_serializer().dumps({"list": list_name, "key": key}))


def decode(cursor: str | None, list_name: str) -> list[Any] | None:
    """The sort key a cursor of `list_name` carries, as JSON holds it; None for no cursor.
    The service that reads the page checks that the key fits its order."""
    if not cursor:
        return None
    try:
        payload = _serializer().loads(cursor)
    except BadData as exc:
        raise invalid_cursor() from exc
    if (not isinstance(payload, dict) or payload.get("list") != list_name
            or not isinstance(payload.get("key"), list)):
        raise invalid_cursor()
    key: list[Any] = payload["key"]
    return key
