"""A promise's deadline for tests: a fixed weekday and hour, so the working day ahead of it
is known."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

BERLIN = ZoneInfo("Europe/Berlin")  # the test user's zone


def wednesday_at_four(zone: ZoneInfo = BERLIN) -> datetime:
    """A Wednesday 16:00 in `zone`, one to two weeks ahead: the day before it is a working
    day, and the follow-up a promise plans ahead of it is still in the future."""
    day = datetime.now(zone).date() + timedelta(days=8)
    while day.weekday() != 2:
        day += timedelta(days=1)
    return datetime(day.year, day.month, day.day, 16, tzinfo=zone)
