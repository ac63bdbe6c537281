"""Text calsync writes to calendars: a note typed with control characters reaches neither
the event written to Google nor the user's feed, and the feed still parses."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import icalendar
import requests
from flask.testing import FlaskClient
from ical.calendar_stream import IcsCalendarStream

from calsync.emulator import GoogleEmulator
from tests.google.conftest import EMAIL, LiveServer, eventually, round_trip
from tests.google.test_google_flow import NOW, meeting

# NUL is left out: PostgreSQL can't store it in a note at all (the renderer's own test has it).
CONTROLS = "\x01\x07\x0b\x1b"


def test_control_characters_reach_neither_google_nor_the_feed(
        logged_in: FlaskClient, api: Any, google: GoogleEmulator, served: LiveServer,
        browser: requests.Session) -> None:
    round_trip(logged_in, browser, google)
    google.add_event(EMAIL, meeting("Northwind demo", 2, "buyer@northwind.example"))
    [prompt] = eventually(lambda: api.get("/api/v1/prompts?status=pending").get_json()["items"])
    done = api.post(f"/api/v1/prompts/{prompt['id']}/answer", json={
        "outcome": "next_step", "note": "Budget\x01 approved\x07 in\x0b Q1\x1b[0m",
        "next_step": {"summary": "Call\x1b back",
                      "start": (NOW + timedelta(days=2)).isoformat()}})
    assert done.status_code == 200, done.get_json()
    followup = api.get(f"/api/v1/followups/{done.get_json()['followup']['id']}").get_json()
    assert followup["write_status"] == "written"

    [event] = [e for e in google.events(EMAIL) if e["id"] == followup["remote_event_id"]]
    for text in (event["summary"], event["description"]):
        assert not set(CONTROLS) & set(text), repr(text)
    assert "Budget approved in Q1[0m" in event["description"]

    feed = logged_in.get(urlsplit(api.get("/api/v1/feed").get_json()["url"]).path)
    assert feed.status_code == 200
    body = feed.get_data()
    assert not set(CONTROLS.encode()) & set(body)
    [ours] = icalendar.Calendar.from_ical(body).events
    [theirs] = IcsCalendarStream.calendar_from_ics(body.decode()).events
    assert str(ours["DESCRIPTION"]).startswith("Budget approved in Q1[0m")
    assert theirs.description.startswith("Budget approved in Q1[0m")
