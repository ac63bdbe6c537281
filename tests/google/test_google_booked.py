"""A meeting booked in Google with a deal's counterpart, before the follow-up calsync wrote
there, covers it: the push-driven sync cancels the follow-up as booked and its Google event
is deleted exactly once, however many syncs follow."""

from __future__ import annotations

import re
from datetime import timedelta

import requests
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from calsync.emulator import GoogleEmulator
from calsync.models import FollowUp, Meeting
from tests.google.conftest import EMAIL, LiveServer, eventually, round_trip
from tests.google.test_google_flow import NOW, database, meeting, post_page, titles


def deletes_of(google: GoogleEmulator, event_id: str) -> int:
    return sum(1 for r in google.requests
               if r.method == "DELETE" and r.path.rstrip("/").endswith(f"/events/{event_id}"))


def test_a_meeting_booked_in_google_covers_the_follow_up(
        app: Flask, logged_in: FlaskClient, google: GoogleEmulator, served: LiveServer,
        browser: requests.Session) -> None:
    client = logged_in
    google.add_event(EMAIL, meeting("Northwind demo", 2, "buyer@northwind.example"))
    assert round_trip(client, browser, google).status_code == 302
    inbox = client.get("/").get_data(as_text=True)
    [prompt_id] = set(re.findall(r"/prompts/(\d+)/answer", inbox))
    when = NOW + timedelta(days=3)
    answered = post_page(client, f"/prompts/{prompt_id}", f"/prompts/{prompt_id}/answer", {
        "outcome": "next_step", "summary": "Send the pilot proposal",
        "date": f"{when:%Y-%m-%d}", "time": "09:00", "duration": "30", "channel": "email"})
    assert answered.status_code == 302, answered.get_data(as_text=True)[:800]
    with database(app) as session:
        followup = session.scalars(select(FollowUp)).one()
        followup_id, event_id = followup.id, followup.remote_event_id
        assert followup.write_status == "written", followup.write_error
    assert event_id in {e["id"] for e in google.events(EMAIL)}

    # They book a pricing review for tomorrow: it arrives by push and covers the follow-up.
    google.add_event(EMAIL, meeting("Pricing review", -24, "buyer@northwind.example"))

    def covered() -> bool:
        with database(app) as session:
            row = session.get(FollowUp, followup_id)
            return (row.status, row.cancel_reason) == ("cancelled", "booked")

    eventually(covered)
    eventually(lambda: event_id not in {e["id"] for e in google.events(EMAIL)})
    with database(app) as session:
        booked_id = session.get(FollowUp, followup_id).booked_meeting_id
        assert session.get(Meeting, booked_id).title == "Pricing review"

    # More syncs (another change in Google) delete nothing more.
    google.add_event(EMAIL, meeting("Globex intro", -48, "cfo@globex.example"))
    eventually(lambda: "Globex intro" in titles(app))
    assert deletes_of(google, event_id) == 1
    notice = client.get("/").get_data(as_text=True).split('id="booked"')[1]
    assert "booked “Pricing review”" in notice and "Send the pilot proposal" in notice
