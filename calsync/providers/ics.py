"""The ICS provider: a calendar feed URL (http, https, webcal) or an uploaded .ics file.

Read-only. The cursor holds the feed's validators and body hash, so an unchanged feed
costs one conditional request and no parsing; a body that could not be read is remembered
the same way, and answered with the same error until it changes.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from calsync.errors import SourceError
from calsync.net.fetch import fetch
from calsync.providers.base import BaseProvider, ChangeSet, ReadContext, SourceRef
from calsync.providers.ics_parse import Limits, ParsedCalendar, parse_ics

log = logging.getLogger(__name__)


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
        failed = cursor.get("failed")
        if source.data is not None:
            body, charset = source.data, ""
            new_cursor: dict[str, Any] = {}
        else:
            fetched = fetch(source.url, self.settings, etag=str(cursor.get("etag") or ""),
                            last_modified=str(cursor.get("last_modified") or ""))
            if fetched.body is None:
                if isinstance(failed, dict):  # still the calendar that could not be read
                    raise _failure_again(failed, cursor)
                return ChangeSet(cursor=dict(cursor), unchanged=True)
            body, charset = fetched.body, fetched.charset
            new_cursor = {"etag": fetched.etag, "last_modified": fetched.last_modified}
        new_cursor["sha256"] = hashlib.sha256(body).hexdigest()
        new_cursor["window_end"] = context.window_end.date().isoformat()
        if isinstance(failed, dict) and failed.get("sha256") == new_cursor["sha256"]:
            raise _failure_again(failed, {**cursor, **new_cursor, "sha256": None})
        if cursor.get("sha256") == new_cursor["sha256"]:
            return ChangeSet(cursor={**cursor, **new_cursor}, unchanged=True)
        parsed = self._parse(body, charset, context, new_cursor)
        return ChangeSet(meetings=parsed.meetings, cursor=new_cursor, complete=True,
                         warnings=parsed.warnings)

    def _parse(self, body: bytes, charset: str, context: ReadContext,
               cursor: dict[str, Any]) -> ParsedCalendar:
        """Parse `body`; a failure carries a cursor remembering it, so the same bytes are
        answered with the same error instead of being parsed again (until the window moves
        on a day, or the calendar changes)."""
        try:
            return parse_ics(body, context, Limits.from_settings(self.settings), charset)
        except SourceError as exc:
            if exc.transient:
                raise  # a retry may well succeed
            error = exc
        except Exception as exc:  # a bug in calsync: logged to be fixed, said in words
            log.exception("parsing the calendar of an ICS source failed")
            error = SourceError("calsync could not read this calendar because of a problem in "
                                "calsync itself, which has been logged.", RETRY_HINT)
            error.__cause__ = exc
        failed = {"sha256": cursor["sha256"], "reason": error.reason, "hint": error.hint}
        error.cursor = {**cursor, "sha256": None, "failed": failed}
        raise error


RETRY_HINT = "calsync reads it again when the calendar changes, and at least once a day."


def _failure_again(failed: dict[str, Any], cursor: dict[str, Any]) -> SourceError:
    """The error the same calendar gave last time, without parsing it again."""
    return SourceError(str(failed.get("reason", "")), str(failed.get("hint", "")),
                       cursor=dict(cursor))


def _same_window(cursor: dict[str, Any], context: ReadContext) -> bool:
    return cursor.get("window_end") == context.window_end.date().isoformat()
