"""The ICS provider: a calendar feed URL (http, https, webcal) or an uploaded .ics file.

Read-only. The cursor holds the feed's validators and body hash, so an unchanged feed
costs one conditional request and no parsing.
"""

from __future__ import annotations

import hashlib
from typing import Any

from calsync.fetch import fetch
from calsync.providers.base import BaseProvider, ChangeSet, ReadContext, SourceRef
from calsync.providers.ics_parse import Limits, parse_ics


class IcsProvider(BaseProvider):
    """Reads `source.data` when set (an upload), else downloads `source.url`."""

    name = "ics"
    read_only = True
    supports_push = False
    supports_write = False

    def _read(self, source: SourceRef, cursor: dict[str, Any], context: ReadContext) -> ChangeSet:
        # The window slides: a repeating event gains dates at its far end, so validators
        # and the hash only count on the day the body was last expanded.
        cursor = cursor if _same_window(cursor, context) else {}
        if source.data is not None:
            body, charset = source.data, ""
            new_cursor: dict[str, Any] = {}
        else:
            fetched = fetch(source.url, self.settings, etag=str(cursor.get("etag") or ""),
                            last_modified=str(cursor.get("last_modified") or ""))
            if fetched.body is None:
                return ChangeSet(cursor=dict(cursor), unchanged=True)
            body, charset = fetched.body, fetched.charset
            new_cursor = {"etag": fetched.etag, "last_modified": fetched.last_modified}
        new_cursor["sha256"] = hashlib.sha256(body).hexdigest()
        if cursor.get("sha256") == new_cursor["sha256"]:
            return ChangeSet(cursor={**cursor, **new_cursor}, unchanged=True)
        parsed = parse_ics(body, context, Limits.from_settings(self.settings), charset)
        new_cursor["window_end"] = context.window_end.date().isoformat()
        return ChangeSet(meetings=parsed.meetings, cursor=new_cursor, complete=True,
                         warnings=parsed.warnings)


def _same_window(cursor: dict[str, Any], context: ReadContext) -> bool:
    return cursor.get("window_end") == context.window_end.date().isoformat()
