"""Performs `post_webhook` outbox entries: POSTs a delivery's body, signed, to its webhook
through the SSRF-guarded connection, within CALSYNC_WEBHOOK_TIMEOUT_SECONDS.

A 2xx answer delivers it; anything else is a failed attempt, logged on the delivery
(status code, duration, error) and committed before the outbox retries it: sooner at
first, then every few hours, for CALSYNC_WEBHOOK_DISABLE_DAYS, as a CRM may be down a day.
The secret and the signature are never logged, nor kept anywhere but the request.
"""

from __future__ import annotations

import hashlib
import hmac
import random
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy.orm import Session
from urllib3.exceptions import HTTPError

from calsync.config import Settings
from calsync.domain.backoff import backoff
from calsync.errors import CalsyncError
from calsync.models import OutboxEntry, Webhook, WebhookDelivery
from calsync.net.guarded_http import Exchange, RefusedAddress
from calsync.services import webhooks

KIND = webhooks.KIND
USER_AGENT = "calsync-webhooks/1"
ANSWER_BYTES = 4096  # of a receiver's answer read (and dropped): it only has to say 2xx
# A failed delivery waits 30 s, then twice as long after each failure, up to 6 hours:
# about twenty attempts over the three days before its webhook is disabled.
FIRST_RETRY = timedelta(seconds=30)
LAST_RETRY = timedelta(hours=6)


class DeliveryFailed(CalsyncError):
    """An attempt that did not deliver; the outbox tries again after `next_try` (the
    webhook's own schedule, in place of the outbox's), or never when it is None."""

    def __init__(self, message: str, next_try: timedelta | None) -> None:
        super().__init__(message)
        self.transient = next_try is not None
        self.next_try = next_try


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The Calsync-Signature header: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def deliver(session: Session, settings: Settings, entry: OutboxEntry) -> None:
    """POST the entry's delivery once; its attempt is committed whatever happens, then a
    failure raises DeliveryFailed so the outbox retries (or not, once disabled)."""
    delivery = session.get(WebhookDelivery, entry.payload.get("delivery_id"))
    webhook = session.get(Webhook, delivery.webhook_id) if delivery is not None else None
    if delivery is None or webhook is None:
        return  # the webhook was deleted since: nobody left to tell
    if webhook.disabled_at is not None:
        webhooks.held_back(delivery)
        return
    body = delivery.body.encode()
    started = time.monotonic()
    status, error = _post(settings, webhook.url, body, webhooks.secret_of(settings, webhook))
    duration_ms = round((time.monotonic() - started) * 1000)
    now = datetime.now(UTC)
    disabled = webhooks.attempted(settings, webhook, delivery, status_code=status,
                                  duration_ms=duration_ms, error=error, now=now)
    if error is None:
        session.commit()
        return
    retry_in = None if disabled else next_try(settings, delivery, now)
    if disabled:
        webhooks.held_back(delivery)
    elif retry_in is None:
        # This delivery alone keeps failing (others get through): say so where people look.
        delivery.error = (f"{error} calsync stopped trying after {delivery.attempts} attempts "
                          f"over {settings.webhook_disable_days} days; Redeliver sends it "
                          "again.")
    session.commit()  # the attempt's log outlives the failure the outbox rolls back
    raise DeliveryFailed(error, retry_in)


def next_try(settings: Settings, delivery: WebhookDelivery, now: datetime) -> timedelta | None:
    """How long a delivery that just failed waits before its next attempt, with jitter so a
    receiver coming back isn't hit by every delivery at once; None once it has been tried
    for CALSYNC_WEBHOOK_DISABLE_DAYS (counted from its event)."""
    if now - delivery.created_at >= timedelta(days=settings.webhook_disable_days):
        return None
    wait = backoff(delivery.attempts, FIRST_RETRY, LAST_RETRY)
    return wait * random.uniform(0.8, 1.2)  # noqa: S311 - jitter, not a secret


def _post(settings: Settings, url: str, body: bytes, secret: str) -> tuple[int | None, str | None]:
    """(status code, None) for a 2xx answer, else (status code or None, why it failed)."""
    parts = urlsplit(url)
    host = parts.hostname or url
    seconds = settings.webhook_timeout_seconds
    late = f"No answer from {host} within {seconds} second{'s' if seconds != 1 else ''}."
    exchange = Exchange(seconds, guard=not settings.allow_private_urls)
    target = urlunsplit(("", "", parts.path or "/", parts.query, ""))
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT,
               "Calsync-Signature": signature(secret, int(time.time()), body)}
    try:
        with exchange.pool(parts.scheme, host, parts.port) as pool:
            response = pool.urlopen("POST", target, body=body, headers=headers, redirect=False,
                                    retries=False, preload_content=False,
                                    assert_same_host=False, timeout=exchange.timeout())
            try:
                response.read(ANSWER_BYTES)
            finally:
                response.close()
                response.release_conn()
    except RefusedAddress as refused:
        return None, f"Refused: {refused.shown} is a private or local address."
    except (HTTPError, OSError) as failure:
        if exchange.expired or "timed out" in str(failure).lower():
            return None, late
        return None, f"Could not reach {host} ({type(failure).__name__})."
    if exchange.expired:
        return None, late
    if 200 <= response.status < 300:
        return response.status, None
    return response.status, f"{host} answered HTTP {response.status}."
