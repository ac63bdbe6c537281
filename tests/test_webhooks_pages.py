"""The settings page's webhooks section: add one and see its secret once, refusals beside
their fields, the last deliveries, redeliver, a disabled webhook saying why, delete."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from calsync.db import get_db
from calsync.domain.vocabulary import WebhookEvent
from calsync.models import User, Webhook
from calsync.services import webhooks
from tests.servers.webhook_receiver import Receiver
from tests.web.conftest import load, post, query


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as server:
        yield server


def add(client: FlaskClient, receiver: Receiver, events: list[str]) -> str:
    """Add a webhook through the page; its secret, read from the page it lands on."""
    response = post(client, "/settings/webhooks", {"url": receiver.url(), "events": events})
    assert response.status_code == 302, response.get_data(as_text=True)
    assert response.headers["Location"].endswith("/settings#new-webhook-box")
    html = client.get("/settings").get_data(as_text=True)
    found = re.search(r'id="new-webhook-secret">([^<]+)<', html)
    assert found, "the new secret is not on the page"
    receiver.secret = found.group(1)
    return receiver.secret


def emit(app: Flask, user: User, event: WebhookEvent) -> None:
    with app.app_context(), get_db().session() as session:
        webhooks.emit(session, user.id, event, {"deal": {"id": 1, "name": "Acme"}})
        session.commit()  # the inline queue delivers it now


def test_a_webhook_is_added_and_its_secret_shown_once(app: Flask, user: User,
                                                      logged_in: FlaskClient,
                                                      receiver: Receiver) -> None:
    secret = add(logged_in, receiver, ["deal.won", "outcome.recorded"])
    assert secret.startswith("whsec_")
    again = logged_in.get("/settings").get_data(as_text=True)
    assert secret not in again and 'id="new-webhook-box"' not in again
    assert receiver.url() in again
    assert "Sends: An outcome is recorded, a deal is won." in again
    (row,) = query(app, select(Webhook))
    assert row.events == ["outcome.recorded", "deal.won"] and secret not in row.secret_sealed


def test_refusals_are_shown_beside_their_fields_keeping_what_was_typed(
        app: Flask, logged_in: FlaskClient) -> None:
    response = post(logged_in, "/settings/webhooks",
                    {"url": "ftp://crm.example/hook", "events": ["deal.won"]})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="url-error">Use an https:// (or http://) address.' in html
    assert 'value="ftp://crm.example/hook"' in html and 'href="#url"' in html
    response = post(logged_in, "/settings/webhooks", {"url": "https://crm.example/hook"})
    assert response.status_code == 422
    assert 'id="events-error">Choose at least one event.' in response.get_data(as_text=True)
    assert query(app, select(Webhook)) == []


def test_deliveries_are_listed_and_one_is_redelivered(app: Flask, user: User,
                                                      logged_in: FlaskClient,
                                                      receiver: Receiver) -> None:
    add(logged_in, receiver, ["deal.won"])
    receiver.mode = "fail"
    emit(app, user, WebhookEvent.DEAL_WON)
    emit(app, user, WebhookEvent.DEAL_LOST)  # not subscribed: never sent
    html = logged_in.get("/settings").get_data(as_text=True)
    assert "127.0.0.1 answered HTTP 500." in html and "<code>deal.lost</code>" not in html
    # A failed one shows what the receiver answered and how long it took, as a sent one does.
    assert re.search(r'answered HTTP 500\.</span> <span class="meta">\(HTTP 500, \d+ ms\)', html)
    assert "Every delivery since" in html
    (row,) = query(app, select(Webhook))
    delivery_id = re.search(r'id="delivery-(\d+)"', html).group(1)  # type: ignore[union-attr]

    receiver.mode = "ok"
    response = post(logged_in, f"/settings/webhooks/{row.id}/deliveries/{delivery_id}/redeliver",
                    follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "Sending it again, with the same body and id" in html
    assert "delivered (HTTP 204" in html and "2 attempts</summary>" in html
    attempts = re.search(r'<details class="attempts">.*?</details>', html, re.S)
    assert attempts and re.findall(r"\(HTTP (\d+), \d+ ms\) · ([^<]*)</li>",
                                   attempts.group(0)) == [("500", "127.0.0.1 answered HTTP 500."),
                                                          ("204", "delivered")]
    assert "Every delivery since" not in html
    assert [event["type"] for event in receiver.received] == ["deal.won"]
    assert receiver.problems == []


def test_a_disabled_webhook_says_why(app: Flask, user: User, logged_in: FlaskClient,
                                     receiver: Receiver) -> None:
    add(logged_in, receiver, ["deal.won"])
    (row,) = query(app, select(Webhook))
    with app.app_context(), get_db().session() as session:
        hook = session.get(Webhook, row.id)
        assert hook is not None
        hook.failing_since = datetime.now(UTC) - timedelta(days=4)
        session.commit()
    receiver.mode = "fail"
    emit(app, user, WebhookEvent.DEAL_WON)  # fails once more, past the limit
    html = logged_in.get("/settings").get_data(as_text=True)
    assert "Turned off" in html
    assert "Every delivery failed for 3 days (the last: 127.0.0.1 answered HTTP 500)" in html
    assert ("127.0.0.1 answered HTTP 500. Not retried: the webhook was disabled.</span> "
            '<span class="meta">(HTTP 500,') in html
    assert load(app, Webhook, row.id).disabled_at is not None


def test_delete_stops_it_and_another_users_webhook_is_not_found(
        app: Flask, logged_in: FlaskClient, make_user, receiver: Receiver) -> None:  # type: ignore[no-untyped-def]
    other = make_user("bo@rival-sales.com")
    with app.app_context(), get_db().session() as session:
        theirs = webhooks.create(session, app.extensions["calsync.settings"],
                                 session.get(User, other.id), receiver.url(), ["deal.won"])
        theirs_id = theirs.webhook.id
    assert post(logged_in, f"/settings/webhooks/{theirs_id}/delete").status_code == 404
    assert load(app, Webhook, theirs_id) is not None
    add(logged_in, receiver, ["deal.won"])
    mine = [row for row in query(app, select(Webhook)) if row.id != theirs_id]
    response = post(logged_in, f"/settings/webhooks/{mine[0].id}/delete", follow_redirects=True)
    assert "Deleted the webhook." in response.get_data(as_text=True)
    assert [row.id for row in query(app, select(Webhook))] == [theirs_id]
