"""The settings page's emails: prompt emails, quiet hours and the coach, whether calsync
sends email at all, and an address the mail server refused."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, time
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from calsync.app import create_app
from calsync.config import Settings
from calsync.db import get_db
from calsync.domain.vocabulary import EmailPrompts, OutboxStatus
from calsync.models import OutboxEntry, User
from calsync.services.prompt_mail import PROMPT_EMAIL
from tests.conftest import csrf_from, login
from tests.web.conftest import load, post

CHOICES = {"email_prompts": "summary", "summary_hour": "16", "quiet_start": "21:30",
           "quiet_end": "06:45", "digest_hour": "9"}  # digest unchecked: not posted
REFUSAL = "550 5.1.1 <ana@acme-sales.com>: Recipient address rejected: User unknown"


def section(html: str) -> str:
    """The settings page's emails card."""
    match = re.search(r'<section class="card" id="notifications">.*?</section>', html, re.S)
    assert match, "no emails card"
    return match.group(0)


def selected(html: str, name: str) -> str:
    """The value of the selected option of select `name`."""
    select = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', html, re.S)
    assert select, name
    [value] = re.findall(r'<option selected value="([^"]*)"', select.group(1))
    return value


def value(html: str, name: str) -> str:
    match = re.search(rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"', html)
    assert match, name
    return match.group(1)


def digest_checked(html: str) -> bool:
    match = re.search(r'<input[^>]*name="digest"[^>]*>', html)
    assert match
    return "checked" in match.group(0)


@pytest.fixture
def mail_client(settings: Settings, user: User) -> Iterator[FlaskClient]:
    """Ana signed in to a calsync that has a mail server (never reached by these tests)."""
    app = create_app(replace(settings, smtp_url="smtp://127.0.0.1:9"))
    client = app.test_client()
    login(client, user.email)
    yield client
    with app.app_context():
        get_db().dispose()


def refuse(app: Flask, user: User) -> None:
    with app.app_context(), get_db().session() as session:
        row = session.get(User, user.id)
        row.email_refused_at = datetime(2026, 11, 30, 9, 15, tzinfo=UTC)
        row.email_refused_reason = REFUSAL
        session.commit()


def test_the_defaults_are_shown(logged_in: FlaskClient) -> None:
    card = section(logged_in.get("/settings").get_data(as_text=True))
    assert selected(card, "email_prompts") == "each"
    assert (value(card, "quiet_start"), value(card, "quiet_end")) == ("20:00", "07:00")
    assert digest_checked(card) and selected(card, "digest_hour") == "8"
    assert "in your time zone, Europe/Berlin" in card
    assert 'type="time"' in card and 'name="csrf_token"' in card


def test_without_smtp_the_page_says_no_email_is_sent(logged_in: FlaskClient,
                                                     mail_client: FlaskClient) -> None:
    assert "calsync sends no email" in section(logged_in.get("/settings").get_data(as_text=True))
    assert 'id="no-email"' not in mail_client.get("/settings").get_data(as_text=True)


def test_saving_the_choices(app: Flask, user: User, logged_in: FlaskClient) -> None:
    response = post(logged_in, "/settings/notifications", CHOICES)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/settings#notifications")
    saved = load(app, User, user.id)
    assert saved.email_prompts is EmailPrompts.SUMMARY and saved.summary_hour == 16
    assert (saved.quiet_start, saved.quiet_end) == (time(21, 30), time(6, 45))
    assert (saved.digest, saved.digest_hour) == (False, 9)
    html = logged_in.get("/settings").get_data(as_text=True)
    assert "Saved your email choices." in html
    card = section(html)
    assert selected(card, "email_prompts") == "summary" and selected(card, "summary_hour") == "16"
    assert (value(card, "quiet_start"), value(card, "quiet_end")) == ("21:30", "06:45")
    assert not digest_checked(card) and selected(card, "digest_hour") == "9"
    post(logged_in, "/settings/notifications", {**CHOICES, "digest": "y"})
    assert load(app, User, user.id).digest is True


def test_the_api_and_the_page_share_the_choices(app: Flask, user: User,
                                                logged_in: FlaskClient, api: Any) -> None:
    post(logged_in, "/settings/notifications", {**CHOICES, "email_prompts": "off"})
    assert api.get("/api/v1/me/notifications").get_json() == {
        "email_prompts": "off", "summary_hour": 16, "quiet_start": "21:30",
        "quiet_end": "06:45", "digest": False, "digest_hour": 9}


@pytest.mark.parametrize(("changes", "shown"), [
    ({"quiet_start": "8pm", "quiet_end": "7"},
     ["Write the time as HH:MM, e.g. 20:00.", "Write the time as HH:MM, e.g. 20:00."]),
    ({"email_prompts": "hourly"}, ["Not a valid choice."]),
    ({"digest_hour": "24"}, ["Not a valid choice."]),
    ({"quiet_end": ""}, ["Give the time your quiet hours end, e.g. 07:00."]),
])
def test_bad_choices_are_shown_beside_their_fields_and_not_saved(
        app: Flask, user: User, logged_in: FlaskClient, changes: dict[str, str],
        shown: list[str]) -> None:
    response = post(logged_in, "/settings/notifications", {**CHOICES, **changes})
    assert response.status_code == 422
    card = section(response.get_data(as_text=True))
    errors = re.findall(r'<p class="error" id="[^"]+">([^<]+)</p>', card)
    assert errors == shown
    for name, typed in changes.items():
        if name.startswith("quiet"):
            assert value(card, name) == typed  # what was typed stays, to be corrected
    saved = load(app, User, user.id)
    assert (saved.email_prompts, saved.quiet_start, saved.digest) == (
        EmailPrompts.EACH, time(20), True)


def test_a_post_without_its_csrf_token_changes_nothing(app: Flask, user: User,
                                                      logged_in: FlaskClient) -> None:
    assert logged_in.post("/settings/notifications", data=CHOICES).status_code == 400
    assert logged_in.post("/settings/notifications/resume").status_code == 400
    assert load(app, User, user.id).email_prompts is EmailPrompts.EACH


def test_signed_out_nothing_is_shown_or_saved(app: Flask, user: User, client: FlaskClient) -> None:
    assert client.get("/settings").status_code == 302
    assert client.post("/settings/notifications", data=CHOICES).status_code == 400  # no CSRF
    token = csrf_from(client.get("/login").get_data(as_text=True))
    response = client.post("/settings/notifications", data={**CHOICES, "csrf_token": token})
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert load(app, User, user.id).email_prompts is EmailPrompts.EACH


def test_a_refused_address_is_shown_and_can_be_cleared(app: Flask, user: User,
                                                       mail_client: FlaskClient) -> None:
    refuse(app, user)
    card = section(mail_client.get("/settings").get_data(as_text=True))
    assert "refused your address, ana@acme-sales.com" in card
    assert "Recipient address rejected: User unknown" in card  # the server's own answer
    assert "Mon 30 Nov" in card  # when, in the user's zone
    response = post(mail_client, "/settings/notifications/resume", follow_redirects=True)
    assert "calsync will email ana@acme-sales.com again." in response.get_data(as_text=True)
    assert 'id="email-refused"' not in section(response.get_data(as_text=True))
    saved = load(app, User, user.id)
    assert (saved.email_refused_at, saved.email_refused_reason) == (None, None)


def mailed(app: Flask, user: User, status: OutboxStatus, error: str | None = None) -> None:
    """A prompt email the outbox finished with: sent, or failed for good with `error`."""
    with app.app_context(), get_db().session() as session:
        session.add(OutboxEntry(user_id=user.id, kind=PROMPT_EMAIL, payload={"prompt_id": 1},
                                status=status, attempts=5, last_error=error))
        session.commit()


def test_the_last_prompt_emails_final_failure_is_shown_until_one_is_sent(
        app: Flask, user: User, mail_client: FlaskClient) -> None:
    assert 'id="email-failed"' not in mail_client.get("/settings").get_data(as_text=True)
    outage = "The mail server did not take the email: 421 4.3.2 Service not available"
    mailed(app, user, OutboxStatus.FAILED, outage)
    card = section(mail_client.get("/settings").get_data(as_text=True))
    assert 'id="email-failed"' in card and "421 4.3.2 Service not available" in card
    mailed(app, user, OutboxStatus.DONE)
    assert 'id="email-failed"' not in mail_client.get("/settings").get_data(as_text=True)
