"""Each sign-in is a revocable login: signing out, signing out everywhere and changing the
password end it in every browser, including a copied "remember me" cookie."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update
from werkzeug import security

from calsync.db import get_db
from calsync.models import LoginSession, User
from calsync.services import accounts
from tests.conftest import PASSWORD, csrf_from, login
from tests.web.conftest import post

NEW_PASSWORD = "a much longer new passphrase"


def signed_in(app: Flask, user: User, password: str = PASSWORD) -> FlaskClient:
    """A browser of its own (its own cookie jar) signed in as `user`."""
    browser = app.test_client()
    login(browser, user.email, password)
    return browser


def can_see_settings(browser: FlaskClient) -> bool:
    response = browser.get("/settings")
    assert response.status_code in (200, 302)
    return response.status_code == 200


def with_cookie(app: Flask, name: str, value: str) -> FlaskClient:
    """A fresh browser holding only a copy of someone's cookie."""
    browser = app.test_client()
    browser.set_cookie(name, value)
    return browser


def cookie(browser: FlaskClient, name: str) -> str:
    found = browser.get_cookie(name)
    assert found is not None, f"no {name} cookie"
    return found.value


def test_each_sign_in_gets_its_own_remember_token(app: Flask, user: User) -> None:
    first, second = signed_in(app, user), signed_in(app, user)
    assert cookie(first, "remember_token") != cookie(second, "remember_token")
    assert cookie(first, "remember_token").split("|")[0] != str(user.id)


@pytest.mark.parametrize("name", ["remember_token", "session"])
def test_a_copied_cookie_dies_with_sign_out(app: Flask, user: User, name: str) -> None:
    browser = signed_in(app, user)
    stolen = cookie(browser, name)
    assert can_see_settings(with_cookie(app, name, stolen))  # the copy works while signed in
    assert post(browser, "/logout").status_code == 302
    assert not can_see_settings(with_cookie(app, name, stolen))


def test_sign_out_ends_only_this_browser(app: Flask, user: User) -> None:
    laptop, phone = signed_in(app, user), signed_in(app, user)
    post(laptop, "/logout")
    assert not can_see_settings(laptop)
    assert can_see_settings(phone)


def test_sign_out_everywhere(app: Flask, user: User) -> None:
    laptop, phone = signed_in(app, user), signed_in(app, user)
    remembered = cookie(phone, "remember_token")
    response = post(laptop, "/settings/sessions/revoke")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    for browser in (laptop, phone, with_cookie(app, "remember_token", remembered)):
        assert not can_see_settings(browser)
    assert can_see_settings(signed_in(app, user))  # signing in again works


def test_changing_the_password_signs_out_every_other_browser(app: Flask, user: User) -> None:
    laptop, phone = signed_in(app, user), signed_in(app, user)
    remembered = cookie(phone, "remember_token")
    response = post(laptop, "/settings/password", {
        "current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert response.status_code == 302
    assert "Your password is changed" in laptop.get("/settings").get_data(as_text=True)
    assert not can_see_settings(phone)
    assert not can_see_settings(with_cookie(app, "remember_token", remembered))
    assert can_see_settings(signed_in(app, user, NEW_PASSWORD))
    old = app.test_client()
    page = old.get("/login").get_data(as_text=True)
    refused = old.post("/login", data={"email": user.email, "password": PASSWORD,
                                       "csrf_token": csrf_from(page)})
    assert refused.status_code == 200


def test_a_wrong_current_password_changes_nothing(app: Flask, user: User) -> None:
    laptop, phone = signed_in(app, user), signed_in(app, user)
    response = post(laptop, "/settings/password", {
        "current_password": "not my password", "new_password": NEW_PASSWORD})
    assert response.status_code == 422
    assert "current password is not right" in response.get_data(as_text=True)
    assert can_see_settings(phone)
    assert can_see_settings(signed_in(app, user, PASSWORD))


def test_guessing_the_current_password_is_throttled(app: Flask, user: User) -> None:
    laptop = signed_in(app, user)
    limit = int(app.extensions["calsync.settings"].rate_limit_signin_account.split("/")[0])
    for _ in range(limit):
        response = post(laptop, "/settings/password", {
            "current_password": "a guess", "new_password": NEW_PASSWORD})
        assert response.status_code == 422
    response = post(laptop, "/settings/password", {
        "current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert response.status_code == 429
    assert "Too many wrong passwords" in response.get_data(as_text=True)


def test_a_too_short_new_password_is_refused(app: Flask, user: User) -> None:
    laptop = signed_in(app, user)
    response = post(laptop, "/settings/password", {
        "current_password": PASSWORD, "new_password": "short"})
    assert response.status_code == 422
    assert "at least 8 characters" in response.get_data(as_text=True)


def test_a_login_ends_after_the_session_days(app: Flask, user: User) -> None:
    browser = signed_in(app, user)
    days = app.extensions["calsync.settings"].session_days
    with app.app_context(), get_db().session() as session:
        session.execute(update(LoginSession).values(
            created_at=datetime.now(UTC) - timedelta(days=days, minutes=1)))
        session.commit()
    assert not can_see_settings(browser)


def test_settings_say_how_many_browsers_are_signed_in(app: Flask, user: User) -> None:
    laptop = signed_in(app, user)
    signed_in(app, user)
    page = laptop.get("/settings").get_data(as_text=True)
    assert "signed in on 2 browsers" in page


# The account-existence oracle: a wrong email must cost exactly what a wrong password does.

@pytest.fixture
def hashings(monkeypatch: pytest.MonkeyPatch) -> Callable[[], int]:
    """Counts password-hash computations (werkzeug's one internal hashing function)."""
    calls: list[str] = []
    real = security._hash_internal

    def counting(method: str, salt: str, password: str) -> Any:
        calls.append(method)
        return real(method, salt, password)

    monkeypatch.setattr(security, "_hash_internal", counting)

    def count() -> int:
        done = len(calls)
        calls.clear()
        return done

    return count


def test_unknown_email_and_wrong_password_cost_one_hashing_each(
        app: Flask, user: User, hashings: Callable[[], int]) -> None:
    with app.app_context(), get_db().session() as session:
        google_only = accounts.create_user(session, "g@acme-sales.com", None)
        session.commit()
        hashings()
        cases = {"wrong password": (user.email, "wrong password"),
                 "unknown email": ("nobody@acme-sales.com", "wrong password"),
                 "no password set": (google_only.email, "wrong password"),
                 "right password": (user.email, PASSWORD)}
        for case, (email, password) in cases.items():
            accounts.authenticate(session, email, password)
            assert hashings() == 1, case


def test_the_stand_in_hash_costs_what_a_real_one_does() -> None:
    method = security.generate_password_hash("x").split("$")[0]
    assert accounts.STAND_IN_HASH.split("$")[0] == method


# Redirect targets: one check for every redirect calsync takes from a request.

BAD_TARGETS = ["/\r\nSet-Cookie: stolen=1", "/inbox\nx", "//evil.example/", "/\\evil.example",
               "\\\\evil.example", "https://evil.example/", "javascript:alert(1)",
               "/\t/evil.example", " //evil.example", "inbox", "", "/" + "a" * 3000]


@pytest.mark.parametrize("target", BAD_TARGETS)
def test_a_bad_next_is_ignored_at_sign_in(client: FlaskClient, user: User, target: str) -> None:
    page = client.get("/login").get_data(as_text=True)
    response = client.post("/login", query_string={"next": target}, data={
        "email": user.email, "password": PASSWORD, "csrf_token": csrf_from(page)})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_a_same_site_next_is_followed(client: FlaskClient, user: User) -> None:
    page = client.get("/login?next=/deals%3Fpage%3D2").get_data(as_text=True)
    response = client.post("/login?next=/deals%3Fpage%3D2", data={
        "email": user.email, "password": PASSWORD, "csrf_token": csrf_from(page)})
    assert response.headers["Location"] == "/deals?page=2"


@pytest.mark.parametrize("target", [*BAD_TARGETS, None])
def test_safe_target_falls_back(app: Flask, target: str | None) -> None:
    from calsync.web.redirects import safe_target

    assert safe_target(target, "/fallback") == "/fallback"


def test_safe_target_keeps_paths_queries_and_fragments() -> None:
    from calsync.web.redirects import safe_target

    for target in ("/", "/deals?page=2", "/sources/3#calendars", "/a%2Fb"):
        assert safe_target(target, "/fallback") == target
