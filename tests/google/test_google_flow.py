"""The Google flow as a user drives it, against the emulator through the real google
libraries: connect, pick calendars, sync, a change arriving by push, the prompt, the next
step written to Google, moved there → moved here, deleted there → cancelled here."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from calsync import crypto
from calsync.config import Settings
from calsync.db import get_db
from calsync.emulator import GoogleEmulator
from calsync.models import FollowUp, Meeting, PushChannel, Source
from calsync.providers.base import FOLLOWUP_MARK
from tests.conftest import csrf_from
from tests.google.conftest import EMAIL, TEAM, LiveServer, eventually, round_trip

NOW = datetime.now(UTC).replace(second=0, microsecond=0)


@contextmanager
def database(app: Flask) -> Iterator[Session]:
    with app.app_context(), get_db().session() as session:
        yield session


def meeting(title: str, hours_ago: float, guest: str, minutes: int = 60) -> dict[str, Any]:
    end = NOW - timedelta(hours=hours_ago)
    start = end - timedelta(minutes=minutes)
    return {"summary": title,
            "start": {"dateTime": start.isoformat(), "timeZone": "Europe/Berlin"},
            "end": {"dateTime": end.isoformat(), "timeZone": "Europe/Berlin"},
            "attendees": [{"email": EMAIL, "responseStatus": "accepted", "organizer": True},
                          {"email": guest, "responseStatus": "accepted"}]}


def titles(app: Flask) -> set[str]:
    with database(app) as session:
        return set(session.scalars(select(Meeting.title).where(Meeting.status == "confirmed")))


def the_source(app: Flask) -> Source:
    with database(app) as session:
        return session.scalars(select(Source).where(Source.kind == "google")).one()


def post_page(client: FlaskClient, page: str, action: str, data: dict[str, Any]) -> Any:
    token = csrf_from(client.get(page).get_data(as_text=True))
    return client.post(action, data={**data, "csrf_token": token})


def list_calls(google: GoogleEmulator) -> int:
    return sum(1 for r in google.requests if r.path.endswith("/events") and r.method == "GET")


def test_connect_sync_push_write_back_and_changes_made_in_google(
        app: Flask, logged_in: FlaskClient, google: GoogleEmulator, served: LiveServer,
        settings: Settings, browser: requests.Session) -> None:
    client = logged_in
    google.add_event(EMAIL, meeting("Northwind demo", 2, "buyer@northwind.example"))
    google.add_event(TEAM, meeting("Globex intro", 3, "cfo@globex.example"))

    # Connect: the callback creates the source reading and writing the primary calendar.
    page = client.get("/sources").get_data(as_text=True)
    google_card = page.split('id="google"')[1].split("</section>")[0]
    assert "Connect Google Calendar" in google_card and "google-demo" not in google_card
    answer = round_trip(client, browser, google)
    assert answer.status_code == 302, answer.get_data(as_text=True)[:800]
    source = the_source(app)
    assert answer.headers["Location"].endswith(f"/sources/{source.id}")
    assert source.name == f"Google Calendar ({EMAIL})"
    assert source.options["account"] == EMAIL
    assert source.options["calendars_read"] == [EMAIL]
    assert source.options["calendar_written"] == EMAIL
    assert source.options["calendar_names"] == {EMAIL: EMAIL, TEAM: "Team Acme"}
    assert source.status == "ok", source.last_error  # the first sync ran (inline queue)
    assert titles(app) == {"Northwind demo"}

    # Tokens are sealed: the column holds neither the access nor the refresh token.
    with database(app) as session:
        sealed = session.execute(text("SELECT credentials FROM sources WHERE id = :id"),
                                 {"id": source.id}).scalar_one()
    tokens = crypto.unseal(settings, sealed)
    assert tokens["token"] in google.state.access_tokens
    assert tokens["refresh_token"] in google.state.refresh_tokens
    assert tokens["token"] not in sealed and tokens["refresh_token"] not in sealed

    shown = client.get(f"/sources/{source.id}").get_data(as_text=True)
    assert EMAIL in shown and "Choose which calendars" in shown and "Disconnect" in shown

    # A push channel watches the primary calendar; its handshake was acknowledged.
    handshake = eventually(lambda: [n for n in google.notifications
                                    if n.resource_state == "sync"])
    assert handshake[0].status == 200

    # Pick both calendars; follow-ups keep going to the primary one.
    picker = client.get(f"/sources/{source.id}/calendars").get_data(as_text=True)
    assert "Team Acme" in picker and 'name="calendar_written"' in picker
    saved = post_page(client, f"/sources/{source.id}/calendars",
                      f"/sources/{source.id}/calendars",
                      {"calendars_read": [EMAIL, TEAM], "calendar_written": EMAIL})
    assert saved.status_code == 302, saved.get_data(as_text=True)[:800]
    assert titles(app) == {"Northwind demo", "Globex intro"}
    with database(app) as session:
        live_channels = session.scalars(select(PushChannel.calendar_id).where(
            PushChannel.stopped_at.is_(None))).all()
    assert sorted(live_channels) == sorted([EMAIL, TEAM])
    api = client.get(f"/sources/{source.id}").get_data(as_text=True)
    assert "Team Acme" in api

    # A change made in Google arrives by push notification and is synced.
    google.add_event(TEAM, meeting("Initech pricing", 1, "bill@initech.example"))
    eventually(lambda: "Initech pricing" in titles(app))
    # The sync commits its meetings before the webhook answers: wait for the answer too.
    exists = eventually(lambda: [n for n in google.notifications
                                 if n.resource_state == "exists"])
    assert exists and all(n.status == 200 for n in exists)
    assert {"x-goog-channel-token", "x-goog-resource-id"} <= {
        k.lower() for k in exists[-1].headers}

    # The prompt, answered with a next step from its page.
    inbox = client.get("/").get_data(as_text=True)
    assert "Northwind demo" in inbox
    prompt_id = next(int(p) for p in re.findall(r"/prompts/(\d+)/answer", inbox)
                     if "Northwind demo" in client.get(f"/prompts/{p}").get_data(as_text=True))
    when = NOW + timedelta(days=3)
    answered = post_page(client, f"/prompts/{prompt_id}", f"/prompts/{prompt_id}/answer", {
        "outcome": "next_step", "summary": "Send the pilot proposal",
        "date": f"{when:%Y-%m-%d}", "time": "09:00", "duration": "30", "channel": "email",
        "note": "Budget approved in Q1", "return_to": "prompt"})
    assert answered.status_code == 302, answered.get_data(as_text=True)[:800]

    # The follow-up is in Google, with calsync's extended properties and a popup reminder.
    with database(app) as session:
        followup = session.scalars(select(FollowUp)).one()
        followup_id, uid = followup.id, followup.uid
        assert followup.write_status == "written", followup.write_error
        event_id = followup.remote_event_id
    [event] = [e for e in google.events(EMAIL) if e["id"] == event_id]
    assert event["extendedProperties"]["private"][FOLLOWUP_MARK] == uid
    assert event["extendedProperties"]["private"]["calsync_followup_id"] == str(followup_id)
    assert event["reminders"] == {"useDefault": False,
                                  "overrides": [{"method": "popup", "minutes": 10}]}
    assert "Budget approved in Q1" in event["description"]
    prompt_page = client.get(f"/prompts/{prompt_id}").get_data(as_text=True)
    assert f"written to “{EMAIL}”" in prompt_page  # the primary calendar, by its name
    # calsync's own event is recognised on sync, never imported as a meeting.
    eventually(lambda: len([n for n in google.notifications
                            if n.resource_state == "exists"]) > len(exists))
    assert "Email: " not in " ".join(titles(app))

    # Moved in Google → moved here.
    start = datetime.fromisoformat(event["start"]["dateTime"]) + timedelta(days=1)
    end = datetime.fromisoformat(event["end"]["dateTime"]) + timedelta(days=1)
    google.update_event(EMAIL, event_id, {"start": {"dateTime": start.isoformat()},
                                          "end": {"dateTime": end.isoformat()}})

    def moved() -> bool:
        with database(app) as session:
            return session.get(FollowUp, followup_id).start == start.astimezone(UTC)

    eventually(moved)

    # Deleted in Google → cancelled here; the answer and its note stay.
    google.delete_event(EMAIL, event_id)

    def cancelled() -> bool:
        with database(app) as session:
            return session.get(FollowUp, followup_id).status == "cancelled"

    eventually(cancelled)
    assert "Budget approved in Q1" in client.get(f"/prompts/{prompt_id}").get_data(as_text=True)


def test_the_api_shows_calendars_and_write_status(
        app: Flask, logged_in: FlaskClient, api: Any, google: GoogleEmulator,
        served: LiveServer, browser: requests.Session) -> None:
    round_trip(logged_in, browser, google)
    source_id = the_source(app).id
    shown = api.get(f"/api/v1/sources/{source_id}").get_json()
    assert shown["kind"] == "google"
    assert shown["calendars_read"] == [EMAIL] and shown["calendar_written"] == EMAIL

    patched = api.patch(f"/api/v1/sources/{source_id}",
                        json={"calendars_read": [EMAIL, TEAM]})
    assert patched.status_code == 200, patched.get_json()
    assert patched.get_json()["calendars_read"] == [EMAIL, TEAM]
    bad = api.patch(f"/api/v1/sources/{source_id}", json={"calendars_read": ["nope@x.example"]})
    assert bad.status_code == 422 and bad.get_json()["error"]["field"] == "calendars_read"
    bad = api.patch(f"/api/v1/sources/{source_id}", json={"calendar_written": "nope@x.example"})
    assert bad.status_code == 422 and bad.get_json()["error"]["field"] == "calendar_written"
    assert api.get(f"/api/v1/sources/{source_id}").get_json()["calendars_read"] == [EMAIL, TEAM]

    ics = api.post("/api/v1/sources", json={"kind": "ics", "ics": (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nEND:VCALENDAR\r\n")}).get_json()
    assert ics["calendars_read"] is None and ics["calendar_written"] is None
    refused = api.patch(f"/api/v1/sources/{ics['id']}", json={"calendar_written": EMAIL})
    assert refused.status_code == 422
    assert refused.get_json()["error"]["field"] == "calendar_written"

    google.add_event(EMAIL, meeting("Northwind demo", 2, "buyer@northwind.example"))
    # Pushed: the webhook syncs it (a sync asked for meanwhile would find the source busy).
    [prompt] = eventually(lambda: api.get("/api/v1/prompts?status=pending").get_json()["items"])
    later = (NOW + timedelta(days=2)).isoformat()
    done = api.post(f"/api/v1/prompts/{prompt['id']}/answer", json={
        "outcome": "next_step", "next_step": {"summary": "Call back", "start": later}})
    followup = api.get(f"/api/v1/followups/{done.get_json()['followup']['id']}").get_json()
    assert followup["write_status"] == "written"
    assert followup["remote_event_id"] in {e["id"] for e in google.events(EMAIL)}

    # Deleting a connected Google source disconnects it first: access revoked, no channels.
    assert api.delete(f"/api/v1/sources/{source_id}").status_code == 204
    assert all(grant.revoked for grant in google.state.grants.values())
    assert not [c for c in google.state.channels.values() if c.live()]
    assert api.get(f"/api/v1/followups/{followup['id']}").status_code == 200


def test_a_failed_write_is_shown_and_retried_from_the_page(
        app: Flask, logged_in: FlaskClient, google: GoogleEmulator, served: LiveServer,
        browser: requests.Session) -> None:
    client = logged_in
    google.add_event(EMAIL, meeting("Northwind demo", 2, "buyer@northwind.example"))
    round_trip(client, browser, google)
    inbox = client.get("/").get_data(as_text=True)
    [prompt_id] = {int(p) for p in re.findall(r"/prompts/(\d+)/answer", inbox)}
    # Google refuses the insert once, for good (403 forbidden is not retried on its own).
    google.fail_next(1, 403, "forbidden", path_contains="/events")
    when = NOW + timedelta(days=2)
    post_page(client, f"/prompts/{prompt_id}", f"/prompts/{prompt_id}/answer", {
        "outcome": "next_step", "summary": "Send the offer", "date": f"{when:%Y-%m-%d}",
        "time": "10:00", "duration": "30", "channel": "email", "return_to": "prompt"})
    page = client.get(f"/prompts/{prompt_id}").get_data(as_text=True)
    assert f"Not written to “{EMAIL}”: " in page and "Retry" in page
    with database(app) as session:
        followup = session.scalars(select(FollowUp)).one()
        assert followup.write_status == "failed"
        deal_id = followup.deal_id
    assert f"Not written to “{EMAIL}”: " in client.get(f"/deals/{deal_id}").get_data(
        as_text=True)

    retried = post_page(client, f"/prompts/{prompt_id}", f"/followups/{followup.id}/retry",
                        {"next": f"/prompts/{prompt_id}"})
    assert retried.status_code == 302
    assert retried.headers["Location"].endswith(f"/prompts/{prompt_id}")
    with database(app) as session:
        assert session.get(FollowUp, followup.id).write_status == "written"
        assert session.scalar(select(func.count(FollowUp.id))) == 1
    assert f"written to “{EMAIL}”" in client.get(f"/prompts/{prompt_id}").get_data(
        as_text=True)
    assert len([e for e in google.events(EMAIL)
                if e.get("extendedProperties", {}).get("private", {}).get(FOLLOWUP_MARK)]) == 1
