"""Helpers for the Microsoft tests: settings pointing at the emulator, tokens in calsync's
shape, event bodies as a user would create them in Outlook, and Graph's requests seen."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from calsync.emulator.microsoft import MicrosoftEmulator
from calsync.emulator.microsoft.state import LoggedRequest
from tests.servers.microsoft import CLIENT_ID, CLIENT_SECRET, EMAIL


def endpoints(emulator: MicrosoftEmulator) -> dict[str, str]:
    """Settings that send calsync's Microsoft traffic to the emulator, its CA trusted."""
    return {"microsoft_client_id": CLIENT_ID, "microsoft_client_secret": CLIENT_SECRET,
            "microsoft_authority_host": emulator.authority_host,
            "microsoft_graph_endpoint": emulator.graph_endpoint,
            "microsoft_ca_bundle": str(emulator.ca_path)}


def tokens(emulator: MicrosoftEmulator, email: str = EMAIL) -> dict[str, Any]:
    issued = emulator.issue_tokens(email, CLIENT_ID)
    expiry = datetime.now(UTC) + timedelta(seconds=issued["expires_in"])
    return {"token": issued["access_token"], "refresh_token": issued["refresh_token"],
            "expiry": expiry.isoformat(), "scopes": issued["scope"].split()}


def options(emulator: MicrosoftEmulator, *calendars: str, written: str = "") -> dict[str, Any]:
    default = emulator.calendar_ids(EMAIL)[0]
    read = list(calendars or (default,))
    return {"account": EMAIL, "calendars_read": read, "calendar_written": written or default,
            "calendar_names": {c: c[-8:] for c in {*read, written or default}}}


def timed(start: datetime, minutes: int = 30, subject: str = "Meeting",
          **extra: Any) -> dict[str, Any]:
    """An event body as a user would create it in Outlook (in UTC)."""
    end = start + timedelta(minutes=minutes)
    return {"subject": subject,
            "start": {"dateTime": start.astimezone(UTC).replace(tzinfo=None).isoformat(),
                      "timeZone": "UTC"},
            "end": {"dateTime": end.astimezone(UTC).replace(tzinfo=None).isoformat(),
                    "timeZone": "UTC"}, **extra}


def hour(days: float = 0, at: int = 10) -> datetime:
    day = datetime.now(UTC).replace(hour=at, minute=0, second=0, microsecond=0)
    return day + timedelta(days=days)


def graph_calls(emulator: MicrosoftEmulator) -> list[LoggedRequest]:
    """The Graph requests the emulator answered, in order (the identity platform's left out)."""
    return [r for r in emulator.requests if r.path.startswith("/v1.0/")]
