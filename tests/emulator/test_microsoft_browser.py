"""The Microsoft emulator's consent page in headless Chromium, certificates verified: the
browser trusts only the emulator's pinned server key, a person presses Allow, and the
browser lands on calsync's callback with a code msal redeems."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import sync_playwright

from calsync.emulator.microsoft import MicrosoftEmulator
from tests.servers.microsoft import CLIENT_ID, CLIENT_SECRET, EMAIL, SCOPES, msal_app

FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]
pytestmark = pytest.mark.filterwarnings("ignore:response_mode='form_post':UserWarning")


@pytest.fixture
def callback() -> Iterator[tuple[str, list[dict[str, str]]]]:
    """calsync's OAuth callback stand-in: records each query it is sent."""
    arrived: list[dict[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlsplit(self.path)
            if url.path == "/oauth/microsoft/callback":  # not the favicon the browser asks for
                arrived.append({k: v[0] for k, v in parse_qs(url.query).items()})
            body = b"<!doctype html><title>calsync</title><p>Connected.</p>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/oauth/microsoft/callback", arrived
    server.shutdown()
    server.server_close()


def test_consent_in_chromium_with_the_pinned_key(
        callback: tuple[str, list[dict[str, str]]]) -> None:
    redirect_uri, arrived = callback
    executable = shutil.which("chromium")
    assert executable, "Debian's chromium is missing: `make test` installs it"
    with MicrosoftEmulator() as microsoft, sync_playwright() as playwright:
        microsoft.add_client(CLIENT_ID, CLIENT_SECRET, redirect_uris=[redirect_uri])
        microsoft.add_account(EMAIL, name="Ann Example")
        app = msal_app(microsoft)
        flow = app.initiate_auth_code_flow(SCOPES, redirect_uri=redirect_uri, login_hint=EMAIL)

        unpinned = playwright.chromium.launch(executable_path=executable, args=FLAGS)
        with pytest.raises(PlaywrightError, match="ERR_CERT_AUTHORITY_INVALID"):
            unpinned.new_page().goto(flow["auth_uri"])
        unpinned.close()

        pin = f"--ignore-certificate-errors-spki-list={microsoft.certificates.spki_pin}"
        browser = playwright.chromium.launch(executable_path=executable, args=[*FLAGS, pin])
        page = browser.new_page()
        page.goto(flow["auth_uri"])
        assert page.inner_text("#email") == EMAIL
        assert "Have full access to your calendars" in page.inner_text("ul.scopes")
        page.click("button.allow")
        page.wait_for_url(f"{redirect_uri}?*")
        browser.close()
        [answer] = arrived
        assert answer["state"] == flow["state"]
        result = app.acquire_token_by_auth_code_flow(flow, answer)
        assert result["id_token_claims"]["preferred_username"] == EMAIL
