"""Webhooks, for CRMs: where calsync POSTs its events, signed, and the log of what it sent."""

from __future__ import annotations

from typing import TYPE_CHECKING

from calsync.db import get_session
from calsync.services import webhooks
from calsync.web import current_settings
from calsync.web.api.bodies import Page, WebhookIn
from calsync.web.api.pagination import decode, encode
from calsync.web.api.registry import api_user, route
from calsync.web.api.schemas import (
    WebhookAttemptOut,
    WebhookCreatedOut,
    WebhookDeliveryList,
    WebhookDeliveryOut,
    WebhookList,
    WebhookOut,
)

if TYPE_CHECKING:
    from calsync.models import Webhook, WebhookDelivery


@route("/webhooks", "GET", response=WebhookList)
def list_webhooks() -> WebhookList:
    """Your webhooks, oldest first (never their secrets)."""
    return WebhookList(items=[webhook_out(row)
                              for row in webhooks.list_webhooks(get_session(), api_user())])


@route("/webhooks", "POST", response=WebhookCreatedOut, status=201, body=WebhookIn)
def create_webhook(body: WebhookIn) -> WebhookCreatedOut:
    """Send `events` to `url`: answers with the webhook and its `secret`, shown only now.

    Each delivery is a POST of `{"id", "type", "created_at", "data"}` with the header
    `Calsync-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
    422 names `url` (not http(s), unknown host, a private or local address) or `events`
    (none, or one calsync does not send).
    """
    created = webhooks.create(get_session(), current_settings(), api_user(), body.url,
                              body.events)
    return WebhookCreatedOut(**webhook_out(created.webhook).model_dump(), secret=created.secret)


@route("/webhooks/<int:webhook_id>", "DELETE", response=None)
def delete_webhook(webhook_id: int) -> None:
    """Stop sending to a webhook and forget its deliveries."""
    webhooks.delete_webhook(get_session(), api_user(), webhook_id)


@route("/webhooks/<int:webhook_id>/deliveries", "GET", response=WebhookDeliveryList,
       query=Page)
def list_deliveries(webhook_id: int, query: Page) -> WebhookDeliveryList:
    """A webhook's deliveries, newest first: each body sent, its last attempt and each
    attempt (`attempt_log`)."""
    found = webhooks.list_deliveries(get_session(), api_user(), webhook_id, limit=query.limit,
                                     after=decode(query.cursor, "deliveries"))
    return WebhookDeliveryList(items=[delivery_out(row) for row in found.items],
                               next_cursor=encode("deliveries", found.next_key))


@route("/webhooks/<int:webhook_id>/deliveries/<int:delivery_id>/redeliver", "POST",
       response=WebhookDeliveryOut, status=202)
def redeliver(webhook_id: int, delivery_id: int) -> WebhookDeliveryOut:
    """Queue a delivery to be sent again at once, with the same body and event id: 202.

    The answer is the delivery as it stands when the attempt is queued, so usually still
    with the previous attempt's `attempts`, `status_code` and `error`: the new attempt is
    made by a worker a moment later, and GET .../deliveries shows how it went (a new entry
    in `attempt_log`). A disabled webhook is turned back on by it.
    """
    return delivery_out(webhooks.redeliver(get_session(), api_user(), webhook_id,
                                           delivery_id))


def webhook_out(webhook: Webhook) -> WebhookOut:
    return WebhookOut(id=webhook.id, url=webhook.url, events=list(webhook.events),
                      created_at=webhook.created_at, failing_since=webhook.failing_since,
                      disabled_at=webhook.disabled_at, disabled_reason=webhook.disabled_reason)


def delivery_out(delivery: WebhookDelivery) -> WebhookDeliveryOut:
    return WebhookDeliveryOut(
        id=delivery.id, event_id=delivery.event_id, type=delivery.type, body=delivery.body,
        created_at=delivery.created_at, attempts=delivery.attempts,
        status_code=delivery.status_code, duration_ms=delivery.duration_ms,
        error=delivery.error, delivered_at=delivery.delivered_at,
        attempt_log=[WebhookAttemptOut(at=attempt.at, status_code=attempt.status_code,
                                       duration_ms=attempt.duration_ms, error=attempt.error)
                     for attempt in delivery.attempt_log])
