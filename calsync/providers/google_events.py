"""Google Calendar events and calsync's data: a listed event as MeetingData (keyed by event id
and original start, never iCalUID), and a follow-up as the body calsync writes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from calsync.domain.meeting import Attendee, MeetingData
from calsync.domain.text import calendar_text
from calsync.domain.vocabulary import MeetingStatus
from calsync.providers.base import FOLLOWUP_MARK, OutgoingEvent, ReadContext

DESCRIPTION_LIMIT = 10_000
# Google's non-meeting entries: nobody is asked how a focus block or a birthday went.
NOT_MEETINGS = frozenset({"workingLocation", "outOfOffice", "focusTime", "birthday",
                          "fromGmail"})


def occurrence_key(item: dict[str, Any]) -> tuple[str, str]:
    """(uid, recurrence_id): an instance by its series and original start, else the id.

    A cancelled series or single event gives (id, ""), which sync reads as "all of it".
    """
    series = item.get("recurringEventId")
    original = item.get("originalStartTime")
    if series and original:
        return series, original_start(original)
    return str(item["id"]), ""


def original_start(when: dict[str, Any]) -> str:
    """"YYYY-MM-DDTHH:MM:SSZ" (UTC) for a timed occurrence, "YYYY-MM-DD" for an all-day one."""
    if "date" in when:
        return str(when["date"])
    moment = _instant(when, ZoneInfo("UTC"))
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _zone(name: Any) -> ZoneInfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _instant(when: dict[str, Any], floating: ZoneInfo) -> datetime:
    moment = datetime.fromisoformat(str(when["dateTime"]))
    if moment.tzinfo is None:  # Google always sends an offset; be kind to anything else
        moment = moment.replace(tzinfo=_zone(when.get("timeZone")) or floating)
    return moment


def _bounds(item: dict[str, Any], zone: ZoneInfo
            ) -> tuple[datetime, datetime, date | None, date | None]:
    start, end = item["start"], item.get("end") or item["start"]
    if "date" in start:
        first = date.fromisoformat(start["date"])
        last = date.fromisoformat(end.get("date", start["date"]))
        return (datetime.combine(first, time(), zone), datetime.combine(last, time(), zone),
                first, last)
    begin = _instant(start, zone)
    return begin, (_instant(end, zone) if "dateTime" in end else begin), None, None


def is_meeting(item: dict[str, Any]) -> bool:
    return item.get("eventType", "default") not in NOT_MEETINGS and "start" in item


def to_meeting(item: dict[str, Any], zone: ZoneInfo) -> MeetingData:
    """One listed (singleEvents) event as a meeting; all-day dates are midnight in `zone`."""
    uid, recurrence_id = occurrence_key(item)
    start, end, start_date, end_date = _bounds(item, zone)
    attendees = tuple(
        Attendee(email=str(person.get("email", "")).strip().lower(),
                 name=str(person.get("displayName", "")),
                 response=str(person.get("responseStatus", "")).lower(),
                 is_self=bool(person.get("self", False)))
        for person in item.get("attendees") or [] if person.get("email"))
    extra: dict[str, str] = {}
    mark = ((item.get("extendedProperties") or {}).get("private") or {}).get(FOLLOWUP_MARK)
    if mark:
        extra = {FOLLOWUP_MARK: str(mark), "etag": str(item.get("etag", ""))}
    return MeetingData(
        uid=uid,
        recurrence_id=recurrence_id,
        series_uid=str(item.get("recurringEventId") or ""),
        title=str(item.get("summary", "")),
        start=start,
        end=end,
        all_day=start_date is not None,
        start_date=start_date,
        end_date=end_date,
        # Google's own event status, read into ours.
        status=(MeetingStatus.CANCELLED if item.get("status") == "cancelled"
                else MeetingStatus.CONFIRMED),
        attendees=attendees,
        organizer=str((item.get("organizer") or {}).get("email", "")).lower(),
        location=str(item.get("location", "")),
        description=str(item.get("description", ""))[:DESCRIPTION_LIMIT],
        conference_url=conference_url(item),
        extra=extra,
    )


def changed_meeting(item: dict[str, Any], context: ReadContext) -> MeetingData | None:
    """An incremental item as a meeting to store, or None when it counts as deleted here:
    cancelled, not a meeting, or moved out of the window (calsync's own follow-up events
    are followed wherever they go)."""
    if item.get("status") == "cancelled" or not is_meeting(item):
        return None
    meeting = to_meeting(item, context.timezone)
    if meeting.extra.get(FOLLOWUP_MARK):
        return meeting
    inside = meeting.end >= context.window_start and meeting.start <= context.window_end
    return meeting if inside else None


def conference_url(item: dict[str, Any]) -> str:
    """The video call: Meet's `hangoutLink`, else a video entry point of `conferenceData`."""
    if item.get("hangoutLink"):
        return str(item["hangoutLink"])
    for entry in (item.get("conferenceData") or {}).get("entryPoints") or []:
        if entry.get("entryPointType") == "video" and entry.get("uri"):
            return str(entry["uri"])
    return ""


def event_body(event: OutgoingEvent) -> dict[str, Any]:
    """What calsync writes for a follow-up (without the id, which only insert sends)."""
    zone = _zone(event.timezone) or ZoneInfo("UTC")
    return {
        "summary": calendar_text(event.summary),
        "description": calendar_text(event.description),
        "start": {"dateTime": event.start.astimezone(zone).isoformat(),
                  "timeZone": zone.key},
        "end": {"dateTime": event.end.astimezone(zone).isoformat(), "timeZone": zone.key},
        "status": "confirmed",
        # Subscribed feeds can't be relied on for alarms: the written event carries its own.
        "reminders": {"useDefault": False, "overrides": [
            {"method": "popup", "minutes": event.reminder_minutes}]
            if event.reminder_minutes is not None else []},
        "extendedProperties": {"private": dict(event.private_properties)},
    }


def belongs_to(item: dict[str, Any], event: OutgoingEvent) -> bool:
    """The event at calsync's id is this follow-up's, not a stranger's."""
    mine = event.private_properties.get(FOLLOWUP_MARK)
    private = (item.get("extendedProperties") or {}).get("private") or {}
    return bool(mine) and private.get(FOLLOWUP_MARK) == mine
