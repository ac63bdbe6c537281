"""The demo account `serve_forever` starts with: a salesperson's weeks, past and upcoming.

Two calendars, as a rep has: "Work" (primary) with prospect meetings, and "Sales team",
shared with colleagues. Meetings fall on weekdays in working hours (9:00-17:00) in the
account's time zone, placed around today so some have ended (calsync prompts for those)
and some are still to come. The zone is the one the consent page sends (the browser's):
when a person allows access in another zone, the meetings are placed again in that one,
before calsync first reads them.
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

if TYPE_CHECKING:
    from calsync.emulator.google import GoogleEmulator

DEMO_EMAIL = "demo.seller@example.com"
TEAM_CALENDAR = "sales-team@group.calendar.example.com"
ZONE = "Europe/Berlin"  # until a consent says otherwise
# (working days from today, local start, minutes long, title, counterpart emails)
MEETINGS = [
    (-7, time(9, 30), 30, "Intro call: Acme logistics", ["jane.doe@acme.example"]),
    (-5, time(13, 0), 60, "Demo for Globex procurement", ["h.simpson@globex.example",
                                                          "m.burns@globex.example"]),
    (-3, time(10, 0), 45, "Pricing follow-up with Initech", ["bill.lumbergh@initech.example"]),
    (-1, time(15, 0), 30, "Contract questions: Umbrella", ["a.wesker@umbrella.example"]),
    (1, time(9, 0), 30, "Discovery call: Stark Industries", ["pepper@stark.example"]),
    (2, time(14, 0), 60, "Technical deep dive with Wayne Enterprises", ["lucius@wayne.example"]),
    (4, time(11, 0), 30, "Negotiation: Acme logistics", ["jane.doe@acme.example"]),
]
# On the team calendar: a joint call with a prospect, and the weekly internal review.
TEAM_MEETINGS = [
    (-2, time(16, 0), 45, "Joint call with Hooli (with Sam)", ["gavin@hooli.example"]),
    (3, time(10, 30), 30, "Hooli security questionnaire review", ["gavin@hooli.example"]),
]
COLLEAGUE = "sam.lee@example.com"


def seed(emulator: GoogleEmulator, *, zone: str = ZONE, now: datetime | None = None) -> str:
    """Create the demo account, its two calendars and their meetings; returns the email.
    Each later consent given in another zone places the meetings again in that zone."""
    emulator.add_account(DEMO_EMAIL, [{"id": TEAM_CALENDAR, "summary": "Sales team",
                                       "timeZone": zone}],
                         name="Demo Seller", time_zone=zone, summary="Work")
    place(emulator, zone, now)
    placed = {"zone": zone}
    lock = threading.Lock()

    def on_consent(email: str, asked: str) -> None:
        if email != DEMO_EMAIL or not _known_zone(asked):
            return
        with lock:
            if asked != placed["zone"]:
                clear(emulator)
                place(emulator, asked)
                placed["zone"] = asked

    emulator.on_consent(on_consent)
    return DEMO_EMAIL


def place(emulator: GoogleEmulator, zone: str, now: datetime | None = None) -> None:
    """Add the demo's meetings in `zone`, on working days around `now`'s date there."""
    tz = ZoneInfo(zone)
    today = (now or datetime.now(UTC)).astimezone(tz).date()
    for calendar in (DEMO_EMAIL, TEAM_CALENDAR):
        emulator.set_time_zone(calendar, zone)
    for days, start, minutes, title, guests in MEETINGS:
        emulator.add_event(DEMO_EMAIL, _event(working_day(today, days), start, minutes, tz,
                                              title, guests))
    for days, start, minutes, title, guests in TEAM_MEETINGS:
        emulator.add_event(TEAM_CALENDAR, _event(working_day(today, days), start, minutes, tz,
                                                 title, [COLLEAGUE, *guests]))
    # The weekly pipeline review, Mondays 9:00, from two weeks back.
    monday = today - timedelta(days=today.weekday() + 14)
    review = _event(monday, time(9, 0), 30, tz, "Pipeline review (internal)", [COLLEAGUE])
    emulator.add_event(TEAM_CALENDAR, {**review, "recurrence": [
        "RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=12"]})


def clear(emulator: GoogleEmulator) -> None:
    """Delete every demo meeting (as if the user had, in Google)."""
    for calendar in (DEMO_EMAIL, TEAM_CALENDAR):
        for event in emulator.events(calendar):
            emulator.delete_event(calendar, event["id"])


def working_day(today: date, offset: int) -> date:
    """The `offset`-th Monday-to-Friday day after `today` (before it when negative)."""
    day, step, left = today, (1 if offset > 0 else -1), abs(offset)
    while left:
        day += timedelta(days=step)
        if day.weekday() < 5:
            left -= 1
    return day


def _event(day: date, start: time, minutes: int, tz: ZoneInfo, title: str,
           guests: list[str]) -> dict[str, Any]:
    begins = datetime.combine(day, start, tzinfo=tz)
    return {
        "summary": title,
        "description": "Agenda: needs, timeline, next step.",
        "start": {"dateTime": begins.isoformat(), "timeZone": tz.key},
        "end": {"dateTime": (begins + timedelta(minutes=minutes)).isoformat(),
                "timeZone": tz.key},
        "attendees": [{"email": DEMO_EMAIL, "responseStatus": "accepted", "organizer": True},
                      *({"email": g, "responseStatus": "accepted"} for g in guests)],
        "hangoutLink": "https://meet.google.com/abc-defg-hij",
    }


def _known_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return bool(name)
