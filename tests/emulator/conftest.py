"""Fixtures for the emulators' tests: a running Google emulator, tokens, a webhook receiver;
a running Microsoft emulator (tests.servers.microsoft's accounts) and an access token for it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build

from calsync.emulator import GoogleEmulator
from calsync.emulator.microsoft import MicrosoftEmulator
from tests.servers import microsoft as ms

CLIENT_ID = "calsync-test.apps.googleusercontent.example"
CLIENT_SECRET = "test-secret"
EMAIL = "ann@example.com"
REDIRECT_URI = "http://127.0.0.1:5000/oauth/google/callback"


@pytest.fixture
def google() -> Iterator[GoogleEmulator]:
    with GoogleEmulator() as emulator:
        emulator.add_client(CLIENT_ID, CLIENT_SECRET, redirect_uris=[REDIRECT_URI])
        emulator.add_account(EMAIL, time_zone="Europe/Berlin")
        yield emulator


def credentials(google: GoogleEmulator, tokens: dict[str, Any]) -> Credentials:
    return Credentials(token=tokens["access_token"], refresh_token=tokens.get("refresh_token"),
                       token_uri=google.token_uri, client_id=CLIENT_ID,
                       client_secret=CLIENT_SECRET)


def calendar_service(google: GoogleEmulator, creds: Credentials) -> Any:
    return build("calendar", "v3", credentials=creds, static_discovery=True,
                 client_options={"api_endpoint": google.api_endpoint})


@pytest.fixture
def service(google: GoogleEmulator) -> Any:
    """A Calendar v3 client for EMAIL, built exactly as calsync builds it."""
    return calendar_service(google, credentials(google, google.issue_tokens(EMAIL, CLIENT_ID)))


class Receiver:
    """A tiny HTTP server on loopback that records the POSTs it gets (webhooks)."""

    def __init__(self) -> None:
        self.received: list[dict[str, str]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.received.append({k.lower(): v for k, v in self.headers.items()})
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/google"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


@pytest.fixture
def microsoft() -> Iterator[MicrosoftEmulator]:
    with ms.running() as emulator:
        yield emulator


@pytest.fixture
def token(microsoft: MicrosoftEmulator) -> str:
    """An access token for tests.servers.microsoft's EMAIL, at Graph."""
    return str(microsoft.issue_tokens(ms.EMAIL, ms.CLIENT_ID)["access_token"])
