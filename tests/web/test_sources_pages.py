"""Calendars: adding by upload and by URL (over a real loopback server), status, sync, delete."""

from __future__ import annotations

import io

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from calsync.models import Meeting, Prompt, Source, User
from calsync.services.samples import sample_ics
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
    assert "Uploaded .ics file" in html and "Sync now" in html
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


def test_an_unreachable_feed_shows_its_error(app: Flask, logged_in: FlaskClient) -> None:
    with FileServer() as server:
        server.serve("/gone.ics", b"not here", status=404)
        post(logged_in, "/sources/url", {"url": server.url("/gone.ics"), "name": "Gone"})
    [source] = query(app, select(Source))
    assert source.status == "error"
    html = logged_in.get(f"/sources/{source.id}").get_data(as_text=True)
    assert "Last error" in html
    assert "Next try" in html


def test_sync_now_and_delete(app: Flask, user: User, logged_in: FlaskClient) -> None:
    post(logged_in, "/sources/sample")
    [source] = query(app, select(Source))
    response = post(logged_in, f"/sources/{source.id}/sync", follow_redirects=True)
    assert "Syncing “Sample sales week” now." in response.get_data(as_text=True)
    page = logged_in.get(f"/sources/{source.id}").get_data(as_text=True)
    assert "Remove this calendar" in page
    response = post(logged_in, f"/sources/{source.id}/delete", follow_redirects=True)
    assert "Removed “Sample sales week”." in response.get_data(as_text=True)
    assert query(app, select(Source)) == []
    assert query(app, select(Meeting)) == []
    assert logged_in.get(f"/sources/{source.id}").status_code == 404
