"""Event writes and reads on one calendar, with Google's validation, ids, etags and tombstones.

Shared by the HTTP API and the emulator's "as if the user did it in Google" hooks. Callers
hold `state.lock`. Every write takes a new change number (so sync tokens see it), a new etag
and `updated`, and tells the state's listeners (push notifications) which calendar changed.
"""

from __future__ import annotations

import copy
import re
import time
from datetime import datetime
from typing import Any

from calsync.emulator import errors, recurrence
from calsync.emulator.state import Calendar, State, Stored, html_link, new_event_id, rfc3339

EVENT_ID = re.compile(r"[a-v0-9]{5,1024}")
STATUSES = ("confirmed", "tentative", "cancelled")
# What a client may write; everything else in a request body is ignored, as Google does.
WRITABLE = frozenset({
    "summary", "description", "location", "colorId", "start", "end", "recurrence",
    "attendees", "status", "transparency", "visibility", "reminders", "extendedProperties",
    "conferenceData", "hangoutLink", "source", "attachments", "eventType", "guestsCanModify",
    "guestsCanInviteOthers", "guestsCanSeeOtherGuests", "anyoneCanAddSelf", "iCalUID",
    "endTimeUnspecified",
})
# Fields the seeding hooks may also set, as Google would for an event someone else organised.
TRUSTED = WRITABLE | {"organizer", "creator", "created"}
# Replaced whole by PATCH; other objects (extendedProperties, reminders) are merged.
_REPLACED = {"start", "end", "originalStartTime", "conferenceData", "source"}
# The order Google writes an event's keys in.
_ORDER = {k: i for i, k in enumerate((
    "etag", "id", "status", "htmlLink", "created", "updated", "summary", "description",
    "location", "colorId", "creator", "organizer", "start", "end", "endTimeUnspecified",
    "recurrence", "recurringEventId", "originalStartTime", "transparency", "visibility",
    "iCalUID", "sequence", "attendees", "extendedProperties", "hangoutLink", "conferenceData",
    "reminders", "source", "attachments", "eventType"))}
_TIME_CHANGES = ("start", "end", "recurrence", "location")


def _validate_time(when: Any, which: str) -> None:
    if when is None:
        raise errors.ApiError(400, "required", f"Missing {which} time.")
    if not isinstance(when, dict) or ("date" in when) == ("dateTime" in when):
        raise errors.bad_request()
    if when.get("timeZone") is not None and recurrence.zone(when["timeZone"]) is None:
        raise errors.invalid(f"Invalid time zone definition for {which} time.")
    if "date" in when:
        if not isinstance(when["date"], str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}",
                                                                  when["date"]):
            raise errors.bad_request()
        return
    value = when["dateTime"]
    if not isinstance(value, str):
        raise errors.bad_request()
    if recurrence.parse_rfc3339(value) is None:
        try:
            datetime.fromisoformat(value)
        except ValueError:
            raise errors.bad_request() from None
        if not when.get("timeZone"):
            raise errors.ApiError(400, "required",
                                  f"Missing time zone definition for {which} time.")


def validate(event: dict[str, Any], calendar_tz: str) -> None:
    """Raise Google's 400 for an event Google would refuse."""
    _validate_time(event.get("start"), "start")
    _validate_time(event.get("end"), "end")
    if ("date" in event["start"]) != ("date" in event["end"]):
        raise errors.invalid("Start and end times must either both be date or both be dateTime.")
    start, end = recurrence.span(event, calendar_tz)
    if end < start or (end == start and "date" in event["start"]):
        raise errors.time_range_empty()
    rules = event.get("recurrence")
    if rules is not None and (not isinstance(rules, list)
                              or not recurrence.valid_recurrence(rules)):
        raise errors.invalid("Invalid recurrence rule.")
    if event.get("status", "confirmed") not in STATUSES:
        raise errors.invalid("Invalid value for: status")
    for attendee in event.get("attendees") or []:
        if not isinstance(attendee, dict) or not attendee.get("email"):
            raise errors.ApiError(400, "required", "Missing attendee email.")
    props = event.get("extendedProperties")
    if props is not None and not (isinstance(props, dict) and all(
            isinstance(props.get(k, {}), dict) for k in ("private", "shared"))):
        raise errors.invalid("Invalid value for: extendedProperties")


def _normalize(event: dict[str, Any], calendar_tz: str) -> None:
    for key in ("start", "end"):
        when = event[key]
        if "dateTime" in when:
            # Google answers with an offset in the event's zone (else the calendar's).
            local = recurrence.zone(when.get("timeZone")) or recurrence.zone(calendar_tz)
            instant = recurrence.moment(when, calendar_tz)
            when["dateTime"] = instant.astimezone(local).isoformat(timespec="seconds")
    for attendee in event.get("attendees") or []:
        attendee.setdefault("responseStatus", "needsAction")
    props = event.get("extendedProperties")
    if props:
        for scope in ("private", "shared"):
            if scope in props:
                props[scope] = {str(k): str(v) for k, v in props[scope].items() if v is not None}
    event.setdefault("reminders", {"useDefault": True})
    event.setdefault("eventType", "default")
    if not event.get("attendees"):
        event.pop("attendees", None)


def _touch(state: State, calendar: Calendar, resource: dict[str, Any]) -> dict[str, Any]:
    resource["etag"] = state.new_etag()
    resource["updated"] = rfc3339()
    calendar.events[resource["id"]] = Stored(resource, state.next_seq())
    state.changed(calendar.id)
    return copy.deepcopy(resource)


def insert(state: State, calendar: Calendar, body: dict[str, Any], *,
           trusted: bool = False) -> dict[str, Any]:
    """events.insert: a new event with a client-chosen or generated id."""
    event_id = body.get("id")
    if event_id is not None:
        if not isinstance(event_id, str) or not EVENT_ID.fullmatch(event_id):
            raise errors.invalid("Invalid resource id value.")
        if event_id in calendar.events:
            raise errors.ApiError(409, "duplicate", "The requested identifier already exists.")
    else:
        event_id = new_event_id()
    allowed = TRUSTED if trusted else WRITABLE
    resource = {k: copy.deepcopy(v) for k, v in body.items() if k in allowed and v is not None}
    validate(resource, calendar.time_zone)
    _normalize(resource, calendar.time_zone)
    now = time.time()
    resource.update(id=event_id, htmlLink=html_link(event_id, calendar.id))
    resource.setdefault("status", "confirmed")
    resource.setdefault("created", rfc3339(now))
    resource.setdefault("creator", {"email": calendar.owner})
    organizer = {"email": calendar.id}
    if calendar.summary != calendar.id:
        organizer["displayName"] = calendar.summary
    resource.setdefault("organizer", organizer)
    resource.setdefault("iCalUID", f"{event_id}@google.com")
    resource["sequence"] = 0
    return _touch(state, calendar, resource)


def _master_of(calendar: Calendar, event_id: str) -> Stored | None:
    base = event_id.rpartition("_")[0]
    master = calendar.events.get(base)
    if master is None or not master.resource.get("recurrence"):
        return None
    return master


def find(calendar: Calendar, event_id: str) -> dict[str, Any]:
    """The stored event, or the generated instance an instance id names; 404 otherwise."""
    stored = calendar.events.get(event_id)
    if stored is not None:
        return stored.resource
    master = _master_of(calendar, event_id)
    if master is not None:
        original = recurrence.original_of(event_id, master.resource, calendar.time_zone)
        if original is not None:
            made = recurrence.instance(master.resource, original, calendar.time_zone)
            if master.cancelled:
                made["status"] = "cancelled"
            return made
    raise errors.not_found()


def _check_etag(current: dict[str, Any], if_match: str | None) -> None:
    if if_match and if_match.strip() != "*" and if_match.strip() != current.get("etag"):
        raise errors.condition_not_met()


def _merge(target: dict[str, Any], patch: dict[str, Any]) -> None:
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict) and (
                key not in _REPLACED):
            _merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


def update(state: State, calendar: Calendar, event_id: str, body: dict[str, Any], *,
           replace: bool = False, if_match: str | None = None,
           trusted: bool = False) -> dict[str, Any]:
    """events.patch (merge) or events.update (`replace`); an instance id makes an exception."""
    current = find(calendar, event_id)
    _check_etag(current, if_match)
    allowed = TRUSTED if trusted else WRITABLE
    changes = {k: v for k, v in body.items() if k in allowed - {"iCalUID"}}
    resource = copy.deepcopy(current)
    if replace:
        keep = {"id", "created", "creator", "organizer", "iCalUID", "htmlLink", "sequence",
                "recurringEventId", "originalStartTime", "etag", "updated"}
        resource = {k: v for k, v in resource.items() if k in keep}
        resource.update(copy.deepcopy({k: v for k, v in changes.items() if v is not None}))
    else:
        _merge(resource, changes)
    validate(resource, calendar.time_zone)
    _normalize(resource, calendar.time_zone)
    resource.setdefault("status", "confirmed")
    if any(resource.get(k) != current.get(k) for k in _TIME_CHANGES):
        resource["sequence"] = int(current.get("sequence", 0)) + 1
    if resource["status"] == "cancelled" and resource.get("recurrence"):
        _cancel_exceptions(state, calendar, resource["id"])
    return _touch(state, calendar, resource)


def delete(state: State, calendar: Calendar, event_id: str, *,
           if_match: str | None = None) -> None:
    """events.delete: the event becomes a cancelled tombstone; twice is 410 `deleted`."""
    current = find(calendar, event_id)
    if current.get("status") == "cancelled":
        raise errors.ApiError(410, "deleted", "Resource has been deleted")
    _check_etag(current, if_match)
    resource = copy.deepcopy(current)
    resource["status"] = "cancelled"
    if resource.get("recurrence"):
        _cancel_exceptions(state, calendar, event_id)
    _touch(state, calendar, resource)


def _cancel_exceptions(state: State, calendar: Calendar, master_id: str) -> None:
    for stored in list(calendar.events.values()):
        if stored.resource.get("recurringEventId") == master_id and not stored.cancelled:
            resource = copy.deepcopy(stored.resource)
            resource["status"] = "cancelled"
            _touch(state, calendar, resource)


def present(resource: dict[str, Any], calendar: Calendar) -> dict[str, Any]:
    """The resource as the API returns it, `self` flags computed for this calendar."""
    out: dict[str, Any] = {"kind": "calendar#event"}
    for key in sorted(resource, key=lambda k: _ORDER.get(k, len(_ORDER))):
        out[key] = copy.deepcopy(resource[key])
    me = calendar.id.lower()
    for key in ("organizer", "creator"):
        person = out.get(key)
        if isinstance(person, dict) and str(person.get("email", "")).lower() == me:
            person["self"] = True
    for attendee in out.get("attendees") or []:
        if str(attendee.get("email", "")).lower() == me:
            attendee["self"] = True
    return out


def tombstone(resource: dict[str, Any]) -> dict[str, Any]:
    """What a sync returns for a deleted event: little more than its id."""
    out = {"kind": "calendar#event", "etag": resource.get("etag"), "id": resource["id"],
           "status": "cancelled"}
    for key in ("recurringEventId", "originalStartTime"):
        if key in resource:
            out[key] = copy.deepcopy(resource[key])
    return out
