"""Event writes on one calendar, the way Outlook stores them: change keys, transactionId
idempotency, single-value extended properties, series with occurrences and exceptions.

Shared by Graph's handlers and the emulator's "as if the user did it in Outlook" hooks.
Callers hold `state.lock`. Every write takes a new change number and tells the state's
listeners (subscriptions) what changed.
"""

from __future__ import annotations

import copy
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from calsync.emulator.microsoft import errors, times
from calsync.emulator.microsoft.state import (
    MsCalendar,
    MsState,
    StoredEvent,
    graph_id,
    occurrence_id,
)

# What a client may write; anything else in a body is ignored.
WRITABLE = frozenset({
    "subject", "body", "location", "locations", "attendees", "categories", "importance",
    "sensitivity", "showAs", "isReminderOn", "reminderMinutesBeforeStart", "responseRequested",
    "allowNewTimeProposals", "isOnlineMeeting", "onlineMeetingProvider", "hideAttendees",
    "isAllDay", "isCancelled",
})
# What the seeding hooks may also set, as for a meeting someone else organised.
TRUSTED = WRITABLE | {"organizer", "isOrganizer", "onlineMeeting", "webLink"}


@dataclass(frozen=True)
class Found:
    """What an event id names: a stored event, or an occurrence generated from a series."""

    calendar: MsCalendar
    stored: StoredEvent | None
    master: StoredEvent | None = None
    original: datetime | None = None


def _new_change(state: MsState, event: StoredEvent, *, key: bool = True) -> None:
    if key:
        event.change_key = secrets.token_urlsafe(18)
    event.modified = datetime.now(UTC)
    event.seq = state.next_seq()


def _fields(body: dict[str, Any], trusted: bool) -> dict[str, Any]:
    allowed = TRUSTED if trusted else WRITABLE
    return {k: copy.deepcopy(v) for k, v in body.items() if k in allowed}


def _times(body: dict[str, Any]) -> tuple[datetime, str, datetime, str]:
    if "start" not in body or "end" not in body:
        raise errors.invalid_request("Your request can't be completed. The start and end "
                                     "of an event are required.")
    start, start_zone = times.parse_local(body["start"], "start")
    end, end_zone = times.parse_local(body["end"], "end")
    if end < start:
        raise errors.invalid_request("Your request can't be completed. The end of an event "
                                     "can't be before its start.")
    return start, start_zone, end, end_zone


def _written(moment: datetime, zone_name: str) -> dict[str, str]:
    return {"dateTime": moment.isoformat(), "timeZone": zone_name}


def _extended(body: dict[str, Any]) -> dict[str, str]:
    props = body.get("singleValueExtendedProperties") or []
    if not isinstance(props, list) or not all(
            isinstance(p, dict) and isinstance(p.get("id"), str) for p in props):
        raise errors.invalid_request("Invalid singleValueExtendedProperties.")
    return {p["id"]: str(p.get("value", "")) for p in props}


def create(state: MsState, calendar: MsCalendar, body: dict[str, Any], *,
           trusted: bool = False) -> tuple[StoredEvent, bool]:
    """A new event, or the one an earlier create with the same `transactionId` made (then
    the second value is False: nothing was created)."""
    transaction = body.get("transactionId")
    if transaction:
        earlier = state.transactions.get((calendar.owner, str(transaction)))
        if earlier is not None:
            for owned in state.account_calendars(calendar.owner):
                stored = owned.events.get(earlier)
                if stored is not None and not stored.deleted:
                    return stored, False
    start, start_zone, end, end_zone = _times(body)
    now = datetime.now(UTC)
    event = StoredEvent(
        id=graph_id(), calendar_id=calendar.id, fields=_fields(body, trusted), start=start,
        end=end, start_zone=start_zone, end_zone=end_zone, kind="singleInstance",
        created=now, modified=now, change_key="", seq=0,
        transaction_id=str(transaction) if transaction else None, extended=_extended(body))
    if body.get("recurrence"):
        _set_recurrence(event, body["recurrence"])
    _new_change(state, event)
    calendar.events[event.id] = event
    if transaction:
        state.transactions[(calendar.owner, str(transaction))] = event.id
    state.changed(calendar, event, "created")
    return event, True


def _set_recurrence(event: StoredEvent, recurrence: Any) -> None:
    if not isinstance(recurrence, dict) or not isinstance(recurrence.get("pattern"), dict):
        raise errors.invalid_request("Invalid recurrence.")
    event.rule = times.rrule(recurrence["pattern"], recurrence.get("range") or {})
    event.recurrence = copy.deepcopy(recurrence)
    event.kind = "seriesMaster"


def find(state: MsState, calendars: list[MsCalendar], event_id: str) -> Found:
    """The event or occurrence `event_id` names in one of `calendars`; 404 otherwise."""
    for calendar in calendars:
        stored = calendar.events.get(event_id)
        if stored is not None:
            if stored.deleted:
                raise errors.item_not_found()
            return Found(calendar, stored)
    known = state.occurrences.get(event_id)
    if known is not None:
        calendar_id, master_id, original = known
        for calendar in calendars:
            master = calendar.events.get(master_id) if calendar.id == calendar_id else None
            if master is not None and not master.deleted and original not in master.cancelled:
                return Found(calendar, None, master, original)
    raise errors.item_not_found()


def _check_etag(current: str, if_match: str | None) -> None:
    if if_match and if_match.strip() not in ("*", current):
        raise errors.change_key_mismatch()


def _exception_from(state: MsState, found: Found) -> StoredEvent:
    """Editing one occurrence makes it an exception of its series, keeping its id."""
    master, original = found.master, found.original
    assert master is not None and original is not None
    event = StoredEvent(
        id=occurrence_id(master.id, original), calendar_id=master.calendar_id,
        fields=copy.deepcopy(master.fields), start=original,
        end=original + (master.end - master.start), start_zone=master.start_zone,
        end_zone=master.end_zone, kind="exception", created=master.created,
        modified=master.modified, change_key=master.change_key, seq=master.seq,
        master_id=master.id, original_start=original, extended=dict(master.extended))
    master.exceptions[original] = event.id
    found.calendar.events[event.id] = event
    return event


def update(state: MsState, found: Found, body: dict[str, Any], *, if_match: str | None = None,
           trusted: bool = False) -> StoredEvent:
    """PATCH: the fields given replace the stored ones; an occurrence becomes an exception."""
    current = found.stored or found.master
    assert current is not None
    _check_etag(current.etag, if_match)
    event = found.stored or _exception_from(state, found)
    event.fields.update(_fields(body, trusted))
    if "start" in body or "end" in body:
        merged = {"start": body.get("start") or _written(event.start, event.start_zone),
                  "end": body.get("end") or _written(event.end, event.end_zone)}
        event.start, event.start_zone, event.end, event.end_zone = _times(merged)
    if body.get("recurrence") and event.kind == "seriesMaster":
        _set_recurrence(event, body["recurrence"])
    if "singleValueExtendedProperties" in body:
        event.extended.update(_extended(body))
    _new_change(state, event)
    state.changed(found.calendar, event, "updated")
    return event


def delete(state: MsState, found: Found) -> None:
    """DELETE: the event (a whole series with its exceptions, or one occurrence) is gone."""
    if found.stored is None:
        assert found.master is not None and found.original is not None
        found.master.cancelled.add(found.original)
        _new_change(state, found.master, key=False)
        # The series changed (one occurrence fewer); it was not deleted.
        state.changed(found.calendar, found.master, "updated")
        return
    event = found.stored
    event.deleted = True
    _new_change(state, event)
    if event.kind == "exception":
        master = found.calendar.events.get(event.master_id)
        if master is not None and event.original_start is not None:
            master.cancelled.add(event.original_start)
    for exception_id in event.exceptions.values():
        exception = found.calendar.events.get(exception_id)
        if exception is not None and not exception.deleted:
            exception.deleted = True
            _new_change(state, exception)
    state.changed(found.calendar, event, "deleted")
