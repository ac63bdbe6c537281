"""Microsoft round trips that connect or sign in nobody get a page of their own (as Google's
do): what happened, and the way back to where the person started. And no round trip warns:
msal's advice about response_mode is answered where calsync starts the flow (this module
turns no warning off)."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from calsync.db import get_db
from calsync.models import Source
from tests.conftest import csrf_from


def start(client: FlaskClient, action: str, page: str) -> str:
    """Press the button; the state of the round trip calsync sent the browser off with."""
    token = csrf_from(client.get(page).get_data(as_text=True))
    response = client.post(action, data={"csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return parse_qs(urlsplit(response.headers["Location"]).query)["state"][0]


def shown(html: str) -> tuple[str, str, list[tuple[str, str]]]:
    """The page's title, heading and links in its card."""
    title = re.search(r"<title>([^<]*)</title>", html)
    heading = re.search(r"<h1>([^<]*)</h1>", html)
    card = html[html.index('<div class="card">'):]
    assert title and heading
    return title.group(1), heading.group(1), re.findall(r'<a href="([^"]+)">([^<]+)</a>', card)


def test_cancelling_a_connection_says_so_and_leads_back_to_calendars(
        app: Flask, logged_in: FlaskClient) -> None:
    state = start(logged_in, "/microsoft/connect", "/sources")
    page = logged_in.get(f"/microsoft/callback?error=access_denied&state={state}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    title, heading, links = shown(html)
    assert heading == "Microsoft didn&#39;t connect" and "Error" not in title
    assert "You cancelled at Microsoft, so nothing was connected." in html
    assert links == [("/sources", "Back to your calendars")]
    with app.app_context(), get_db().session() as session:
        assert session.scalars(select(Source)).all() == []


def test_a_refused_sign_in_speaks_of_signing_in(client: FlaskClient) -> None:
    state = start(client, "/microsoft/signin", "/login")
    page = client.get(f"/microsoft/callback?error=access_denied&state={state}")
    title, heading, links = shown(page.get_data(as_text=True))
    assert heading == "Microsoft didn&#39;t sign you in" and "Error" not in title
    assert links == [("/login", "Back to sign in")]


def test_a_callback_from_nowhere_leads_back_to_sign_in(client: FlaskClient) -> None:
    page = client.get("/microsoft/callback?code=stolen&state=not-ours")
    assert page.status_code == 400
    _, heading, links = shown(page.get_data(as_text=True))
    assert heading == "Microsoft didn&#39;t connect"
    assert links == [("/login", "Back to sign in")]

