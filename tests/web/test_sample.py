"""The sample calendar: prompts for the past meetings with prospects, none for the rest."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import icalendar
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from calsync.app import create_app
from calsync.config import Settings
from calsync.models import Meeting, Prompt, Source, User
from calsync.services.samples import SAMPLE_NAME, sample_ics
from tests.conftest import login
from tests.web.conftest import post, query

PROSPECT_MEETINGS = {"Northwind discovery call", "Product demo for Contoso",
                     "Fabrikam pricing discussion", "Contoso weekly check-in"}


def _prompted_titles(app: Flask, user_id: int) -> set[str]:
    prompts = query(app, select(Meeting.title).join(Prompt, Prompt.meeting_id == Meeting.id)
                    .where(Prompt.user_id == user_id))
    return set(prompts)


def test_sample_calendar_prompts_only_sales_meetings(app: Flask, user: User,
                                                     logged_in: FlaskClient) -> None:
    response = post(logged_in, "/sources/sample", follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "Added the sample calendar" in html
    [source] = query(app, select(Source))
    assert (source.name, source.status, source.last_error) == (SAMPLE_NAME, "ok", None)
    assert _prompted_titles(app, user.id) == PROSPECT_MEETINGS
    for title in PROSPECT_MEETINGS:
        assert title in html
    skipped = query(app, select(Meeting).where(Meeting.prompt_skip.is_not(None)))
    skips = {meeting.title: meeting.prompt_skip for meeting in skipped}
    assert skips["Pipeline review"] == "internal_only"
    assert skips["Lunch with Dana from Northwind"] == "keyword"
    future = query(app, select(Meeting).where(Meeting.start > datetime.now(UTC)))
    assert {"Intro call with Woodgrove Bank", "Contoso weekly check-in"} <= {
        m.title for m in future}
    assert "Skip all future occurrences of this series" in html  # the weekly one


def test_adding_the_sample_twice_keeps_one(app: Flask, logged_in: FlaskClient) -> None:
    post(logged_in, "/sources/sample")
    response = post(logged_in, "/sources/sample", follow_redirects=True)
    assert "You already have the sample calendar" in response.get_data(as_text=True)
    assert len(query(app, select(Source))) == 1


def test_the_sample_is_read_within_the_request_when_a_worker_runs_the_queue(
        settings: Settings, user: User) -> None:
    # With a queue a worker empties, a queued sync would not have run by the redirect.
    app = create_app(dataclasses.replace(settings, queue_immediate=False))
    client = app.test_client()
    login(client, user.email)
    response = post(client, "/sources/sample")
    assert response.headers["Location"] == "/"  # the inbox
    html = client.get("/").get_data(as_text=True)
    for title in PROSPECT_MEETINGS:
        assert title in html
    [source] = query(app, select(Source))
    assert source.status == "ok"


def test_the_sample_button_is_hidden_once_the_sample_is_there(logged_in: FlaskClient) -> None:
    assert "Try it with a sample calendar" in logged_in.get("/sources").get_data(as_text=True)
    post(logged_in, "/sources/sample")
    html = logged_in.get("/sources").get_data(as_text=True)
    assert "Sample sales week" in html
    assert "Try it with a sample calendar" not in html
    assert 'id="sample"' not in html


def test_sample_for_a_gmail_user_has_no_invented_colleagues(app: Flask, client: FlaskClient,
                                                            make_user) -> None:  # type: ignore[no-untyped-def]
    gmail = make_user("solo.rep@gmail.com", "America/Chicago")
    calendar = icalendar.Calendar.from_ical(sample_ics(gmail))
    addresses: set[str] = set()
    for event in calendar.walk("VEVENT"):
        attendees = event.get("attendee") or []
        if not isinstance(attendees, list):
            attendees = [attendees]
        addresses |= {str(a).lower() for a in attendees}
    assert not any(a.endswith("@gmail.com") and "solo.rep" not in a for a in addresses)
    login(client, gmail.email)
    post(client, "/sources/sample")
    assert _prompted_titles(app, gmail.id) == PROSPECT_MEETINGS


def test_sample_times_are_in_the_users_zone(user: User) -> None:
    calendar = icalendar.Calendar.from_ical(sample_ics(user))
    [demo] = [e for e in calendar.walk("VEVENT") if e["summary"] == "Product demo for Contoso"]
    start = demo.decoded("dtstart")
    assert str(start.tzinfo) == "Europe/Berlin"
    assert (start.hour, start.minute) == (14, 0)
