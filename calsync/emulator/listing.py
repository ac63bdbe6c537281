"""events.list: full and incremental sync, paging, singleEvents expansion and filters.

A listing is computed once, at its first page, and the rest is kept behind the page token,
so later pages neither skip nor repeat when the calendar changes meanwhile. The final page
carries a sync token for the change number the listing was computed at; anything written
after that shows up in the next incremental sync.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from werkzeug.datastructures import MultiDict

from calsync.emulator import errors, events, recurrence
from calsync.emulator.state import Calendar, PageCursor, State, Stored, rfc3339

DEFAULT_MAX_RESULTS = 250
MAX_RESULTS = 2500
# Google refuses these beside a syncToken: the token's view of the calendar is unfiltered.
FORBIDDEN_WITH_SYNC = ("timeMin", "timeMax", "orderBy", "q", "updatedMin", "iCalUID",
                       "privateExtendedProperty", "sharedExtendedProperty")
Window = tuple[datetime | None, datetime | None]


def _flag(args: MultiDict[str, str], name: str) -> bool:
    raw = args.get(name)
    if raw is None:
        return False
    if raw.lower() not in ("true", "false"):
        raise errors.invalid_parameter(name, raw, "true|false")
    return raw.lower() == "true"


def _time(args: MultiDict[str, str], name: str) -> datetime | None:
    raw = args.get(name)
    if raw is None:
        return None
    parsed = recurrence.parse_rfc3339(raw)
    if parsed is None:
        raise errors.bad_request()
    return parsed


def _max_results(args: MultiDict[str, str]) -> int:
    raw = args.get("maxResults")
    if raw is None:
        return DEFAULT_MAX_RESULTS
    if not raw.isdigit() or int(raw) < 1:
        raise errors.invalid_parameter("maxResults", raw, "[0-9]+")
    return min(int(raw), MAX_RESULTS)


def list_events(state: State, calendar: Calendar, args: MultiDict[str, str]) -> dict[str, Any]:
    """One page of events.list for `calendar`, as Google shapes it."""
    page_size = _max_results(args)
    if args.get("syncToken") and any(args.get(name) for name in FORBIDDEN_WITH_SYNC):
        raise errors.sync_token_restrictions()
    page_token = args.get("pageToken")
    if page_token:
        cursor = state.page_tokens.get(page_token)
        if cursor is None or cursor.calendar_id != calendar.id:
            raise errors.invalid("Invalid page token value.")
    else:
        cursor = PageCursor(calendar.id, _compute(state, calendar, args), state.seq)
    body: dict[str, Any] = {
        "kind": "calendar#events",
        "etag": f'"p{state.seq:016d}"',
        "summary": calendar.summary,
        "description": calendar.description,
        "updated": max((s.resource["updated"] for s in calendar.events.values()),
                       default=rfc3339()),
        "timeZone": calendar.time_zone,
        "accessRole": "owner",
        "defaultReminders": [{"method": "popup", "minutes": 10}],
    }
    rest = cursor.items[page_size:]
    if rest:
        body["nextPageToken"] = state.issue_page_token(
            PageCursor(calendar.id, rest, cursor.as_of))
    else:
        body["nextSyncToken"] = state.issue_sync_token(calendar.id, cursor.as_of)
    body["items"] = cursor.items[:page_size]
    return body


def _compute(state: State, calendar: Calendar, args: MultiDict[str, str]) -> list[dict[str, Any]]:
    single = _flag(args, "singleEvents")
    show_deleted = _flag(args, "showDeleted")
    sync_token = args.get("syncToken")
    if sync_token:
        found = state.sync_tokens.get(sync_token)
        if found is None or found[0] != calendar.id:
            raise errors.full_sync_required()
        changed = [s for s in calendar.events.values() if s.seq > found[1]]
        return _render(changed, calendar, single=single, deleted=True, window=(None, None))
    window = (_time(args, "timeMin"), _time(args, "timeMax"))
    if window[0] and window[1] and window[1] <= window[0]:
        raise errors.time_range_empty("timeMax")
    order_by = args.get("orderBy")
    if order_by not in (None, "startTime", "updated"):
        raise errors.invalid_parameter("orderBy", order_by, "startTime|updated")
    if order_by == "startTime" and not single:
        raise errors.bad_request(
            "The requested ordering is not available for the particular query.")
    updated_min = _time(args, "updatedMin")
    chosen = [s for s in calendar.events.values() if _matches(s, args, updated_min)]
    items = _render(chosen, calendar, single=single,
                    deleted=show_deleted or updated_min is not None, window=window)
    if order_by == "startTime":
        items.sort(key=lambda item: recurrence.moment(item["start"], calendar.time_zone)
                   if "start" in item else datetime.min.replace(tzinfo=UTC))
    elif order_by == "updated":
        items.sort(key=lambda item: item.get("updated", ""))
    return items


def _matches(stored: Stored, args: MultiDict[str, str], updated_min: datetime | None) -> bool:
    event = stored.resource
    if updated_min is not None:
        updated = recurrence.parse_rfc3339(event["updated"])
        if updated is None or updated < updated_min:
            return False
    props = event.get("extendedProperties") or {}
    for name, scope in (("privateExtendedProperty", "private"),
                        ("sharedExtendedProperty", "shared")):
        for constraint in args.getlist(name):
            key, sep, value = constraint.partition("=")
            if not sep:
                raise errors.bad_request()
            if (props.get(scope) or {}).get(key) != value:
                return False
    ical_uid = args.get("iCalUID")
    if ical_uid is not None and event.get("iCalUID") != ical_uid:
        return False
    text = (args.get("q") or "").casefold()
    if text:
        haystack = [str(event.get(k, "")) for k in ("summary", "description", "location")]
        for person in event.get("attendees") or []:
            haystack += [str(person.get("email", "")), str(person.get("displayName", ""))]
        if not any(text in item.casefold() for item in haystack):
            return False
    return True


def _overlaps(event: dict[str, Any], calendar: Calendar, window: Window) -> bool:
    low, high = window
    if low is None and high is None:
        return True
    start, end = recurrence.span(event, calendar.time_zone)
    return (low is None or end > low) and (high is None or start < high)


def _render(chosen: list[Stored], calendar: Calendar, *, single: bool, deleted: bool,
            window: Window) -> list[dict[str, Any]]:
    """The items for these stored events: instances expanded when `single`, tombstones
    only when `deleted`, and only what overlaps `window`."""
    tz = calendar.time_zone
    out: list[dict[str, Any]] = []
    for stored in chosen:
        event = stored.resource
        if stored.cancelled:
            if deleted:
                out.append(events.tombstone(event))
            continue
        if not event.get("recurrence") or (not single and window == (None, None)):
            if _overlaps(event, calendar, window):
                out.append(events.present(event, calendar))
            continue
        made = [recurrence.instance(event, original, tz)
                for original in recurrence.original_starts(event, tz, until=window[1])]
        made = [m for m in made if _overlaps(m, calendar, window)]
        if not single:
            if made or window == (None, None):
                out.append(events.present(event, calendar))
            continue
        out.extend(events.present(m, calendar) for m in made if m["id"] not in calendar.events)
    return out
