"""The ICS provider: a calendar feed URL (http, https, webcal) or an uploaded .ics file.

Read-only. The cursor holds the feed's validators and body hash, so an unchanged feed
costs one conditional request and no parsing, and a hash of each UID's events, so a changed
one is parsed only where it changed; a body that could not be read is remembered the same
way, and answered with the same error until it changes.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import date
from typing import Any

from calsync.errors import SourceError
from calsync.net.fetch import fetch
from calsync.providers.base import BaseProvider, ChangeSet, ReadContext, SourceRef
from calsync.providers.ics_parse import MORE, Limits, ParsedCalendar, parse_ics
from calsync.providers.ics_split import Previous

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
        window = _window(context)
        known = cursor if cursor.get("window") == window else {}
        failed = known.get("failed")
        if source.data is not None:
            body, charset = source.data, ""
            new_cursor: dict[str, Any] = {}
        else:
            fetched = fetch(source.url, self.settings, etag=str(known.get("etag") or ""),
                            last_modified=str(known.get("last_modified") or ""))
            if fetched.body is None:
                if isinstance(failed, dict):  # still the calendar that could not be read
                    raise _failure_again(failed, known)
                return ChangeSet(cursor=dict(known), unchanged=True)
            body, charset = fetched.body, fetched.charset
            new_cursor = {"etag": fetched.etag, "last_modified": fetched.last_modified}
        new_cursor["sha256"] = hashlib.sha256(body).hexdigest()
        new_cursor["window"] = window
        if isinstance(failed, dict) and failed.get("sha256") == new_cursor["sha256"]:
            raise _failure_again(failed, {**known, **new_cursor, "sha256": None})
        if known.get("sha256") == new_cursor["sha256"]:
            return ChangeSet(cursor={**known, **new_cursor}, unchanged=True)
        # On the day the window slides, the events read last time still count; only those
        # the move can change are read again (ics_split.select).
        since = None if known else _slid(cursor, window)
        return self._parse(body, charset, context, new_cursor,
                           cursor if since is not None else known, since)

    def _parse(self, body: bytes, charset: str, context: ReadContext, cursor: dict[str, Any],
               known: dict[str, Any], since: date | None) -> ChangeSet:
        """Read what changed in `body` since `known`; a failure carries a cursor remembering
        it, so the same bytes are answered with the same error instead of being parsed again
        (until the window moves on a day, or the calendar changes)."""
        try:
            parsed = parse_ics(body, context, Limits.from_settings(self.settings), charset,
                               previous=_previous(known, since))
        except SourceError as exc:
            if exc.transient:
                raise  # a retry may well succeed
            error = exc
        except Exception as exc:  # a bug in calsync: logged to be fixed, said in words
            log.exception("parsing the calendar of an ICS source failed")
            error = SourceError("calsync could not read this calendar because of a problem in "
                                "calsync itself, which has been logged.", RETRY_HINT)
            error.__cause__ = exc
        else:
            return _changes(parsed, cursor, known)
        failed = {"sha256": cursor["sha256"], "reason": error.reason, "hint": error.hint}
        error.cursor = {**cursor, "sha256": None, "failed": failed}
        raise error


RETRY_HINT = "calsync reads it again when the calendar changes, and at least once a day."


def _failure_again(failed: dict[str, Any], cursor: dict[str, Any]) -> SourceError:
    """The error the same calendar gave last time, without parsing it again."""
    return SourceError(str(failed.get("reason", "")), str(failed.get("hint", "")),
                       cursor=dict(cursor))


def _window(context: ReadContext) -> list[str]:
    return [context.window_start.date().isoformat(), context.window_end.date().isoformat()]


def _slid(cursor: dict[str, Any], window: list[str]) -> date | None:
    """The window's former end when it has only moved later by whole days since `cursor`
    (the daily move), else None: a window that grew or shrank is read whole."""
    try:
        (old_start, old_end), (new_start, new_end) = (
            [date.fromisoformat(day) for day in pair] for pair in (cursor["window"], window))
    except (KeyError, TypeError, ValueError):
        return None
    moved = new_end - old_end
    return old_end if moved == new_start - old_start and moved.days > 0 else None


def _previous(known: dict[str, Any], since: date | None) -> Previous | None:
    events = known.get("events")
    if not isinstance(events, dict) or not isinstance(known.get("head"), str):
        return None
    return Previous(known["head"], events, since)


def _changes(parsed: ParsedCalendar, cursor: dict[str, Any], known: dict[str, Any]
             ) -> ChangeSet:
    """The ChangeSet of a parse; `cursor` gains the UIDs' hashes and the warnings, so a
    later read of a few UIDs still shows the others' warnings."""
    if parsed.state is not None:
        cursor.update(head=parsed.state.head, events=parsed.state.events)
    chosen = parsed.selection
    if chosen is None or chosen.complete:
        cursor["warnings"] = parsed.warnings
        return ChangeSet(meetings=parsed.meetings, cursor=cursor, complete=True,
                         warnings=parsed.warnings)
    cursor["warnings"] = _warnings(parsed.warnings, known.get("warnings"),
                                   chosen.uids + chosen.vanished)
    if not chosen.uids and not chosen.vanished:
        return ChangeSet(cursor=cursor, unchanged=True)
    # Cut off by a limit, the UIDs were not all read: none may lose meetings it lacks.
    whole = [] if parsed.truncated else chosen.uids
    return ChangeSet(meetings=parsed.meetings, deleted=[(uid, "") for uid in chosen.vanished],
                     cursor=cursor, complete=False, complete_uids=whole,
                     warnings=cursor["warnings"])


def _warnings(found: list[str], before: Any, uids: list[str]) -> list[str]:
    """This read's warnings, and last time's except those about the UIDs read again."""
    # As the parser names an event: "(UID x)", "with UID x: ..." or "with UID x has ...".
    marks = [f"UID {uid[:80]}{end}" for uid in uids for end in (")", ":", " ")]
    kept = [w for w in before if isinstance(w, str) and w != MORE
            and not any(mark in w for mark in marks)] if isinstance(before, list) else []
    merged = ParsedCalendar()
    for warning in dict.fromkeys(w for w in [*found, *kept] if w != MORE):
        merged.warn(warning)
    return merged.warnings
