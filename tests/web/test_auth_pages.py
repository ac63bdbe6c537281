"""Signing up, in and out through the pages; CSRF on every form; pages need a session."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from calsync.models import User
from tests.conftest import PASSWORD, csrf_from, login
from tests.web.conftest import query


def test_signup_saves_the_time_zone_and_signs_in(app: Flask, client: FlaskClient) -> None:
    page = client.get("/signup").get_data(as_text=True)
    response = client.post("/signup", data={
        "email": "Rep@Fabrikam-Sales.com", "password": PASSWORD,
        "timezone": "America/New_York", "csrf_token": csrf_from(page)})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/sources")
    [user] = query(app, select(User))
    assert (user.email, user.timezone) == ("rep@fabrikam-sales.com", "America/New_York")
    assert "Try it with a sample calendar" in client.get("/sources").get_data(as_text=True)


def test_signup_error_is_shown_next_to_the_field(client: FlaskClient) -> None:
    page = client.get("/signup").get_data(as_text=True)
    response = client.post("/signup", data={"email": "rep@example.com", "password": "short",
                                            "timezone": "UTC", "csrf_token": csrf_from(page)})
    assert response.status_code == 200
    assert "Use at least 8 characters (at most 200)." in response.get_data(as_text=True)
    assert "Field must be" not in response.get_data(as_text=True)


def test_sign_in_and_out(client: FlaskClient, user: User) -> None:
    assert client.get("/").status_code == 302  # to the sign-in page
    login(client, user.email)
    assert "How did it go?" in client.get("/").get_data(as_text=True)
    page = client.get("/").get_data(as_text=True)
    response = client.post("/logout", data={"csrf_token": csrf_from(page)})
    assert response.status_code == 302
    assert client.get("/deals").headers["Location"].startswith("/login")


def test_wrong_password_says_so(client: FlaskClient, user: User) -> None:
    page = client.get("/login").get_data(as_text=True)
    response = client.post("/login", data={"email": user.email, "password": "nope-nope",
                                           "csrf_token": csrf_from(page)})
    assert "don&#39;t match an account" in response.get_data(as_text=True)


def test_a_post_without_csrf_token_is_refused(logged_in: FlaskClient) -> None:
    for path in ("/logout", "/sources/sample", "/settings/feed/rotate", "/settings/tokens"):
        response = logged_in.post(path, data={})
        assert response.status_code == 400, path
        assert "This form expired" in response.get_data(as_text=True)


def test_every_page_needs_a_session(client: FlaskClient) -> None:
    for path in ("/", "/deals", "/deals/1", "/sources", "/sources/1", "/settings",
                 "/prompts/1"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert "/login" in response.headers["Location"]


def test_pages_render_for_a_new_user(logged_in: FlaskClient) -> None:
    for path, text in (("/", "No meetings yet"), ("/deals", "No deals yet"),
                       ("/sources", "Add by address"), ("/settings", "webcal://")):
        response = logged_in.get(path)
        assert response.status_code == 200, path
        assert text in response.get_data(as_text=True), path
