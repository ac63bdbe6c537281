"""Helpers for tests that talk to the Microsoft emulator: a started emulator with one app
and one account, msal built as calsync builds it, the consent step, and Graph calls.

requests lets REQUESTS_CA_BUNDLE (set on these machines) override a session's `verify`,
so msal's own `verify=` would lose the emulator's CA: msal gets a session that ignores the
environment, and every Graph call here passes `verify=` per request, which the environment
cannot override.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs, urlsplit

import msal
import requests

from calsync.emulator.microsoft import MicrosoftEmulator

CLIENT_ID = "5f1c9b8e-calsync-test"
CLIENT_SECRET = "test-secret~value"
EMAIL = "ann@contoso.example"
REDIRECT_URI = "http://127.0.0.1:5000/oauth/microsoft/callback"
SCOPES = ["Calendars.ReadWrite", "User.Read", "email"]  # msal adds the reserved ones


@contextmanager
def running(**options: Any) -> Iterator[MicrosoftEmulator]:
    with MicrosoftEmulator(**options) as emulator:
        emulator.add_client(CLIENT_ID, CLIENT_SECRET, redirect_uris=[REDIRECT_URI])
        emulator.add_account(EMAIL, ["Sales team"], name="Ann Example")
        yield emulator


def tls_session(emulator: MicrosoftEmulator) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.verify = str(emulator.ca_path)
    return session


def msal_app(emulator: MicrosoftEmulator, secret: str = CLIENT_SECRET,
             tenant: str = "common") -> msal.ConfidentialClientApplication:
    return msal.ConfidentialClientApplication(
        CLIENT_ID, client_credential=secret, authority=emulator.authority(tenant),
        http_client=tls_session(emulator), instance_discovery=False)


def consent(emulator: MicrosoftEmulator, auth_uri: str, decision: str = "allow") -> dict[str, str]:
    """Load the consent page like a browser, press a button, return the query the browser
    is sent back to the redirect URI with."""
    page = requests.get(auth_uri, verify=emulator.ca_path, timeout=5)
    assert page.status_code == 200 and "calsync wants to access your Microsoft account" in page.text
    query = {k: v[0] for k, v in parse_qs(urlsplit(auth_uri).query).items()}
    answer = requests.post(auth_uri.split("?")[0], data={**query, "decision": decision},
                           verify=emulator.ca_path, allow_redirects=False, timeout=5)
    assert answer.status_code == 302, answer.text
    location = answer.headers["Location"]
    assert location.startswith(REDIRECT_URI)
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def graph(emulator: MicrosoftEmulator, method: str, path: str, token: str,
          **kwargs: Any) -> requests.Response:
    """One Graph call; `path` is relative to the Graph endpoint, or a full nextLink."""
    url = path if path.startswith("https://") else emulator.graph_endpoint + path
    headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
    return requests.request(method, url, headers=headers, verify=emulator.ca_path, timeout=10,
                            **kwargs)
