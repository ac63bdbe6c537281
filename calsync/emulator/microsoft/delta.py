"""calendarView/delta: rounds of pages over a window, then only what changed.

A round's first request names the window (`startDateTime`, `endDateTime`); its pages are
computed at once and kept behind `$skiptoken`s, so later pages neither skip nor repeat when
the calendar changes meanwhile; its last page carries an `@odata.deltaLink` whose
`$deltatoken` remembers what the caller has seen. The next round returns the items whose
etag changed, and `@removed` for those that left the view, and (as Graph documents) for
events changed outside the window. An expired token answers 410 `syncStateNotFound` with
a Location to start over.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from werkzeug.datastructures import MultiDict

from calsync.emulator.microsoft import errors, render, times
from calsync.emulator.microsoft.state import (
    DeltaPage,
    DeltaRound,
    MsAccount,
    MsCalendar,
    MsState,
)

DEFAULT_PAGE_SIZE = 10


def _removed(item_id: str) -> dict[str, Any]:
    return {"@odata.type": "#microsoft.graph.event", "id": item_id,
            "@removed": {"reason": "deleted"}}


def _start_link(base: str, low: datetime, high: datetime) -> str:
    return (f"{base}?startDateTime={quote(times.offset_timestamp(low))}"
            f"&endDateTime={quote(times.offset_timestamp(high))}")


def page(state: MsState, calendar: MsCalendar, account: MsAccount, args: MultiDict[str, str],
         base: str, prefer: list[str]) -> dict[str, Any]:
    """One page of a delta round for `calendar`; `base` is the URL the links repeat."""
    zone_name, tz = times.preferred_zone(prefer)
    size = times.preferred_page_size(prefer) or DEFAULT_PAGE_SIZE
    skip, delta = args.get("$skiptoken"), args.get("$deltatoken")
    if skip:
        cursor = state.skip_tokens.get(skip)
        if cursor is None or cursor.round.calendar_id != calendar.id:
            raise errors.sync_state_not_found(base)
    elif delta:
        cursor = _next_round(state, calendar, account, delta, base, zone_name, tz)
    else:
        low = times.parse_query_time(args.get("startDateTime"), "startDateTime")
        high = times.parse_query_time(args.get("endDateTime"), "endDateTime")
        entries = render.view(state, calendar, low, high)
        cursor = DeltaPage(DeltaRound(calendar.id, low, high, {e.id: e.etag for e in entries},
                                      state.seq),
                           [render.present(e, account, zone_name, tz) for e in entries])
    body: dict[str, Any] = {"@odata.context": _context(base)}
    rest = cursor.items[size:]
    if rest:
        token = secrets.token_urlsafe(24)
        state.skip_tokens[token] = DeltaPage(cursor.round, rest)
        body["@odata.nextLink"] = f"{base}?$skiptoken={token}"
    else:
        token = secrets.token_urlsafe(24)
        state.delta_tokens[token] = cursor.round
        body["@odata.deltaLink"] = f"{base}?$deltatoken={token}"
    body["value"] = cursor.items[:size]
    return body


def _context(base: str) -> str:
    root = base.split("/v1.0/", 1)[0]
    return f"{root}/v1.0/$metadata#Collection(event)"


def _next_round(state: MsState, calendar: MsCalendar, account: MsAccount, token: str,
                base: str, zone_name: str, tz: ZoneInfo) -> DeltaPage:
    before = state.delta_tokens.get(token)
    if before is None or before.calendar_id != calendar.id:
        raise errors.sync_state_not_found(base)
    if before.expired:  # the Location restarts the same window
        raise errors.sync_state_not_found(_start_link(base, before.start, before.end))
    entries = render.view(state, calendar, before.start, before.end)
    current = {e.id: e.etag for e in entries}
    items = [render.present(e, account, zone_name, tz) for e in entries
             if before.seen.get(e.id) != e.etag]
    items += [_removed(item_id) for item_id in before.seen if item_id not in current]
    # Graph reports events added, changed or deleted outside the window as removed too.
    items += [_removed(event.id) for event in calendar.events.values()
              if event.seq > before.seq and event.kind != "seriesMaster"
              and event.id not in current and event.id not in before.seen]
    return DeltaPage(DeltaRound(calendar.id, before.start, before.end, current, state.seq),
                     items)


def expire(state: MsState) -> None:
    """Every delta and skip token issued so far now answers 410 syncStateNotFound."""
    for round_ in state.delta_tokens.values():
        round_.expired = True
    state.skip_tokens.clear()
