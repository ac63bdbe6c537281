"""Helpers for the API tests: calendars built as ICS text relative to now, uploaded through
the API so the inline queue syncs them and prompts the meetings that ended."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from calsync.models import User
from tests.conftest import ApiClient, api_client_for

USER_EMAIL = "ana@acme-sales.com"


@dataclass(frozen=True)
class Event:
    uid: str
    title: str = "Demo"
    hours_ago: float = 1.0  # when it ended; negative: in the future
    minutes: int = 60
    attendees: tuple[str, ...] = ("buyer@prospect.example",)
    all_day: bool = False
    rrule: str = ""  # e.g. "FREQ=DAILY;COUNT=3": occurrences from the one `hours_ago` on


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def ics_text(*events: Event, now: datetime | None = None) -> str:
    """A calendar of `events`, times in UTC relative to `now`, with CRLF line ends."""
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//calsync tests//api//EN"]
    for event in events:
        end = now - timedelta(hours=event.hours_ago)
        start = end - timedelta(minutes=event.minutes)
        lines += ["BEGIN:VEVENT", f"UID:{event.uid}", f"DTSTAMP:{_stamp(now)}",
                  f"SUMMARY:{event.title}"]
        if event.all_day:
            lines += [f"DTSTART;VALUE=DATE:{start:%Y%m%d}",
                      f"DTEND;VALUE=DATE:{start + timedelta(days=1):%Y%m%d}"]
        else:
            lines += [f"DTSTART:{_stamp(start)}", f"DTEND:{_stamp(end)}"]
        if event.rrule:
            lines.append(f"RRULE:{event.rrule}")
        lines.append(f"ORGANIZER:mailto:{USER_EMAIL}")
        lines.append(f"ATTENDEE;PARTSTAT=ACCEPTED:mailto:{USER_EMAIL}")
        lines += [f"ATTENDEE;PARTSTAT=ACCEPTED:mailto:{a}" for a in event.attendees]
        lines.append("END:VEVENT")
    lines.append("END:VCALENDAR")
    return "\r\n".join(lines) + "\r\n"


def upload(api: ApiClient, *events: Event, name: str = "Work") -> dict[str, Any]:
    """POST a calendar of `events`; the inline queue syncs it before the answer."""
    response = api.post("/api/v1/sources", json={"kind": "ics", "name": name,
                                                 "ics": ics_text(*events)})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def pending(api: ApiClient) -> dict[str, dict[str, Any]]:
    """The pending prompts by their meeting's title."""
    response = api.get("/api/v1/prompts?status=pending")
    assert response.status_code == 200, response.get_json()
    return {item["meeting"]["title"]: item for item in response.get_json()["items"]}


def error_of(response: Any, status: int) -> dict[str, Any]:
    """The error object of a JSON error answer with `status`."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json
    return response.get_json()["error"]


@pytest.fixture
def prompts(api: ApiClient) -> dict[str, dict[str, Any]]:
    """Two ended meetings with two prospects, and one still ahead: two pending prompts."""
    upload(api,
           Event("demo-1", "Prospect demo", hours_ago=1),
           Event("other-1", "Other intro", hours_ago=3, attendees=("cfo@other.example",)),
           Event("later-1", "Prospect follow-up", hours_ago=-24))
    return pending(api)


@pytest.fixture
def other_api(app: Flask, client: FlaskClient, make_user: Any) -> ApiClient:
    """A second user with a token of their own, on the same test client."""
    other: User = make_user("bo@rival-sales.com")
    return api_client_for(app, client, other)
