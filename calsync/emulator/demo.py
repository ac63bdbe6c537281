"""The demo account `serve_forever` starts with: a salesperson's week, past and upcoming.

Meetings sit on whole hours relative to today, so the calendar always has some that have
ended (calsync prompts for those) and some still to come.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from calsync.emulator.google import GoogleEmulator

DEMO_EMAIL = "demo.seller@example.com"
ZONE = "Europe/Berlin"
# (days from today, hour in UTC, minutes long, title, counterpart emails)
MEETINGS = [
    (-9, 9, 30, "Intro call: Acme logistics", ["jane.doe@acme.example"]),
    (-6, 13, 60, "Demo for Globex procurement", ["h.simpson@globex.example",
                                                 "m.burns@globex.example"]),
    (-3, 10, 45, "Pricing follow-up with Initech", ["bill.lumbergh@initech.example"]),
    (-1, 15, 30, "Contract questions: Umbrella", ["a.wesker@umbrella.example"]),
    (1, 9, 30, "Discovery call: Stark Industries", ["pepper@stark.example"]),
    (2, 14, 60, "Technical deep dive with Wayne Enterprises", ["lucius@wayne.example"]),
    (5, 11, 30, "Negotiation: Acme logistics", ["jane.doe@acme.example"]),
]


def _event(start: datetime, minutes: int, title: str, guests: list[str]) -> dict[str, Any]:
    return {
        "summary": title,
        "description": "Agenda: needs, timeline, next step.",
        "start": {"dateTime": start.isoformat(), "timeZone": ZONE},
        "end": {"dateTime": (start + timedelta(minutes=minutes)).isoformat(), "timeZone": ZONE},
        "attendees": [{"email": DEMO_EMAIL, "responseStatus": "accepted", "organizer": True},
                      *({"email": g, "responseStatus": "accepted"} for g in guests)],
        "hangoutLink": "https://meet.google.com/abc-defg-hij",
    }


def seed(emulator: GoogleEmulator) -> str:
    """Create the demo account and its meetings; returns the account's email."""
    emulator.add_account(DEMO_EMAIL, name="Demo Seller", time_zone=ZONE)
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    for days, hour, minutes, title, guests in MEETINGS:
        start = today + timedelta(days=days, hours=hour)
        emulator.add_event(DEMO_EMAIL, _event(start, minutes, title, guests))
    monday = today - timedelta(days=today.weekday() + 14)
    emulator.add_event(DEMO_EMAIL, {
        "summary": "Pipeline review (internal)",
        "start": {"dateTime": (monday + timedelta(hours=8)).isoformat(), "timeZone": ZONE},
        "end": {"dateTime": (monday + timedelta(hours=8, minutes=30)).isoformat(),
                "timeZone": ZONE},
        "recurrence": ["RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=12"],
        "attendees": [{"email": DEMO_EMAIL, "responseStatus": "accepted"},
                      {"email": "sales.lead@example.com", "responseStatus": "accepted"}],
    })
    return DEMO_EMAIL
