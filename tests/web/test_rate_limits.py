"""Rate limits at their real defaults: sign-in per account and per address, sign-up, the feed
and answer links answer 429 with a sentence saying when to try again."""

from __future__ import annotations

import re
import uuid
from dataclasses import replace
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient

from calsync.app import create_app
from calsync.config import Settings
from calsync.db import get_db
from calsync.models import User
from calsync.services import accounts
from tests import databases
from tests.conftest import PASSWORD, csrf_from

DEFAULTS = Settings()


def allowed(limits: str) -> int:
    """The count of the shortest window: "5/minute,20/hour" allows 5 in a row."""
    return int(limits.split(",")[0].split("/")[0])


def sign_in(browser: FlaskClient, email: str, password: str, **kwargs: Any) -> Any:
    page = browser.get("/login", **kwargs).get_data(as_text=True)
    return browser.post("/login", data={"email": email, "password": password,
                                        "csrf_token": csrf_from(page)}, **kwargs)


def from_address(address: str) -> dict[str, Any]:
    return {"environ_base": {"REMOTE_ADDR": address}}


def assert_refused_in_words(response: Any, words: str) -> None:
    assert response.status_code == 429
    text = response.get_data(as_text=True)
    assert words in text and "Try again in " in text
    assert 0 < int(response.headers["Retry-After"]) <= 24 * 3600


def test_wrong_passwords_for_one_account_are_throttled(client: FlaskClient, user: User) -> None:
    for _ in range(allowed(DEFAULTS.rate_limit_signin_account)):
        assert sign_in(client, user.email, "wrong password").status_code == 200
    refused = sign_in(client, user.email, PASSWORD)  # even the right one, for a while
    assert_refused_in_words(refused, "Too many wrong passwords for this account.")
    assert re.search(r"Try again in (\d\d seconds|1 minute)\.", refused.get_data(as_text=True))
    # The limit is the account's, whatever address the guesses come from ...
    other = sign_in(client, user.email.upper(), "wrong password", **from_address("10.0.0.9"))
    assert other.status_code == 429
    # ... and other accounts are not affected.
    assert sign_in(client, "someone@else.example", "wrong password").status_code == 200


def test_signing_in_successfully_never_counts_against_the_account(
        app: Flask, user: User) -> None:
    for _ in range(allowed(DEFAULTS.rate_limit_signin_account) + 3):
        assert sign_in(app.test_client(), user.email, PASSWORD).status_code == 302


def test_sign_in_attempts_from_one_address_are_throttled(client: FlaskClient) -> None:
    for n in range(allowed(DEFAULTS.rate_limit_signin_address)):
        assert sign_in(client, f"guess{n}@acme.example", "password1").status_code == 200
    assert_refused_in_words(sign_in(client, "guess@acme.example", "password1"),
                            "Too many sign-in attempts from your network.")
    # "Sign in with Google" counts against the same address ...
    page = client.get("/login").get_data(as_text=True)
    assert client.post("/google/signin", data={"csrf_token": csrf_from(page)}).status_code == 429
    # ... and another address is not affected.
    elsewhere = sign_in(client, "guess@acme.example", "password1", **from_address("10.0.0.7"))
    assert elsewhere.status_code == 200


def test_sign_ups_from_one_address_are_throttled(client: FlaskClient) -> None:
    def sign_up(n: int) -> Any:
        page = client.get("/signup").get_data(as_text=True)
        return client.post("/signup", data={"email": f"rep{n}@fabrikam.example",
                                            "password": "short", "timezone": "UTC",
                                            "csrf_token": csrf_from(page)})

    for n in range(allowed(DEFAULTS.rate_limit_signup_address)):
        assert sign_up(n).status_code == 200
    assert_refused_in_words(sign_up(99), "Too many sign-ups from your network.")


def test_a_refusal_in_json_says_when_to_try_again(client: FlaskClient, user: User) -> None:
    for _ in range(allowed(DEFAULTS.rate_limit_signin_account)):
        sign_in(client, user.email, "wrong password")
    refused = sign_in(client, user.email, "wrong password",
                      headers={"Accept": "application/json"})
    assert refused.status_code == 429
    error = refused.get_json()["error"]
    assert error["code"] == "rate_limited"
    assert 0 < error["retry_after_seconds"] <= 60
    assert error["message"].startswith("Too many wrong passwords for this account. Try again in")


def test_a_feed_read_far_more_often_than_a_calendar_app_does_is_throttled(
        app: Flask, client: FlaskClient, user: User, make_user: Any) -> None:
    other = make_user("bo@acme-sales.com")
    for _ in range(allowed(DEFAULTS.rate_limit_feed)):
        assert client.get(f"/feed/{user.feed_token}.ics").status_code == 200
    assert_refused_in_words(client.get(f"/feed/{user.feed_token}.ics"), "This feed address")
    assert client.get(f"/feed/{other.feed_token}.ics").status_code == 200


def test_answer_links_are_limited_per_address(app: Flask) -> None:
    """Guessing tokens is slowed: each try gets the refusal page, until the limit says no."""
    client = app.test_client()
    for n in range(allowed(DEFAULTS.rate_limit_answer_link)):
        assert client.get(f"/a/t{n}.forged").status_code == 400
    assert_refused_in_words(client.get("/a/another.forged"), "Too many answer links")
    assert_refused_in_words(client.get("/u/another.forged"), "Too many answer links")


@pytest.mark.skipif(not databases.REDIS_URL, reason="set CALSYNC_TEST_REDIS_URL to test Redis")
def test_limits_are_counted_in_redis_when_it_is_set(settings: Settings, app: Flask) -> None:
    """Every process sees the same counts: a new app (another worker) still refuses."""
    email = f"{uuid.uuid4().hex}@acme-sales.com"
    with app.app_context(), get_db().session() as session:
        accounts.create_user(session, email, PASSWORD)
        session.commit()
    shared = replace(settings, redis_url=databases.REDIS_URL)
    first = create_app(shared).test_client()
    for _ in range(allowed(DEFAULTS.rate_limit_signin_account)):
        assert sign_in(first, email, "wrong password").status_code == 200
    store = redis.Redis.from_url(databases.REDIS_URL)
    keys = store.keys(f"*{email}*")
    try:
        assert keys, "no count of this account in Redis"
        second = create_app(shared).test_client()
        assert sign_in(second, email, PASSWORD).status_code == 429
    finally:
        store.delete(*store.keys(f"*{email}*"))


def test_a_forged_forwarded_for_does_not_dodge_the_address_limit(client: FlaskClient) -> None:
    """With no proxy trusted (the default), X-Forwarded-For is the client's own claim."""
    for n in range(allowed(DEFAULTS.rate_limit_signin_address)):
        forged = {"X-Forwarded-For": f"198.51.100.{n}"}
        assert sign_in(client, f"guess{n}@acme.example", "password1",
                       headers=forged).status_code == 200
    refused = sign_in(client, "guess@acme.example", "password1",
                      headers={"X-Forwarded-For": "198.51.100.250"})
    assert refused.status_code == 429


def test_behind_a_trusted_proxy_each_client_counts_alone(settings: Settings) -> None:
    app = create_app(replace(settings, trusted_proxies=1))
    client = app.test_client()
    for n in range(allowed(DEFAULTS.rate_limit_signin_address)):
        assert sign_in(client, f"guess{n}@acme.example", "password1",
                       headers={"X-Forwarded-For": "198.51.100.1"}).status_code == 200
    assert sign_in(client, "guess@acme.example", "password1",
                   headers={"X-Forwarded-For": "198.51.100.1"}).status_code == 429
    other = sign_in(client, "guess@acme.example", "password1",
                    headers={"X-Forwarded-For": "198.51.100.2"})
    assert other.status_code == 200
    with app.app_context():
        get_db().dispose()
