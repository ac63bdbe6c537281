"""Calendars: adding by upload and by URL (over a real loopback server), status, sync, delete."""

from __future__ import annotations

import io
import socket
from dataclasses import replace
from html import unescape
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from calsync.config import Settings
from calsync.db import get_db
from calsync.models import Meeting, Prompt, Source, User
from calsync.services.samples import sample_ics
from tests.api.conftest import Event, ics_text
from tests.servers.http_files import FileServer
from tests.web.conftest import post, query, token


def test_upload_an_ics_file(app: Flask, user: User, logged_in: FlaskClient) -> None:
    body = sample_ics(user)
    response = logged_in.post("/sources/upload", data={
        "csrf_token": token(logged_in), "name": "",
        "file": (io.BytesIO(body), "work.ics", "text/calendar")},
        content_type="multipart/form-data")
    assert response.status_code == 302
    [source] = query(app, select(Source))
    assert response.headers["Location"].endswith(f"/sources/{source.id}")
    assert (source.name, source.status, source.url) == ("work.ics", "ok", "")
    html = logged_in.get(f"/sources/{source.id}").get_data(as_text=True)
    assert "Uploaded .ics file" in html
    assert query(app, select(Prompt))  # synced right away


def test_upload_without_a_file_says_so(logged_in: FlaskClient) -> None:
    response = post(logged_in, "/sources/upload", {"name": "x"})
    assert response.status_code == 422
    assert "Choose an .ics file." in response.get_data(as_text=True)


def test_add_by_url_reads_the_feed(app: Flask, user: User, logged_in: FlaskClient) -> None:
    with FileServer() as server:
        server.serve("/team.ics", sample_ics(user), etag='"v1"')
        response = post(logged_in, "/sources/url", {"url": server.url("/team.ics"),
                                                     "name": "Team calendar"})
        assert response.status_code == 302
        assert server.requests, "the new source was not synced right away"
    [source] = query(app, select(Source))
    assert (source.name, source.status, source.last_error) == ("Team calendar", "ok", None)
    assert query(app, select(Meeting))
    html = logged_in.get("/sources").get_data(as_text=True)
    assert "Team calendar" in html and "just now" in html


def test_a_bad_url_is_shown_next_to_the_field(app: Flask, logged_in: FlaskClient) -> None:
    response = post(logged_in, "/sources/url", {"url": "ftp://x", "name": ""})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    field = html.split('id="add-url"')[1].split("</section>")[0]
    assert "enter a calendar address starting with https://" in field
    assert 'value="ftp://x"' in field  # what was typed is kept
    assert query(app, select(Source)) == []


def serve_not_a_calendar(server: FileServer, case: str) -> str:
    """Serve one kind of address that is not a calendar; its URL."""
    if case == "unreachable":
        with socket.socket() as probe:  # a port nothing listens on: connection refused
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        return f"http://127.0.0.1:{port}/cal.ics"
    if case == "no such host":
        return "https://calendar.invalid/cal.ics"  # RFC 6761: never resolves
    return server.serve(f"/{case.replace(' ', '-')}.ics", **NOT_CALENDARS[case])


NOT_CALENDARS: dict[str, dict[str, Any]] = {
    "not found": {"body": b"not here", "status": 404},
    "gone": {"body": b"", "status": 410},
    "a web page": {"body": b"<!DOCTYPE html><html><body>Sign in</body></html>",
                   "content_type": "text/html; charset=utf-8"},
    "not icalendar": {"body": b"Subject,Start Date\nDemo,2026-12-01\n",
                      "content_type": "text/csv"},
    "cut off": {"body": b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:a\r\n"},
}
# What the person reads beside the address for each case.
REASONS = {
    "not found": "The calendar address was not found at 127.0.0.1 (HTTP 404).",
    "gone": "The calendar address was not found at 127.0.0.1 (HTTP 410).",
    "a web page": "This is a web page, not a calendar: it starts with “<!DOCTYPE html>",
    "not icalendar": "This isn't an iCalendar calendar: it starts with “Subject,Start "
                     "Date”, not BEGIN:VCALENDAR.",
    "cut off": "The calendar stops part-way (no END:VCALENDAR)",
    "unreachable": "calsync could not connect to 127.0.0.1. Check the address, or try again "
                   "in a moment.",
    "no such host": "The calendar's host name calendar.invalid could not be found. Check the "
                    "address, or try again in a moment.",
}


def _add_url_section(html: str) -> str:
    return unescape(html.split('id="add-url"')[1].split("</section>")[0])


@pytest.mark.parametrize("case", sorted(REASONS))
def test_an_address_that_is_not_a_calendar_is_refused_with_the_reason(
        app: Flask, logged_in: FlaskClient, case: str) -> None:
    with FileServer() as server:
        url = serve_not_a_calendar(server, case)
        response = post(logged_in, "/sources/url", {"url": url, "name": "Team"})
    assert response.status_code == 422
    field = _add_url_section(response.get_data(as_text=True))
    assert REASONS[case] in field
    assert f'value="{url}"' in field and 'value="Team"' in field  # what was typed is kept
    assert query(app, select(Source)) == []  # nothing stored


def test_an_address_on_a_private_network_is_refused(app: Flask, settings: Settings,
                                                    logged_in: FlaskClient) -> None:
    app.extensions["calsync.settings"] = replace(settings, allow_private_urls=False)
    with FileServer() as server:
        url = server.serve("/cal.ics", ics_text(Event("a")))
        response = post(logged_in, "/sources/url", {"url": url})
        assert server.requests == []  # refused before any connection
    assert response.status_code == 422
    assert ("calsync does not fetch addresses on private or local networks (127.0.0.1)."
            in _add_url_section(response.get_data(as_text=True)))
    assert query(app, select(Source)) == []


def test_a_slow_feed_is_accepted_and_read_in_the_background(
        app: Flask, settings: Settings, user: User, logged_in: FlaskClient) -> None:
    # The read within the request gives up after a second; the queued sync (inline here,
    # a worker's in production) allows the whole fetch time and gets the calendar.
    app.extensions["calsync.settings"] = replace(settings, add_read_seconds=1)
    with FileServer() as server:
        url = server.serve("/slow.ics", sample_ics(user), delay=2.5)
        response = post(logged_in, "/sources/url", {"url": url, "name": "Slow"})
        assert response.status_code == 302
        assert len(server.requests) == 2  # the bounded read, then the background one
    [source] = query(app, select(Source))
    assert (source.name, source.status, source.last_error) == ("Slow", "ok", None)
    assert query(app, select(Prompt))


def test_a_good_feed_lands_with_its_prompts(app: Flask, user: User,
                                            logged_in: FlaskClient) -> None:
    with FileServer() as server:
        url = server.serve("/team.ics", sample_ics(user))
        response = post(logged_in, "/sources/url", {"url": url}, follow_redirects=True)
        fetched = len(server.requests_to("/team.ics"))
    assert response.status_code == 200
    assert fetched == 1  # read once: the check's read is what the sync applies
    assert "meetings read" in response.get_data(as_text=True)
    inbox = logged_in.get("/").get_data(as_text=True)
    assert "Product demo for Contoso" in inbox  # prompted within the request


def test_an_upload_that_is_not_a_calendar_is_refused(app: Flask,
                                                      logged_in: FlaskClient) -> None:
    response = logged_in.post("/sources/upload", data={
        "csrf_token": token(logged_in), "name": "Export",
        "file": (io.BytesIO(b"<!doctype html><p>Oops</p>"), "export.ics", "text/calendar")},
        content_type="multipart/form-data")
    assert response.status_code == 422
    html = unescape(response.get_data(as_text=True))
    section = html.split('id="upload"')[1].split("</section>")[0]
    assert "This is a web page, not a calendar: it starts with “<!doctype html>" in section
    assert 'value="Export"' in section
    assert query(app, select(Source)) == []


def test_an_upload_never_shows_a_next_try(app: Flask, user: User,
                                          logged_in: FlaskClient) -> None:
    logged_in.post("/sources/upload", data={
        "csrf_token": token(logged_in), "name": "Export",
        "file": (io.BytesIO(sample_ics(user)), "export.ics", "text/calendar")},
        content_type="multipart/form-data")
    [source] = query(app, select(Source))
    assert source.next_sync_at is not None  # re-expanded as the window moves, not re-read
    listed = logged_in.get("/sources").get_data(as_text=True)
    next_try = listed.split('class="next-try">')[1].split("</td>")[0]
    assert "read once: upload it again to update it" in next_try
    page = logged_in.get(f"/sources/{source.id}").get_data(as_text=True)
    assert "Next try" not in page and "Sync now" not in page
    assert "upload it again to update it" in page


def test_sync_now_and_delete(app: Flask, user: User, logged_in: FlaskClient) -> None:
    post(logged_in, "/sources/sample")
    [source] = query(app, select(Source))
    response = post(logged_in, f"/sources/{source.id}/sync", follow_redirects=True)
    assert "Syncing “Sample sales week” now." in response.get_data(as_text=True)
    page = logged_in.get(f"/sources/{source.id}").get_data(as_text=True)
    assert "Remove this calendar" in page
    assert "already wrote to this calendar" not in page  # a feed receives no follow-ups
    response = post(logged_in, f"/sources/{source.id}/delete", follow_redirects=True)
    assert "Removed “Sample sales week”." in response.get_data(as_text=True)
    assert query(app, select(Source)) == []
    assert query(app, select(Meeting)) == []
    assert logged_in.get(f"/sources/{source.id}").status_code == 404


def test_sync_now_on_a_paused_source_says_why_it_waits(app: Flask, user: User,
                                                      logged_in: FlaskClient) -> None:
    post(logged_in, "/sources/sample")
    [source] = query(app, select(Source))
    with app.app_context(), get_db().session() as session:
        paused = session.get(Source, source.id)
        assert paused is not None
        paused.status, paused.last_error = "disabled", "The calendar is gone."
        session.commit()
    response = post(logged_in, f"/sources/{source.id}/sync", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "Syncing" not in page
    assert "can't be synced until it is mended: The calendar is gone." in unescape(page)


@pytest.mark.parametrize("path", ["/settings", "/sources"])
def test_the_feed_is_one_click_away(app: Flask, user: User, logged_in: FlaskClient,
                                    path: str) -> None:
    html = logged_in.get(path).get_data(as_text=True)
    [feed_token] = [u.feed_token for u in query(app, select(User))]
    webcal = f"webcal://127.0.0.1:8000/feed/{feed_token}.ics"
    google = ("https://calendar.google.com/calendar/r?cid=webcal%3A%2F%2F127.0.0.1%3A8000"
              f"%2Ffeed%2F{feed_token}.ics")
    assert f'id="feed-google" href="{google}"' in html
    assert f'id="feed-open" href="{webcal}"' in html
    assert f'id="feed-webcal" readonly value="{webcal}"' in html
    # The copy button waits for script (hidden until then), and says what it did aloud.
    assert 'data-copy="feed-webcal" aria-describedby="feed-copied" hidden>Copy link' in html
    assert 'id="feed-copied" role="status" aria-live="polite"' in html
    assert "feed-twice" not in html


def test_subscribing_where_follow_ups_are_written_is_warned(
        app: Flask, user: User, logged_in: FlaskClient) -> None:
    with app.app_context(), get_db().session() as session:
        session.add(Source(user_id=user.id, kind="google", name="ana@acme-sales.com", url="",
                           options={"calendars_read": ["primary", "sales"],
                                    "calendar_written": "sales",
                                    "calendar_names": {"sales": "Sales team"}},
                           cursor={}, warnings=[]))
        session.commit()
    for path in ("/settings", "/sources"):
        html = unescape(logged_in.get(path).get_data(as_text=True))
        assert ("Your follow-ups are already written to your calendar “Sales team”: "
                "subscribing there too would show each one twice.") in html


def test_the_sample_is_not_called_an_upload(app: Flask, logged_in: FlaskClient) -> None:
    post(logged_in, "/sources/sample")
    [source] = query(app, select(Source))
    listed = logged_in.get("/sources").get_data(as_text=True)
    row = listed.split("<tbody>")[1].split("</tbody>")[0]
    assert "sample calendar" in row and "upload it again" not in row
    assert row.split('class="next-try">')[1].split("</td>")[0] == "—"
    page = logged_in.get(f"/sources/{source.id}").get_data(as_text=True)
    assert "Sample calendar" in page and "upload it again" not in page
    assert "Next try" not in page
