"""CalDAV items and calsync's data: one stored iCalendar object read into meetings (parsed
and expanded by the ICS reader), and a follow-up as the object calsync stores."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import icalendar

from calsync.domain.meeting import MeetingData
from calsync.domain.text import calendar_text
from calsync.errors import SourceError
from calsync.providers.base import FOLLOWUP_MARK, OutgoingEvent, ReadContext
from calsync.providers.ics_parse import Limits, parse_ics, to_meeting

PRODID = "-//calsync//follow-ups//EN"


def property_name(key: str) -> str:
    """calsync's private property `calsync_followup` as the iCalendar X-CALSYNC-FOLLOWUP."""
    return "X-" + key.upper().replace("_", "-")


MARK = property_name(FOLLOWUP_MARK)


@dataclass
class ItemRead:
    """One calendar object: its UID, whether it repeats or is calsync's, and its meetings."""

    uid: str
    recurring: bool = False
    own: bool = False
    meetings: list[MeetingData] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def read_item(data: bytes, etag: str, context: ReadContext, limits: Limits) -> ItemRead:
    """The meetings of one object (recurrences expanded in the window, as for ICS feeds).

    calsync's own follow-up event is read wherever it is (the user may have moved it out of
    the window) and marked, so sync moves its follow-up instead of importing a meeting.
    Raises SourceError for an object that can't be read at all.
    """
    try:
        events = icalendar.Calendar.from_ical(data).walk("VEVENT")
    except Exception as exc:  # icalendar raises many kinds for a malformed object
        raise SourceError(f"an unreadable calendar object ({str(exc)[:120]})") from exc
    if not events:
        return ItemRead(uid="")  # a task or journal in a mixed collection: no meetings
    uid = str(events[0].get("UID", ""))
    mark = str(events[0].get(MARK, ""))
    if mark:
        meeting = to_meeting(events[0], False, context.timezone)
        return ItemRead(uid, own=True, meetings=[
            replace(meeting, extra={FOLLOWUP_MARK: mark, "etag": etag})])
    recurring = any(p in e for e in events for p in ("RRULE", "RDATE", "RECURRENCE-ID"))
    parsed = parse_ics(data, context, limits)
    return ItemRead(uid, recurring, meetings=parsed.meetings, warnings=parsed.warnings)


def mark_of(data: bytes) -> str:
    """The follow-up an object is calsync's event for, "" for anyone else's."""
    try:
        events = icalendar.Calendar.from_ical(data).walk("VEVENT")
    except Exception:  # not ours to judge: it simply isn't a follow-up of ours
        return ""
    return str(events[0].get(MARK, "")) if events else ""


def times_of(data: bytes) -> tuple[datetime, datetime] | None:
    """An object's start and end as it is now (a time the user moved it to)."""
    try:
        event = icalendar.Calendar.from_ical(data).walk("VEVENT")[0]
        start = event.decoded("DTSTART")
        end = event.decoded("DTEND") if "DTEND" in event else start + event.decoded(
            "DURATION", timedelta())
    except Exception:  # unreadable times: calsync's own times stand
        return None
    if not (isinstance(start, datetime) and isinstance(end, datetime)):
        return None
    return start, end


def event_object(event: OutgoingEvent, times: tuple[datetime, datetime] | None = None) -> bytes:
    """The VCALENDAR calsync stores for a follow-up: its UID is the derived event id, its
    X-CALSYNC-* properties name the follow-up, and a VALARM carries the reminder."""
    start, end = times or (event.start, event.end)
    vevent = icalendar.Event()
    vevent.add("UID", event.event_id)
    vevent.add("DTSTAMP", datetime.now(UTC))
    vevent.add("DTSTART", _utc(start))
    vevent.add("DTEND", _utc(end))
    vevent.add("SUMMARY", calendar_text(event.summary))
    vevent.add("DESCRIPTION", calendar_text(event.description))
    vevent.add("STATUS", "CONFIRMED")
    for key, value in event.private_properties.items():
        vevent.add(property_name(key), value)
    if event.reminder_minutes is not None:
        alarm = icalendar.Alarm()
        alarm.add("ACTION", "DISPLAY")
        alarm.add("DESCRIPTION", calendar_text(event.summary))
        alarm.add("TRIGGER", timedelta(minutes=-event.reminder_minutes))
        vevent.add_component(alarm)
    calendar = icalendar.Calendar()
    calendar.add("PRODID", PRODID)
    calendar.add("VERSION", "2.0")
    calendar.add_component(vevent)
    data: bytes = calendar.to_ical()
    return data


def _utc(moment: datetime) -> Any:
    # UTC needs no VTIMEZONE, which every server accepts; calendar apps show local time.
    return moment.astimezone(UTC)
