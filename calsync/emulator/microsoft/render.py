"""Events as Graph returns them, and a calendar view: the single instances, occurrences and
exceptions that overlap a window (series masters themselves are not in a view)."""

from __future__ import annotations

import copy
import hashlib
import html
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from calsync.emulator.microsoft import times
from calsync.emulator.microsoft.state import (
    MsAccount,
    MsCalendar,
    MsState,
    StoredEvent,
    occurrence_id,
)

NEVER = "0001-01-01T00:00:00Z"
_TAGS = re.compile(r"<[^>]*>")
_EXPAND = re.compile(r"singleValueExtendedProperties\(\$filter=id eq '([^']+)'\)", re.IGNORECASE)


@dataclass(frozen=True)
class Entry:
    """One item of a calendar view: a stored event, or an occurrence of a series."""

    id: str
    etag: str
    event: StoredEvent
    original: datetime | None = None  # set for a generated occurrence

    def span(self) -> tuple[datetime, datetime]:
        if self.original is None:
            return self.event.start, self.event.end
        return self.original, self.original + (self.event.end - self.event.start)


def _overlaps(span: tuple[datetime, datetime], low: datetime, high: datetime) -> bool:
    start, end = span
    return start < high and (end > low or start >= low)


def view(state: MsState, calendar: MsCalendar, low: datetime, high: datetime) -> list[Entry]:
    """The calendar view of [low, high), in start order."""
    entries: list[Entry] = []
    for event in calendar.events.values():
        if event.deleted:
            continue
        if event.kind != "seriesMaster":
            entry = Entry(event.id, event.etag, event)
            if _overlaps(entry.span(), low, high):
                entries.append(entry)
            continue
        tz = times.zone(event.start_zone) or ZoneInfo("UTC")
        for original in times.original_starts(event.start, tz, event.rule, high):
            if original in event.cancelled or original in event.exceptions:
                continue
            made = Entry(occurrence_id(event.id, original), event.etag, event, original)
            if _overlaps(made.span(), low, high):
                state.occurrences[made.id] = (calendar.id, event.id, original)
                entries.append(made)
    entries.sort(key=lambda e: (e.span()[0], e.id))
    return entries


def _ical_uid(seed: str) -> str:
    return "040000008200E00074C5B7101A82E00800000000" + hashlib.sha256(
        seed.encode()).hexdigest()[:48].upper()


def _person(name: str, address: str) -> dict[str, Any]:
    return {"emailAddress": {"name": name, "address": address}}


def _attendee(raw: Any) -> dict[str, Any]:
    raw = raw if isinstance(raw, dict) else {}
    email = raw.get("emailAddress") or {}
    return {"type": raw.get("type", "required"),
            "status": raw.get("status") or {"response": "none", "time": NEVER},
            "emailAddress": {"name": email.get("name", email.get("address", "")),
                             "address": email.get("address", "")}}


def _bound(moment: datetime, made_in: str, zone_name: str, tz: ZoneInfo,
           all_day: bool) -> dict[str, str]:
    """A start or end in `tz`. An all-day event's is midnight of its own date (in the zone
    it was made in), labelled `zone_name` but never converted: Graph does so by design."""
    if all_day:
        moment = moment.astimezone(times.zone(made_in) or tz).replace(tzinfo=tz)
    return times.local(moment, zone_name, tz)


def present(entry: Entry, account: MsAccount, zone_name: str, tz: ZoneInfo, *,
            expand: str = "", in_collection: bool = True) -> dict[str, Any]:
    """The event resource for `entry`, its times in `tz` (which the caller calls
    `zone_name`); `expand` may ask for single-value extended properties by id."""
    event, fields = entry.event, entry.event.fields
    start, end = entry.span()
    kind = "occurrence" if entry.original is not None else event.kind
    all_day = bool(fields.get("isAllDay", False))
    body = fields.get("body") or {"contentType": "html", "content": ""}
    preview = " ".join(_TAGS.sub(" ", html.unescape(str(body.get("content", "")))).split())
    organizer = fields.get("organizer") or _person(account.name, account.email)
    out: dict[str, Any] = {"@odata.type": "#microsoft.graph.event"} if in_collection else {}
    out.update({
        "@odata.etag": entry.etag, "id": entry.id,
        "createdDateTime": times.timestamp(event.created),
        "lastModifiedDateTime": times.timestamp(event.modified),
        "changeKey": event.change_key, "categories": fields.get("categories", []),
        "transactionId": event.transaction_id,
        "originalStartTimeZone": event.start_zone, "originalEndTimeZone": event.end_zone,
        "iCalUId": _ical_uid(entry.id), "uid": _ical_uid(event.master_id or event.id),
        "reminderMinutesBeforeStart": fields.get("reminderMinutesBeforeStart", 15),
        "isReminderOn": fields.get("isReminderOn", True), "hasAttachments": False,
        "subject": fields.get("subject", ""), "bodyPreview": preview[:255],
        "importance": fields.get("importance", "normal"),
        "sensitivity": fields.get("sensitivity", "normal"),
        "isAllDay": all_day,
        "isCancelled": fields.get("isCancelled", False),
        "isOrganizer": fields.get("isOrganizer", "organizer" not in fields),
        "responseRequested": fields.get("responseRequested", True),
        "seriesMasterId": (event.id if entry.original is not None else event.master_id) or None,
        "showAs": fields.get("showAs", "busy"), "type": kind,
        "webLink": f"https://outlook.office365.com/owa/?itemid={entry.id}&exvsurl=1&path="
                   "/calendar/item",
        "onlineMeetingUrl": None, "isOnlineMeeting": fields.get("isOnlineMeeting", False),
        "onlineMeetingProvider": fields.get("onlineMeetingProvider", "unknown"),
        "allowNewTimeProposals": fields.get("allowNewTimeProposals", True),
        "isDraft": False, "hideAttendees": fields.get("hideAttendees", False),
        "responseStatus": {"response": "organizer" if "organizer" not in fields else "accepted",
                           "time": NEVER},
        "body": body,
        "start": _bound(start, event.start_zone, zone_name, tz, all_day),
        "end": _bound(end, event.end_zone, zone_name, tz, all_day),
        "location": fields.get("location") or {"displayName": "", "locationType": "default",
                                               "uniqueIdType": "unknown", "address": {},
                                               "coordinates": {}},
        "locations": fields.get("locations", []),
        "recurrence": copy.deepcopy(event.recurrence) if kind == "seriesMaster" else None,
        "attendees": [_attendee(a) for a in fields.get("attendees") or []],
        "organizer": organizer, "onlineMeeting": fields.get("onlineMeeting"),
    })
    original = entry.original or event.original_start
    if original is not None:
        out["originalStart"] = times.offset_timestamp(original)
    wanted = _EXPAND.search(expand)
    if wanted and wanted.group(1) in event.extended:
        out["singleValueExtendedProperties"] = [
            {"id": wanted.group(1), "value": event.extended[wanted.group(1)]}]
    elif "singlevalueextendedproperties" in expand.lower():
        out["singleValueExtendedProperties"] = []
    return out
