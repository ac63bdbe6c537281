"""Connecting when things go wrong, reconnecting, disconnecting, signing in with Google,
and other users' ids on every new route."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import requests
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from calsync.app import create_app
from calsync.config import Settings
from calsync.db import get_db
from calsync.emulator import GoogleEmulator
from calsync.models import FollowUp, Meeting, Prompt, Source, User
from tests.conftest import login
from tests.google.conftest import (
    EMAIL,
    EVENTS_OWNED,
    LiveServer,
    consent,
    query_of,
    round_trip,
    start,
)
from tests.google.test_google_flow import NOW, meeting, post_page

SCOPES_MESSAGE = ("calsync needs permission to see and edit events on your calendars; "
                  "connect again and leave both boxes ticked")


def count(app: Flask, model: Any, *where: Any) -> int:
    with app.app_context(), get_db().session() as session:
        return session.scalar(select(func.count(model.id)).where(*where)) or 0


def google_source(app: Flask) -> Source:
    with app.app_context(), get_db().session() as session:
        return session.scalars(select(Source).where(Source.kind == "google")).one()


def second_client(app: Flask, make_user: Any, email: str = "bo@rival-sales.com") -> FlaskClient:
    other = app.test_client()
    make_user(email)
    login(other, email)
    return other


# connecting goes wrong


def test_a_denied_scope_explains_what_to_do_and_connects_nothing(
        app: Flask, logged_in: FlaskClient, google: GoogleEmulator, served: LiveServer,
        browser: requests.Session) -> None:
    google.deny_scopes(EVENTS_OWNED)
    answer = round_trip(logged_in, browser, google)
    assert answer.status_code == 400
    page = answer.get_data(as_text=True)
    assert SCOPES_MESSAGE in page and "Traceback" not in page
    assert count(app, Source) == 0


def test_a_forged_or_replayed_state_is_refused(
        app: Flask, logged_in: FlaskClient, google: GoogleEmulator, served: LiveServer,
        browser: requests.Session, make_user: Any) -> None:
    forged = logged_in.get("/google/callback?code=4/0abc&state=made-up")
    assert forged.status_code == 400
    assert "not started in this browser" in forged.get_data(as_text=True)
    assert logged_in.get("/google/callback").status_code == 400

    # A callback link made in Ana's browser does nothing in Bo's...
    callback = consent(browser, google, start(logged_in, "/google/connect", "/sources"))
    other = second_client(app, make_user)
    assert other.get(callback).status_code == 400
    assert count(app, Source) == 0
    # ... and works once, in hers.
    assert logged_in.get(callback).status_code == 302
    assert logged_in.get(callback).status_code == 400
    assert count(app, Source) == 1


def test_cancelling_at_google_says_so(app: Flask, logged_in: FlaskClient,
                                      google: GoogleEmulator, served: LiveServer) -> None:
    state = query_of(start(logged_in, "/google/connect", "/sources"))["state"]
    answer = logged_in.get(f"/google/callback?error=access_denied&state={state}")
    assert answer.status_code == 200
    assert "You cancelled at Google" in answer.get_data(as_text=True)
    assert logged_in.get(f"/google/callback?code=4/0x&state={state}").status_code == 400
    odd = logged_in.get("/google/callback?error=server_error&state=whatever")
    assert odd.status_code == 400 and "server_error" in odd.get_data(as_text=True)
    assert count(app, Source) == 0


# a revoked grant, reconnect, disconnect


def test_a_revoked_grant_needs_reconnect_keeps_everything_and_reconnects(
        app: Flask, logged_in: FlaskClient, google: GoogleEmulator, served: LiveServer,
        browser: requests.Session) -> None:
    google.add_event(EMAIL, meeting("Northwind demo", 2, "buyer@northwind.example"))
    round_trip(logged_in, browser, google)
    source = google_source(app)
    [prompt_id] = {int(p) for p in re.findall(r"/prompts/(\d+)/answer",
                                              logged_in.get("/").get_data(as_text=True))}
    post_page(logged_in, "/", f"/prompts/{prompt_id}/answer",
              {"outcome": "yes", "note": "Signed the pilot", "return_to": "inbox"})

    google.revoke_grant(EMAIL)
    post_page(logged_in, f"/sources/{source.id}", f"/sources/{source.id}/sync", {})
    assert google_source(app).status == "needs_reconnect"
    page = logged_in.get(f"/sources/{source.id}").get_data(as_text=True)
    assert "Needs reconnecting" in page and "Reconnect" in page
    assert count(app, Meeting, Meeting.source_id == source.id) == 1
    assert count(app, Prompt, Prompt.status == "answered") == 1

    location = start(logged_in, "/google/connect", f"/sources/{source.id}",
                     {"source_id": str(source.id)})
    asked = query_of(location)
    assert asked["prompt"] == "consent" and asked["login_hint"] == EMAIL
    answer = logged_in.get(consent(browser, google, location))
    assert answer.status_code == 302
    again = google_source(app)
    assert again.id == source.id and again.status == "ok", again.last_error
    assert count(app, Source) == 1
    assert "Signed the pilot" in logged_in.get(f"/prompts/{prompt_id}").get_data(as_text=True)


def test_disconnect_revokes_stops_channels_and_keeps_the_data(
        app: Flask, logged_in: FlaskClient, google: GoogleEmulator, served: LiveServer,
        browser: requests.Session) -> None:
    google.add_event(EMAIL, meeting("Northwind demo", 2, "buyer@northwind.example"))
    round_trip(logged_in, browser, google)
    source = google_source(app)
    assert [c for c in google.state.channels.values() if c.live()]
    answer = post_page(logged_in, f"/sources/{source.id}", f"/sources/{source.id}/disconnect",
                       {})
    assert answer.status_code == 302
    after = google_source(app)
    assert after.status == "disabled"
    with app.app_context(), get_db().session() as session:
        assert session.get(Source, source.id).credentials is None
    assert all(grant.revoked for grant in google.state.grants.values())
    assert not [c for c in google.state.channels.values() if c.live()]
    assert count(app, Meeting, Meeting.source_id == source.id) == 1
    page = logged_in.get(f"/sources/{source.id}").get_data(as_text=True)
    assert "disconnected" in page and "Reconnect" in page

    # Connecting the same account again revives the same source.
    assert round_trip(logged_in, browser, google).status_code == 302
    assert google_source(app).status == "ok" and count(app, Source) == 1


# signing in with Google


def test_sign_in_with_google_creates_an_account(
        app: Flask, client: FlaskClient, google: GoogleEmulator, served: LiveServer,
        browser: requests.Session) -> None:
    assert "Sign in with Google" in client.get("/login").get_data(as_text=True)
    assert "Sign in with Google" in client.get("/signup").get_data(as_text=True)
    location = start(client, "/google/signin", "/login", {"timezone": "Europe/Berlin"})
    assert set(query_of(location)["scope"].split()) == {
        "openid", "https://www.googleapis.com/auth/userinfo.email"}
    answer = client.get(consent(browser, google, location))
    assert answer.status_code == 302, answer.get_data(as_text=True)[:500]
    with app.app_context(), get_db().session() as session:
        user = session.scalars(select(User)).one()
        assert user.email == EMAIL and user.google_subject and user.password_hash is None
        assert user.timezone == "Europe/Berlin"
    assert "Sign out" in client.get("/").get_data(as_text=True)


def test_sign_in_with_google_links_an_existing_account(
        app: Flask, client: FlaskClient, user: User, google: GoogleEmulator,
        served: LiveServer, browser: requests.Session) -> None:
    assert round_trip(client, browser, google, "/google/signin", "/login").status_code == 302
    with app.app_context(), get_db().session() as session:
        [linked] = session.scalars(select(User)).all()
        assert linked.id == user.id and linked.google_subject
    post_page(client, "/", "/logout", {})
    assert "Sign out" not in client.get("/login").get_data(as_text=True)
    assert round_trip(client, browser, google, "/google/signin", "/login").status_code == 302
    assert "Sign out" in client.get("/").get_data(as_text=True)
    assert count(app, User) == 1


def test_demo_mode_says_it_is_the_emulator(settings: Settings, user: User) -> None:
    demo = create_app(dataclasses.replace(settings, google_client_id=""))
    client = demo.test_client()
    login(client, user.email)
    page = client.get("/sources").get_data(as_text=True)
    assert "Connect Google Calendar" in page
    assert "emulator" in page and "not to your real Google account" in page
    with demo.app_context():
        get_db().dispose()


# another user's ids


def test_the_new_routes_answer_404_for_another_users_ids(
        app: Flask, logged_in: FlaskClient, google: GoogleEmulator, served: LiveServer,
        browser: requests.Session, make_user: Any, http_files: Any) -> None:
    google.add_event(EMAIL, meeting("Northwind demo", 2, "buyer@northwind.example"))
    round_trip(logged_in, browser, google)
    source = google_source(app)
    [prompt_id] = {int(p) for p in re.findall(r"/prompts/(\d+)/answer",
                                              logged_in.get("/").get_data(as_text=True))}
    when = NOW.date().replace(year=NOW.year + 1)
    post_page(logged_in, "/", f"/prompts/{prompt_id}/answer", {
        "outcome": "next_step", "summary": "Call", "date": f"{when:%Y-%m-%d}",
        "time": "10:00", "duration": "30", "channel": "call", "return_to": "inbox"})
    with app.app_context(), get_db().session() as session:
        followup_id = session.scalars(select(FollowUp.id)).one()

    other = second_client(app, make_user)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"',
                      other.get("/sources").get_data(as_text=True)).group(1)
    assert other.get(f"/sources/{source.id}/calendars").status_code == 404
    for path, data in [
        (f"/sources/{source.id}/calendars", {"calendars_read": EMAIL, "calendar_written": EMAIL}),
        (f"/sources/{source.id}/disconnect", {}),
        ("/google/connect", {"source_id": str(source.id)}),
        (f"/followups/{followup_id}/retry", {"next": "/"}),
    ]:
        assert other.post(path, data={**data, "csrf_token": token}).status_code == 404, path
    assert google_source(app).status == "ok"

    # An ICS source has no calendars to pick and nothing to disconnect.
    url = http_files.serve("/empty.ics", b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n")
    post_page(other, "/sources", "/sources/url", {"url": url})
    with app.app_context(), get_db().session() as session:
        ics_id = session.scalars(select(Source.id).where(Source.kind == "ics")).one()
    assert other.get(f"/sources/{ics_id}/calendars").status_code == 404
