"""The whole loop, as a user drives it: sign up, add an ICS feed served over loopback HTTP,
answer prompts, subscribe to the feed, get asked about the follow-up, close the deal."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
from flask import Flask
from flask.testing import FlaskClient
from ical.calendar_stream import IcsCalendarStream
from sqlalchemy import select

from calsync.config import Settings
from calsync.db import get_db
from calsync.models import FollowUp
from calsync.services import prompts
from tests.conftest import PASSWORD, ApiClient, csrf_from
from tests.servers.http_files import FileServer

BERLIN = ZoneInfo("Europe/Berlin")


def sales_feed(now: datetime) -> bytes:
    """Two meetings that ended today, one with a prospect and one internal, and one ahead."""
    def event(uid: str, title: str, hours_ago: int, *people: str) -> list[str]:
        start = (now - timedelta(hours=hours_ago)).astimezone(UTC)
        return ["BEGIN:VEVENT", f"UID:{uid}", f"SUMMARY:{title}",
                f"DTSTART:{start:%Y%m%dT%H%M%SZ}",
                f"DTEND:{start + timedelta(hours=1):%Y%m%dT%H%M%SZ}",
                "ORGANIZER:mailto:rep@acme-sales.com",
                *(f"ATTENDEE;PARTSTAT=ACCEPTED:mailto:{p}" for p in people), "END:VEVENT"]

    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//loop test//EN",
             *event("demo-1@test", "Northwind demo", 3, "rep@acme-sales.com",
                    "buyer@northwind.example"),
             *event("standup-1@test", "Team standup", 5, "rep@acme-sales.com",
                    "bo@acme-sales.com"),
             *event("future-1@test", "Northwind workshop", -24 * 8, "buyer@northwind.example"),
             "END:VCALENDAR"]
    return ("\r\n".join(lines) + "\r\n").encode()


def post_form(client: FlaskClient, page: str, action: str, data: dict[str, str]) -> str:
    """Submit a form found on `page` the way a browser would: with its CSRF token."""
    token = csrf_from(client.get(page).get_data(as_text=True))
    response = client.post(action, data={**data, "csrf_token": token}, follow_redirects=True)
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    return response.get_data(as_text=True)


def prompt_ids(html: str) -> list[int]:
    return [int(n) for n in dict.fromkeys(re.findall(r"/prompts/(\d+)/answer", html))]


def parse_both(body: bytes) -> tuple[icalendar.Calendar, object]:
    return icalendar.Calendar.from_ical(body), IcsCalendarStream.calendar_from_ics(body.decode())


def test_the_loop_through_the_pages(app: Flask, client: FlaskClient, settings: Settings,
                                    http_files: FileServer) -> None:
    now = datetime.now(BERLIN)
    url = http_files.serve("/rep.ics", sales_feed(now), content_type="text/calendar")

    page = post_form(client, "/signup", "/signup", {
        "email": "rep@acme-sales.com", "password": PASSWORD, "timezone": "Europe/Berlin"})
    assert "Sign out" in page
    post_form(client, "/sources", "/sources/url", {"url": url, "name": "Work calendar"})
    assert http_files.requests_to("/rep.ics"), "the new source is synced right away"

    inbox_page = client.get("/").get_data(as_text=True)
    assert "Northwind demo" in inbox_page
    assert "Team standup" not in inbox_page  # internal: no prompt
    assert "Northwind workshop" not in inbox_page  # not over yet
    (demo,) = prompt_ids(inbox_page)

    when = (now + timedelta(days=3)).replace(hour=10, minute=0)
    page = post_form(client, "/", f"/prompts/{demo}/answer", {
        "outcome": "next_step", "summary": "Send the pilot proposal",
        "date": f"{when:%Y-%m-%d}", "time": "10:00", "duration": "30", "channel": "email",
        "note": "Keen on a pilot; budget is approved in Q1", "return_to": "inbox"})
    assert "Next step planned" in page
    assert prompt_ids(page) == []

    settings_page = client.get("/settings").get_data(as_text=True)
    feed_path = re.search(r'id="feed-url">https?://[^/]+(/feed/[^<]+\.ics)<', settings_page)
    assert feed_path, "the settings page shows the feed address"
    feed = client.get(feed_path.group(1))
    assert feed.status_code == 200 and feed.mimetype == "text/calendar"
    cal, stream = parse_both(feed.data)
    (event,) = cal.walk("VEVENT")
    assert "Send the pilot proposal" in str(event["SUMMARY"])
    assert "Keen on a pilot" in str(event["DESCRIPTION"])
    assert event.decoded("DTSTART") == when.replace(second=0, microsecond=0)
    assert event["DTSTART"].params["TZID"] == "Europe/Berlin"
    assert [e.summary for e in stream.events] == [str(event["SUMMARY"])]

    with app.app_context(), get_db().session() as session:  # the worker's tick, 3 days on
        followup = session.scalar(select(FollowUp))
        later = followup.end + timedelta(minutes=settings.prompt_grace_minutes)
        assert prompts.create_due_prompts(session, settings, later) == 1

    inbox_page = client.get("/").get_data(as_text=True)
    assert "Send the pilot proposal" in inbox_page
    assert "touch 2 of a usual 5-7" in inbox_page
    (touch,) = prompt_ids(inbox_page)
    page = post_form(client, "/", f"/prompts/{touch}/answer",
                     {"outcome": "yes", "note": "Signed!", "return_to": "inbox"})
    assert "The deal is won" in page

    deals_page = client.get("/deals").get_data(as_text=True)
    assert "northwind.example" in deals_page and "Won" in deals_page
    cal, _ = parse_both(client.get(feed_path.group(1)).data)
    (event,) = cal.walk("VEVENT")
    assert str(event["STATUS"]) == "CONFIRMED"  # the follow-up happened; it stays in the feed


def test_the_loop_through_the_api(app: Flask, client: FlaskClient, api: ApiClient,
                                  settings: Settings, http_files: FileServer) -> None:
    now = datetime.now(BERLIN)
    url = http_files.serve("/api.ics", sales_feed(now), content_type="text/calendar")
    created = api.post("/api/v1/sources", json={"kind": "ics", "url": url, "name": "Work"})
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["status"] == "ok"

    (prompt,) = api.get("/api/v1/prompts?status=pending").get_json()["items"]
    assert prompt["meeting"]["title"] == "Northwind demo"
    assert prompt["deal"]["touches"] == 0
    suggestion = prompt["suggestion"]
    assert datetime.fromisoformat(suggestion["start"]) > now

    answered = api.post(f"/api/v1/prompts/{prompt['id']}/answer", json={
        "outcome": "next_step", "note": "Call them after legal review",
        "next_step": {"summary": "Legal review call", "start": suggestion["start"],
                      "duration_minutes": 20, "channel": "call"}})
    assert answered.status_code == 200, answered.get_json()
    followup = answered.get_json()["followup"]
    assert followup["status"] == "planned" and followup["channel"] == "call"

    feed_url = api.get("/api/v1/feed").get_json()["url"]
    body = client.get(feed_url.split("://", 1)[1].split("/", 1)[1].join(["/", ""])).data
    cal, stream = parse_both(body)
    with app.app_context(), get_db().session() as session:
        row = session.get(FollowUp, followup["id"])
        uid, end = row.uid, row.end
    # The follow-up just planned is the feed's one event, read alike by both parsers.
    (event,) = cal.walk("VEVENT")
    assert str(event["UID"]) == uid and [e.uid for e in stream.events] == [uid]
    assert "Legal review call" in str(event["SUMMARY"])

    with app.app_context(), get_db().session() as session:
        prompts.create_due_prompts(session, settings, end + timedelta(minutes=30))
    (touch,) = api.get("/api/v1/prompts?status=pending").get_json()["items"]
    assert touch["deal"]["touches"] == 1
    assert touch["suggestion"]["channel"] == "call"  # the channel promised
    closed = api.post(f"/api/v1/prompts/{touch['id']}/answer",
                      json={"outcome": "no", "no_reason": "chose_competitor"})
    assert closed.status_code == 200
    deal = api.get(f"/api/v1/deals/{touch['deal']['id']}").get_json()
    assert deal["status"] == "lost" and deal["touches"] == 2
    assert [e["kind"] for e in deal["timeline"]] == ["touch", "touch"]
