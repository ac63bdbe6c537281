"""Fixtures for the Google flow end to end: the emulator, calsync served on a real loopback
port (so the emulator's push notifications reach its webhook), and the OAuth round trip a
browser makes: calsync → the emulator's consent → back to calsync's callback."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient

from calsync.config import Settings
from calsync.emulator import GoogleEmulator
from calsync.providers import google_client
from tests.conftest import csrf_from
from tests.servers.live_app import LiveServer

CLIENT_ID = "calsync-e2e.apps.googleusercontent.example"
CLIENT_SECRET = "e2e-secret"
EMAIL = "ana@acme-sales.com"  # the default test user's email: their own Google account
TEAM = "team-acme@group.calendar.google.com"
EVENTS_OWNED = "https://www.googleapis.com/auth/calendar.events.owned"


@pytest.fixture
def live() -> Iterator[LiveServer]:
    server = LiveServer()
    yield server
    server.stop()


@pytest.fixture
def google(live: LiveServer) -> Iterator[GoogleEmulator]:
    with GoogleEmulator(auto_consent=True) as emulator:
        # Registered like a real Web application client: only calsync's callback may be used.
        emulator.add_client(CLIENT_ID, CLIENT_SECRET,
                            redirect_uris=[f"{live.url}/google/callback"])
        emulator.add_account(EMAIL, [{"id": TEAM, "summary": "Team Acme"}],
                             name="Ana", time_zone="Europe/Berlin")
        yield emulator


@pytest.fixture(autouse=True)
def no_backoff_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(google_client, "sleep", lambda _seconds: None)


@pytest.fixture
def settings(settings: Settings, google: GoogleEmulator, live: LiveServer) -> Settings:
    return dataclasses.replace(
        settings, google_client_id=CLIENT_ID, google_client_secret=CLIENT_SECRET,
        google_api_endpoint=google.api_endpoint, google_auth_uri=google.auth_uri,
        google_token_uri=google.token_uri, google_revoke_uri=google.revoke_uri,
        google_webhooks="on", base_url=live.url)


@pytest.fixture
def served(app: Flask, live: LiveServer, google: GoogleEmulator) -> Iterator[LiveServer]:
    """The test's app, also reachable over HTTP (by the emulator's webhooks)."""
    live.serve(app)
    yield live
    # Before the app goes: the emulator delivers what it queued (each delivery waits for
    # calsync's answer), then the server finishes its requests.
    google.stop()
    live.stop()


@pytest.fixture
def browser() -> Iterator[requests.Session]:
    """What the user's browser does at Google: follow the consent page's redirect back."""
    session = requests.Session()
    session.trust_env = False  # loopback must not go through a proxy
    yield session
    session.close()


def start(client: FlaskClient, action: str, page: str, data: dict[str, str] | None = None
          ) -> str:
    """Press a button that starts an OAuth round trip; returns where calsync sends us."""
    token = csrf_from(client.get(page).get_data(as_text=True))
    response = client.post(action, data={**(data or {}), "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response.headers["Location"]


def consent(browser: requests.Session, google: GoogleEmulator, location: str) -> str:
    """At Google: the (auto-approved) consent page redirects back; returns the callback's
    path and query, to be opened in the test client (the browser with the cookie)."""
    assert location.startswith(google.auth_uri), location
    answer = browser.get(location, allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text[:500]
    back = urlsplit(answer.headers["Location"])
    assert back.path == "/google/callback"
    return f"{back.path}?{back.query}"


def round_trip(client: FlaskClient, browser: requests.Session, google: GoogleEmulator,
               action: str = "/google/connect", page: str = "/sources",
               data: dict[str, str] | None = None) -> Any:
    """Connect (or sign in) the whole way; returns calsync's answer to the callback."""
    return client.get(consent(browser, google, start(client, action, page, data)))


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def eventually(check: Callable[[], Any], timeout: float = 10.0) -> Any:
    """Poll `check` until it returns something truthy (push notifications are async)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            assert result, "timed out waiting"
            return result
        time.sleep(0.05)
