"""Helpers for the Google provider tests: the emulator's account, event bodies, times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from calsync.emulator import GoogleEmulator
from calsync.emulator.state import LoggedRequest

CLIENT_ID = "calsync-tests.apps.googleusercontent.example"
CLIENT_SECRET = "calsync-tests-secret"
EMAIL = "ana@acme-sales.com"  # the root conftest's user: her primary calendar's id
TEAM = "team@group.calendar.google.example"
NAMES = {EMAIL: "Ana's calendar", TEAM: "Team"}


def endpoints(emulator: GoogleEmulator) -> dict[str, str]:
    """Settings that send calsync's Google traffic to the emulator."""
    return {"google_api_endpoint": emulator.api_endpoint, "google_token_uri": emulator.token_uri,
            "google_auth_uri": emulator.auth_uri, "google_revoke_uri": emulator.revoke_uri,
            "google_client_id": CLIENT_ID, "google_client_secret": CLIENT_SECRET}


def options(*calendars: str, written: str = EMAIL) -> dict[str, Any]:
    read = list(calendars or (EMAIL,))
    return {"account": EMAIL, "calendars_read": read, "calendar_written": written,
            "calendar_names": {c: NAMES.get(c, c) for c in {*read, written}}}


def timed(start: datetime, minutes: int = 30, **extra: Any) -> dict[str, Any]:
    """An event body as a user would create it in Google."""
    end = start + timedelta(minutes=minutes)
    return {"summary": extra.pop("summary", "Meeting"),
            "start": {"dateTime": start.isoformat()}, "end": {"dateTime": end.isoformat()},
            **extra}


def hour(days: float = 0, at: int = 10) -> datetime:
    """A whole hour (UTC) `days` from today."""
    day = datetime.now(UTC).replace(hour=at, minute=0, second=0, microsecond=0)
    return day + timedelta(days=days)


def lists(emulator: GoogleEmulator) -> list[LoggedRequest]:
    """The events.list calls the emulator answered, in order."""
    return [r for r in emulator.requests if r.method == "GET" and r.path.endswith("/events")]
