"""Graph events and calsync's data: an event read in UTC as MeetingData (an occurrence keyed
by its series master id and original start, never iCalUId), and a follow-up as the body
calsync writes, marked by its transactionId and single-value extended properties."""

from __future__ import annotations

import base64
import binascii
import html
import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

from calsync.domain.meeting import Attendee, MeetingData
from calsync.domain.text import calendar_text
from calsync.domain.vocabulary import MeetingStatus
from calsync.providers.base import FOLLOWUP_MARK, OutgoingEvent

DESCRIPTION_LIMIT = 10_000
# calsync's own property set for single-value extended properties (a fixed GUID of ours).
PROPERTY_SET = "{6f1e5a52-4a1b-4c57-9b0e-ca15c0f0a11d}"
TRANSACTION_PREFIX = "calsync-"
# Graph's responses, as calsync (RFC 5545 / Google) words them.
RESPONSES = {"tentativelyaccepted": "tentative", "notresponded": "needsaction",
             "none": "needsaction"}
_TAGS = re.compile(r"<(script|style)\b.*?</\1>|<[^>]+>", re.IGNORECASE | re.DOTALL)


def property_id(name: str) -> str:
    return f"String {PROPERTY_SET} Name {name}"


def transaction_id(event: OutgoingEvent) -> str:
    """Graph's idempotent-create key, derived from the follow-up: a retried create finds the
    event the first one made. Read back, it also says the event is calsync's."""
    return TRANSACTION_PREFIX + event.private_properties.get(FOLLOWUP_MARK, event.event_id)


def followup_of(event_id: str) -> str:
    """The follow-up uid inside an event id calsync derived (`jobs.writeback.event_id_for`:
    base32hex of "calsync" + uid), or "" for an id Graph gave."""
    try:
        raw = base64.b32hexdecode(event_id.upper() + "=" * (-len(event_id) % 8))
    except (binascii.Error, ValueError):
        return ""
    text = raw.decode("utf-8", "replace")
    return text[len("calsync"):] if text.startswith("calsync") else ""


def utc_stamp(value: str) -> str:
    """Graph's originalStart ("2025-04-02T09:00:00Z", with or without fractions or an
    offset) as "YYYY-MM-DDTHH:MM:SSZ"."""
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def occurrence_key(item: dict[str, Any]) -> tuple[str, str]:
    """(uid, recurrence_id): an occurrence or exception by its series and original start,
    anything else by its id."""
    series, original = item.get("seriesMasterId"), item.get("originalStart")
    if series and original and item.get("type") in ("occurrence", "exception"):
        return str(series), utc_stamp(str(original))
    return str(item["id"]), ""


def _zone(name: Any) -> ZoneInfo | None:
    """The zone a Windows ("W. Europe Standard Time") or IANA name stands for, or None."""
    key = str(name or "")
    try:
        return ZoneInfo(WINDOWS_TO_OLSON.get(key, key)) if key else None
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _instant(when: dict[str, Any]) -> datetime:
    # Asked for in UTC (Prefer: outlook.timezone="UTC"); a zone name calsync cannot place
    # is read as UTC rather than refused.
    moment = datetime.fromisoformat(str(when["dateTime"])[:19])
    return moment.replace(tzinfo=_zone(when.get("timeZone")) or UTC)


def _day(when: dict[str, Any], made_in: Any) -> date:
    """An all-day event's date. Graph gives midnight of that date whatever zone it was asked
    for; an instant converted anyway (another time of day) goes back to the zone the event
    was made in, or, that unknown, to the nearest midnight."""
    stamp = str(when["dateTime"])
    if stamp[11:19] in ("", "00:00:00"):
        return date.fromisoformat(stamp[:10])
    zone = _zone(made_in)
    if zone is not None:
        return _instant(when).astimezone(zone).date()
    return (datetime.fromisoformat(stamp[:19]) + timedelta(hours=12)).date()


def _bounds(item: dict[str, Any], zone: ZoneInfo
            ) -> tuple[datetime, datetime, date | None, date | None]:
    start, end = item["start"], item.get("end") or item["start"]
    if item.get("isAllDay"):
        first = _day(start, item.get("originalStartTimeZone"))
        last = _day(end, item.get("originalEndTimeZone") or item.get("originalStartTimeZone"))
        return (datetime.combine(first, time(), zone), datetime.combine(last, time(), zone),
                first, last)
    return _instant(start), _instant(end), None, None


def own_mark(item: dict[str, Any]) -> str:
    """The follow-up uid when the event is one calsync wrote, else ""."""
    for prop in item.get("singleValueExtendedProperties") or []:
        if prop.get("id") == property_id(FOLLOWUP_MARK) and prop.get("value"):
            return str(prop["value"])
    transaction = str(item.get("transactionId") or "")
    return transaction[len(TRANSACTION_PREFIX):] if transaction.startswith(
        TRANSACTION_PREFIX) else ""


def _text(body: dict[str, Any] | None) -> str:
    content = str((body or {}).get("content") or "")
    if (body or {}).get("contentType", "text").lower() == "html":
        content = html.unescape(_TAGS.sub(" ", content.replace("<br>", "\n")))
    return "\n".join(" ".join(line.split()) for line in content.splitlines()).strip()


def to_meeting(item: dict[str, Any], zone: ZoneInfo, account: str) -> MeetingData:
    """One calendarView item as a meeting; all-day dates are midnight in `zone`."""
    uid, recurrence_id = occurrence_key(item)
    start, end, start_date, end_date = _bounds(item, zone)
    mark = own_mark(item)
    extra = {FOLLOWUP_MARK: mark, "etag": str(item.get("@odata.etag", ""))} if mark else {}
    return MeetingData(
        uid=uid, recurrence_id=recurrence_id,
        series_uid=str(item.get("seriesMasterId") or ""),
        title=str(item.get("subject") or ""), start=start, end=end,
        all_day=start_date is not None, start_date=start_date, end_date=end_date,
        status=MeetingStatus.CANCELLED if item.get("isCancelled") else MeetingStatus.CONFIRMED,
        attendees=_attendees(item, account.strip().lower()),
        organizer=_address(item.get("organizer")),
        location=str((item.get("location") or {}).get("displayName") or ""),
        description=_text(item.get("body"))[:DESCRIPTION_LIMIT],
        conference_url=str((item.get("onlineMeeting") or {}).get("joinUrl") or ""),
        extra=extra,
    )


def _address(person: dict[str, Any] | None) -> str:
    return str(((person or {}).get("emailAddress") or {}).get("address") or "").strip().lower()


def _attendees(item: dict[str, Any], account: str) -> tuple[Attendee, ...]:
    """The attendees, the account marked as the user (Google's `self`). Graph leaves the
    organizer out of `attendees`: when that is the account, it is listed first, so the
    user's own organisation counts as internal and their own meetings are no prospect's."""
    organizer = _address(item.get("organizer"))
    # isOrganizer: the calendar's owner organised it, under whatever alias Graph shows.
    own = bool(organizer) and (organizer == account or item.get("isOrganizer") is True)
    listed = [Attendee(email=address, name=str(person["emailAddress"].get("name") or ""),
                       response=_response(person),
                       is_self=address == account or (own and address == organizer))
              for person in item.get("attendees") or []
              if (address := _address(person))]
    if own and organizer not in {a.email for a in listed}:
        name = str((item["organizer"].get("emailAddress") or {}).get("name") or "")
        listed.insert(0, Attendee(email=organizer, name=name, response="accepted",
                                  is_self=True))
    return tuple(listed)


def _response(person: dict[str, Any]) -> str:
    said = str((person.get("status") or {}).get("response") or "").lower()
    return RESPONSES.get(said, said)


def event_body(event: OutgoingEvent, *, with_times: bool = True) -> dict[str, Any]:
    """What calsync writes for a follow-up (a create adds the transactionId)."""
    body: dict[str, Any] = {
        "subject": calendar_text(event.summary),
        "body": {"contentType": "text", "content": calendar_text(event.description)},
        # Subscribed feeds can't be relied on for alarms: the written event carries its own.
        "isReminderOn": event.reminder_minutes is not None,
        "reminderMinutesBeforeStart": event.reminder_minutes or 0,
        "showAs": "busy",
        "singleValueExtendedProperties": [
            {"id": property_id(name), "value": value}
            for name, value in sorted(event.private_properties.items())],
    }
    if with_times:
        # In UTC, the zone Graph is asked to answer in: no Windows zone names either way.
        body["start"] = {"dateTime": event.start.astimezone(UTC).replace(tzinfo=None)
                         .isoformat(), "timeZone": "UTC"}
        body["end"] = {"dateTime": event.end.astimezone(UTC).replace(tzinfo=None).isoformat(),
                       "timeZone": "UTC"}
    return body
