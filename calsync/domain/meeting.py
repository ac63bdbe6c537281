"""What a provider hands to sync: one occurrence of an event, as plain immutable data.

Times are timezone-aware; all-day meetings carry dates in `start_date`/`end_date` too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass(frozen=True)
class Attendee:
    email: str
    name: str = ""
    # RFC 5545 PARTSTAT / Google responseStatus, lowercased: accepted, declined, tentative...
    response: str = ""
    # The source knows this attendee is the calendar's owner (Google's `self`), whatever
    # address the user signed up to calsync with.
    is_self: bool = False

    @property
    def domain(self) -> str:
        return self.email.rpartition("@")[2].lower()


@dataclass(frozen=True)
class MeetingData:
    """One occurrence read from a source; (uid, recurrence_id) is its stable key there."""

    uid: str
    # ISO start of the occurrence in its series ("" for a single event).
    recurrence_id: str
    title: str
    start: datetime
    end: datetime
    all_day: bool = False
    start_date: date | None = None
    end_date: date | None = None
    status: str = "confirmed"  # confirmed | cancelled
    attendees: tuple[Attendee, ...] = ()
    organizer: str = ""
    location: str = ""
    description: str = ""
    series_uid: str = ""  # the series this occurrence belongs to ("" for a single event)
    conference_url: str = ""  # the video call link, when the source has one
    extra: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    @property
    def key(self) -> tuple[str, str]:
        return (self.uid, self.recurrence_id)

    def response_of(self, email: str) -> str:
        """The response the given person gave, "" when they are not listed."""
        wanted = email.lower()
        for attendee in self.attendees:
            if attendee.email.lower() == wanted or attendee.is_self:
                return attendee.response
        return ""
