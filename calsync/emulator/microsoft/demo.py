"""The demo account `serve_forever` starts with: the Google demo's salesperson and meetings
(`calsync.emulator.demo`), in Outlook's shape: "Calendar" (the default) and "Sales team",
meetings on working days in working hours around today, the weekly review as a series.
As in the Google demo, a consent given in another zone (the browser's) places the meetings
again in that zone, before calsync first reads them."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from calsync.emulator import demo, recurrence
from calsync.emulator.microsoft.emulator import MicrosoftEmulator

DEMO_EMAIL = "demo.seller@contoso.example"
COLLEAGUE = "sam.lee@contoso.example"


def seed(emulator: MicrosoftEmulator, *, zone: str = demo.ZONE,
         now: datetime | None = None) -> str:
    """Create the demo account, its two calendars and their meetings; returns the email."""
    emulator.add_account(DEMO_EMAIL, ["Sales team"], name="Demo Seller")
    place(emulator, zone, now)
    lock = threading.Lock()

    def on_consent(email: str, asked: str) -> None:
        if email != DEMO_EMAIL or recurrence.zone(asked) is None:
            return
        with lock:
            if asked != emulator.time_zone:
                clear(emulator)
                place(emulator, asked)

    emulator.on_consent(on_consent)
    return DEMO_EMAIL


def place(emulator: MicrosoftEmulator, zone: str, now: datetime | None = None) -> None:
    """Add the demo's meetings in `zone`, on working days around `now`'s date there; the
    consent page names that zone."""
    emulator.set_time_zone(zone)
    work, team = emulator.calendar_ids(DEMO_EMAIL)
    today = (now or datetime.now(UTC)).astimezone(ZoneInfo(zone)).date()
    for calendar, meetings, colleagues in ((work, demo.MEETINGS, []),
                                           (team, demo.TEAM_MEETINGS, [COLLEAGUE])):
        for days, start, minutes, title, guests in meetings:
            emulator.add_event(calendar, _event(demo.working_day(today, days), start, minutes,
                                                zone, title, [*colleagues, *guests]))
    monday = today - timedelta(days=today.weekday() + 14)
    review = _event(monday, time(9, 0), 30, zone, "Pipeline review (internal)", [COLLEAGUE])
    emulator.add_event(team, {**review, "recurrence": {
        "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["monday"],
                    "firstDayOfWeek": "sunday"},
        "range": {"type": "numbered", "startDate": monday.isoformat(),
                  "numberOfOccurrences": 12}}})


def clear(emulator: MicrosoftEmulator) -> None:
    """Delete every demo meeting (as if the user had, in Outlook)."""
    for calendar in emulator.calendar_ids(DEMO_EMAIL):
        for event in emulator.events(calendar):
            emulator.delete_event(calendar, event["id"])


def _event(day: date, start: time, minutes: int, zone: str, title: str,
           guests: list[str]) -> dict[str, Any]:
    begins = datetime.combine(day, start)
    return {
        "subject": title,
        "body": {"contentType": "html", "content": "<p>Agenda: needs, timeline, next step.</p>"},
        "start": {"dateTime": begins.isoformat(), "timeZone": zone},
        "end": {"dateTime": (begins + timedelta(minutes=minutes)).isoformat(), "timeZone": zone},
        "attendees": [{"type": "required", "emailAddress": {"address": g, "name": g}}
                      for g in guests],
        "isOnlineMeeting": True, "onlineMeetingProvider": "teamsForBusiness",
    }
