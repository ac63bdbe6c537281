"""Text calsync writes to calendars: a note typed with control characters reaches neither
the event written to Google nor the user's feed, and the feed still parses."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import icalendar
import requests
from flask import Flask
from flask.testing import FlaskClient
from ical.calendar_stream import IcsCalendarStream

from calsync.emulator import GoogleEmulator
from calsync.models import Meeting
from tests.google.conftest import EMAIL, LiveServer, eventually, round_trip
from tests.google.test_google_flow import NOW, database, meeting

CONTROLS = "\x00\x01\x07\x0b\x1b"


def test_control_characters_reach_neither_google_nor_the_feed(
        logged_in: FlaskClient, api: Any, google: GoogleEmulator, served: LiveServer,
        browser: requests.Session) -> None:
    round_trip(logged_in, browser, google)
    google.add_event(EMAIL, meeting("Northwind demo", 2, "buyer@northwind.example"))
    [prompt] = eventually(lambda: api.get("/api/v1/prompts?status=pending").get_json()["items"])
    done = api.post(f"/api/v1/prompts/{prompt['id']}/answer", json={
        "outcome": "next_step", "note": "Budget\x00\x01 approved\x07 in\x0b Q1\x1b[0m",
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


def test_control_characters_read_from_google_are_dropped(
        app: Flask, logged_in: FlaskClient, api: Any, google: GoogleEmulator, served: LiveServer,
        browser: requests.Session) -> None:
    # PostgreSQL can't store a NUL at all: one in an event title failed the whole sync there.
    round_trip(logged_in, browser, google)
    google.add_event(EMAIL, {**meeting("North\x00wind\x1b demo", 2, "buyer@northwind.example"),
                             "location": "Room\x07 4", "description": "Agenda\x00 attached"})
    [prompt] = eventually(lambda: api.get("/api/v1/prompts?status=pending").get_json()["items"])
    assert prompt["meeting"]["title"] == "Northwind demo"
    with database(app) as session:
        stored = session.get(Meeting, prompt["meeting"]["id"])
        assert (stored.location, stored.description) == ("Room 4", "Agenda attached")
