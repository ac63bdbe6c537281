"""The Content-Security-Policy in a real browser (Debian's Chromium via Playwright): every
script still runs, the Google round trip after a form post is not blocked (Chrome applies
form-action to redirects), and the browser reports no violation on any page."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator

import pytest
from flask import Flask
from playwright.sync_api import ConsoleMessage, Dialog, Page

from calsync.app import create_app
from calsync.config import Settings
from calsync.emulator import GoogleEmulator
from tests.conftest import PASSWORD
from tests.servers.live_app import LiveServer

CLIENT_ID = "calsync-csp.apps.googleusercontent.example"
EMAIL = "rep@acme-sales.com"


@pytest.fixture
def served(settings: Settings) -> Iterator[str]:
    live = LiveServer()
    with GoogleEmulator(auto_consent=True) as google:
        google.add_client(CLIENT_ID, "csp-secret", redirect_uris=[f"{live.url}/google/callback"])
        google.add_account(EMAIL, [], name="Rep", time_zone="America/Chicago")
        app: Flask = create_app(dataclasses.replace(
            settings, base_url=live.url, google_client_id=CLIENT_ID,
            google_client_secret="csp-secret", google_api_endpoint=google.api_endpoint,
            google_auth_uri=google.auth_uri, google_token_uri=google.token_uri,
            google_revoke_uri=google.revoke_uri, google_webhooks="off"))
        live.serve(app)
        yield live.url
        live.stop()


def test_scripts_run_and_nothing_is_blocked(served: str, page: Page) -> None:
    violations: list[str] = []

    def watch(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Refused to" in message.text:
            violations.append(message.text)

    page.on("console", watch)
    page.on("pageerror", lambda error: violations.append(str(error)))

    # Sign-up: the script picks the browser's zone for the form and for Google's button.
    page.goto(f"{served}/signup")
    assert page.input_value("select[name=timezone]") == "America/Chicago"
    assert page.input_value("#google-signin input[name=timezone]") == "America/Chicago"
    page.fill("input[name=email]", EMAIL)
    page.fill("input[name=password]", PASSWORD)
    page.click("form.stack button[type=submit]")

    # Connect Google: a form post redirected to Google's (the emulator's) auth host and back.
    page.goto(f"{served}/sources")
    page.click("button:has-text('Connect Google Calendar')")
    page.wait_for_url(re.compile(rf"{served}/sources/\d+$"))
    assert "Connected" in page.inner_text("main")

    # Settings: the address selects itself; irreversible forms ask first.
    page.goto(f"{served}/settings")
    page.focus("#feed-webcal")
    assert page.evaluate("""() => { const f = document.querySelector('#feed-webcal');
        return f.selectionStart === 0 && f.selectionEnd === f.value.length; }""")
    feed = page.input_value("#feed-webcal")
    asked: list[str] = []

    def refuse(dialog: Dialog) -> None:
        asked.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", refuse)
    page.click("button:has-text('Rotate the feed address')")
    assert asked == ["The old address will stop working. Rotate?"]
    assert page.input_value("#feed-webcal") == feed  # refused: nothing rotated

    page.once("dialog", lambda dialog: dialog.accept())
    page.click("button:has-text('Sign out everywhere')")
    page.wait_for_url(re.compile(rf"{served}/login"))
    assert "Signed out of calsync everywhere" in page.inner_text("main")

    # Sign in with Google from the sign-in page, going on to the page asked for.
    page.goto(f"{served}/login?next=/deals")
    page.click("button:has-text('Sign in with Google')")
    page.wait_for_url(f"{served}/deals")

    assert violations == []
