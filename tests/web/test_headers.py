"""Security headers on every response; no inline script on any page (the policy forbids it);
pages with secrets are never cached."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from flask import Flask
from flask.testing import FlaskClient

from calsync.app import create_app
from calsync.config import Settings
from calsync.models import User
from tests.conftest import ApiClient
from tests.web.conftest import post

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\ssrc=)[^>]*>", re.IGNORECASE)
INLINE_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)
INLINE_STYLE = re.compile(r"<style|\sstyle\s*=", re.IGNORECASE)


def directives(response: object) -> dict[str, str]:
    policy = response.headers["Content-Security-Policy"]  # type: ignore[attr-defined]
    pairs = (part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    return {name: value for name, value in pairs}


def assert_secure(response: object, path: str) -> None:
    headers = response.headers  # type: ignore[attr-defined]
    policy = directives(response)
    assert policy["script-src"] == "'self'", path
    assert "unsafe-inline" not in headers["Content-Security-Policy"], path
    assert policy["frame-ancestors"] == "'none'", path
    assert policy["object-src"] == "'none'" and policy["base-uri"] == "'none'", path
    assert headers["X-Content-Type-Options"] == "nosniff", path
    assert headers["Referrer-Policy"] == "no-referrer", path
    assert headers["X-Frame-Options"] == "DENY", path


def assert_no_inline_code(html: str, path: str) -> None:
    assert not INLINE_SCRIPT.search(html), f"inline <script> on {path}"
    assert not INLINE_HANDLER.search(html), f"inline event handler on {path}"
    assert not INLINE_STYLE.search(html), f"inline style on {path}"


def test_signed_out_pages(client: FlaskClient) -> None:
    for path in ("/login", "/login?next=/deals", "/signup", "/healthz", "/no-such-page",
                 "/feed/not-a-token.ics", "/api/v1/me", "/static/calsync.css"):
        response = client.get(path)
        assert_secure(response, path)
        if response.mimetype == "text/html":
            assert_no_inline_code(response.get_data(as_text=True), path)
        response.close()  # a static file is streamed from an open file


def test_every_signed_in_page(app: Flask, seeded: dict[str, int], logged_in: FlaskClient,
                              user: User) -> None:
    post(logged_in, "/settings/tokens", {"name": "CRM"})  # the token list shows its forms
    prompt_id = next(iter(seeded.values()))
    pages = ["/", "/deals", "/sources", "/settings", f"/prompts/{prompt_id}"]
    html = logged_in.get("/sources").get_data(as_text=True)
    pages += sorted(set(re.findall(r'href="(/(?:sources|deals)/\d+)"', html)))
    html = logged_in.get("/deals").get_data(as_text=True)
    pages += sorted(set(re.findall(r'href="(/deals/\d+)"', html)))
    for path in pages:
        response = logged_in.get(path)
        assert response.status_code == 200, path
        assert_secure(response, path)
        assert_no_inline_code(response.get_data(as_text=True), path)
        assert "no-store" in response.headers["Cache-Control"], path


def test_pages_with_secrets_are_never_cached(logged_in: FlaskClient, api: ApiClient,
                                             user: User) -> None:
    assert logged_in.get("/settings").headers["Cache-Control"] == "no-store"
    # Issue 10: POST-redirect-GET, the token shown on the page after the redirect.
    created = post(logged_in, "/settings/tokens", {"name": "CRM"}, follow_redirects=True)
    assert "cs_" in created.get_data(as_text=True)
    assert created.headers["Cache-Control"] == "no-store"
    for path in ("/api/v1/me", "/api/v1/feed"):
        assert api.get(path).headers["Cache-Control"] == "no-store", path


def test_the_feed_keeps_its_own_caching_rules(client: FlaskClient, user: User) -> None:
    response = client.get(f"/feed/{user.feed_token}.ics")
    assert response.headers["Cache-Control"] == "private, max-age=0, must-revalidate"
    assert response.headers["Referrer-Policy"] == "no-referrer"


MICROSOFT = "https://login.microsoftonline.com"


@pytest.mark.parametrize(("auth_uri", "authority", "allowed"), [
    ("https://accounts.google.com/o/oauth2/auth", MICROSOFT,
     f"'self' https://accounts.google.com {MICROSOFT}"),
    ("http://127.0.0.1:9100/o/oauth2/auth", MICROSOFT, f"'self' http://127.0.0.1:9100 {MICROSOFT}"),
    # The Microsoft emulator's consent page for people's browsers is plain http on a port
    # of its own.
    ("https://accounts.google.com/o/oauth2/auth", "https://127.0.0.1:9200",
     "'self' https://accounts.google.com https://127.0.0.1:9200 http://127.0.0.1:*"),
])
def test_forms_may_post_only_here_and_on_to_the_sign_in_hosts(
        settings: Settings, auth_uri: str, authority: str, allowed: str) -> None:
    # Chrome applies form-action to the redirect after "Connect Google Calendar" too.
    app = create_app(replace(settings, google_auth_uri=auth_uri,
                             microsoft_authority_host=authority))
    assert directives(app.test_client().get("/login"))["form-action"] == allowed


def test_the_icon_is_served_where_browsers_look(client) -> None:  # type: ignore[no-untyped-def]
    for path in ("/favicon.svg", "/favicon.ico"):
        response = client.get(path)
        assert response.status_code == 200
        assert response.mimetype == "image/svg+xml" and response.data.startswith(b"<svg")
        assert "max-age" in response.headers["Cache-Control"]
