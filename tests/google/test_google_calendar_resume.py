"""Google shares the Microsoft path for a calendar that is gone: the source pauses with the
reason, its page and picker say so, and choosing calendars again (the API's PATCH) resumes
it. And a failed round trip has the page Microsoft's have."""

from __future__ import annotations

from typing import Any

import requests
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from calsync.db import get_db
from calsync.domain.vocabulary import SourceStatus
from calsync.emulator import GoogleEmulator
from calsync.models import Meeting, Source
from tests.google.conftest import EMAIL, TEAM, LiveServer, query_of, round_trip, start
from tests.google.test_google_flow import meeting


def google_source(app: Flask) -> Source:
    with app.app_context(), get_db().session() as session:
        found = session.scalars(select(Source).where(Source.kind == "google")).one()
        session.expunge(found)
        return found


def test_choosing_calendars_resumes_a_source_paused_by_a_gone_calendar(
        app: Flask, logged_in: FlaskClient, api: Any, google: GoogleEmulator,
        served: LiveServer, browser: requests.Session) -> None:
    round_trip(logged_in, browser, google)
    sid = google_source(app).id
    both = api.patch(f"/api/v1/sources/{sid}",
                     json={"calendars_read": [EMAIL, TEAM], "calendar_written": TEAM})
    assert both.status_code == 200, both.get_data(as_text=True)

    google.fail_next(1, 404, "notFound", path_contains="team-acme")  # deleted at Google
    assert api.post(f"/api/v1/sources/{sid}/sync").status_code == 200
    paused = google_source(app)
    assert paused.status is SourceStatus.DISABLED and "no longer exists" in str(
        paused.last_error)

    page = logged_in.get(f"/sources/{sid}").get_data(as_text=True)
    assert 'id="calendars-hint"' in page and f'href="/sources/{sid}/calendars"' in page
    assert "This account is disconnected" not in page and "Reconnect" not in page
    picker = logged_in.get(f"/sources/{sid}/calendars").get_data(as_text=True)
    assert 'id="picker-paused"' in picker and "no longer exists" in picker

    google.add_event(EMAIL, meeting("Northwind demo", 2, "buyer@northwind.example"))
    chosen = api.patch(f"/api/v1/sources/{sid}",
                       json={"calendars_read": [EMAIL], "calendar_written": EMAIL})
    assert chosen.status_code == 200
    after = google_source(app)
    assert after.status is SourceStatus.OK and after.last_error is None
    with app.app_context(), get_db().session() as session:
        assert "Northwind demo" in set(session.scalars(select(Meeting.title)))



def test_a_cancelled_connection_has_the_shared_page(
        logged_in: FlaskClient, google: GoogleEmulator, served: LiveServer) -> None:
    state = query_of(start(logged_in, "/google/connect", "/sources"))["state"]
    html = logged_in.get(f"/google/callback?error=access_denied&state={state}").get_data(
        as_text=True)
    assert "<h1>Google didn&#39;t connect</h1>" in html and "<title>Google didn" in html
    assert '<a href="/sources">Back to your calendars</a>' in html
