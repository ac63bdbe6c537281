"""Signing in with Google is a login like any other: revocable by signing out, and it goes
on to the page the sign-in page was asked for, never to another site."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient

from calsync.emulator import GoogleEmulator
from tests.google.conftest import LiveServer, consent, start
from tests.web.conftest import post


def google_sign_in(client: FlaskClient, browser: requests.Session, google: GoogleEmulator,
                   target: str) -> str:
    """Press "Sign in with Google" on /login?next=<target>; returns where calsync sends us."""
    location = start(client, "/google/signin", "/login",
                     {"timezone": "Europe/Berlin", "next": target})
    answer = client.get(consent(browser, google, location))
    assert answer.status_code == 302, answer.get_data(as_text=True)[:500]
    return answer.headers["Location"]


def test_the_login_page_passes_next_to_google_sign_in(client: FlaskClient) -> None:
    page = client.get("/login?next=/deals").get_data(as_text=True)
    assert '<input type="hidden" name="next" value="/deals">' in page


@pytest.mark.parametrize(("target", "lands"), [
    ("/deals?page=2", "/deals?page=2"),
    ("//evil.example/", "/"),
    ("/\r\nSet-Cookie: stolen=1", "/"),
    ("https://evil.example/", "/"),
])
def test_google_sign_in_goes_on_only_to_a_page_here(
        client: FlaskClient, google: GoogleEmulator, served: LiveServer,
        browser: requests.Session, target: str, lands: str) -> None:
    assert google_sign_in(client, browser, google, target) == lands


def test_signing_out_ends_a_google_login_everywhere(
        app: Flask, client: FlaskClient, google: GoogleEmulator, served: LiveServer,
        browser: requests.Session) -> None:
    google_sign_in(client, browser, google, "/")
    remembered = client.get_cookie("remember_token")
    assert remembered is not None
    copy = app.test_client()
    copy.set_cookie("remember_token", remembered.value)
    assert copy.get("/settings").status_code == 200
    assert post(client, "/logout").status_code == 302
    copy = app.test_client()
    copy.set_cookie("remember_token", remembered.value)
    assert copy.get("/settings").status_code == 302


def test_a_refused_google_sign_in_says_so_and_leads_back_to_sign_in(
        client: FlaskClient, google: GoogleEmulator, served: LiveServer) -> None:
    location = start(client, "/google/signin", "/login", {"timezone": "Europe/Berlin"})
    state = parse_qs(urlsplit(location).query)["state"][0]
    page = client.get(f"/google/callback?error=access_denied&state={state}")
    html = page.get_data(as_text=True)
    assert "<h1>Google didn't sign you in</h1>" in html.replace("&#39;", "'")
    assert '<a href="/login">Back to sign in</a>' in html
