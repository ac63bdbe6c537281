"""Outgoing webhooks, for CRMs: a user's addresses that receive calsync's events, each
event recorded as a delivery (its exact body, its stable id) and an outbox entry in the
transaction of the change, then POSTed, signed, by calsync.jobs.webhooks.

The secret that signs a webhook's deliveries is sealed at rest and shown once, when the
webhook is created; nothing logs it, nor the signature made with it.
"""

from __future__ import annotations

import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, selectinload

from calsync import crypto
from calsync.config import Settings
from calsync.domain.vocabulary import (
    DealStatus,
    FollowUpStatus,
    OutboxStatus,
    PromiseTiming,
    WebhookEvent,
)
from calsync.errors import NotFound, ValidationFailed
from calsync.jobs import outbox, queue
from calsync.models import (
    Deal,
    FollowUp,
    OutboxEntry,
    Prompt,
    User,
    Webhook,
    WebhookAttempt,
    WebhookDelivery,
)
from calsync.net.addresses import is_public_address
from calsync.net.guarded_http import resolve
from calsync.services import paging

KIND = "post_webhook"  # the outbox entries that POST a delivery (calsync.jobs.webhooks)
MAX_WEBHOOKS = 10  # a user's webhooks: enough for a CRM or two, not a fan-out service
RESOLVE_SECONDS = 5.0  # most the check of a new webhook's host may take


@dataclass(frozen=True)
class Created:
    """A new webhook and its secret, whose plaintext exists only in this answer."""

    webhook: Webhook
    secret: str


def create(session: Session, settings: Settings, user: User, url: str,
           events: list[str]) -> Created:
    """Add a webhook receiving `events` at `url`; commits. ValidationFailed names `url`
    (not http(s), no host, unknown host, a private or local address) or `events`."""
    url = check_url(settings, url)
    chosen = check_events(events)
    count = len(list_webhooks(session, user))
    if count >= MAX_WEBHOOKS:
        raise ValidationFailed("url", f"you have {count} webhooks, the most calsync keeps: "
                                      "delete one first.")
    secret = "whsec_" + secrets.token_urlsafe(32)
    webhook = Webhook(user_id=user.id, url=url, events=chosen,
                      secret_sealed=crypto.seal(settings, {"secret": secret}))
    session.add(webhook)
    session.commit()
    return Created(webhook, secret)


def check_url(settings: Settings, url: str) -> str:
    """The URL as stored, or ValidationFailed("url", why not): calsync POSTs only to
    http(s) addresses on the public internet (the fetch's SSRF guard checks again at each
    delivery, as the host's addresses may change)."""
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        raise ValidationFailed("url", "use an https:// (or http://) address.")
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        raise ValidationFailed("url", "the address's port is not a number from 0 to "
                                      "65535.") from None
    if not host:
        raise ValidationFailed("url", "the address has no host name.")
    if len(url) > 2048:
        raise ValidationFailed("url", "keep the address to 2048 characters or fewer.")
    if settings.allow_private_urls:
        return url
    try:
        infos = resolve(host, port or (443 if parts.scheme.lower() == "https" else 80),
                        RESOLVE_SECONDS)
    except (OSError, UnicodeError):
        raise ValidationFailed("url", f"the host name {host} could not be found.") from None
    for info in infos:
        address = str(info[4][0])
        if not is_public_address(address):
            shown = address if address == host.strip("[]") else f"{host} is {address}"
            raise ValidationFailed("url", "calsync does not send webhooks to private or local "
                                          f"addresses ({shown}).")
    return url


def check_events(events: list[str]) -> list[str]:
    """The events as stored (in the vocabulary's order), or ValidationFailed("events")."""
    known = {event.value for event in WebhookEvent}
    unknown = [event for event in events if event not in known]
    if unknown:
        raise ValidationFailed("events", f"unknown event {unknown[0]!r}: use "
                                         f"{', '.join(known_events())}.")
    if not events:
        raise ValidationFailed("events", "choose at least one event.")
    return [event for event in known_events() if event in events]


def known_events() -> list[str]:
    return [event.value for event in WebhookEvent]


def list_webhooks(session: Session, user: User) -> list[Webhook]:
    """The user's webhooks, oldest first."""
    return list(session.scalars(select(Webhook).where(Webhook.user_id == user.id)
                                .order_by(Webhook.id)))


def get_webhook(session: Session, user: User, webhook_id: int) -> Webhook:
    webhook = session.get(Webhook, webhook_id)
    if webhook is None or webhook.user_id != user.id:
        raise NotFound("No such webhook, or it is not yours.")
    return webhook


def delete_webhook(session: Session, user: User, webhook_id: int) -> None:
    """Stop sending to a webhook and forget its deliveries; commits. Deliveries still
    waiting find nothing to send."""
    webhook = get_webhook(session, user, webhook_id)
    session.execute(delete(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook.id))
    session.delete(webhook)
    session.commit()


def list_deliveries(session: Session, user: User, webhook_id: int, *, limit: int | None,
                    after: list[Any] | None = None) -> paging.Paged[WebhookDelivery]:
    """A webhook's deliveries, newest first, each with its attempts: `limit` after the key
    `after` (a cursor's)."""
    webhook = get_webhook(session, user, webhook_id)
    query = (select(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook.id)
             .options(selectinload(WebhookDelivery.attempt_log)))
    return paging.page(session, query, order=[WebhookDelivery.created_at, WebhookDelivery.id],
                       descending=True, limit=limit, after=after)


def deliveries_by_webhook(session: Session, user: User,
                          limit: int = 5) -> dict[int, list[WebhookDelivery]]:
    """Each of the user's webhooks' last few deliveries, for the settings page."""
    return {webhook.id: list_deliveries(session, user, webhook.id, limit=limit).items
            for webhook in list_webhooks(session, user)}


def redeliver(session: Session, user: User, webhook_id: int,
              delivery_id: int) -> WebhookDelivery:
    """Send a delivery again, now, with the same body and id; commits, then queues it. A
    person asking for it turns a disabled webhook back on."""
    webhook = get_webhook(session, user, webhook_id)
    delivery = session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.webhook_id != webhook.id:
        raise NotFound("No such delivery of this webhook.")
    webhook.disabled_at = webhook.disabled_reason = webhook.failing_since = None
    entry = session.scalar(select(OutboxEntry).where(OutboxEntry.key == _key(delivery)))
    if entry is None:  # never happens for a delivery calsync recorded; kept safe anyway
        entry = outbox.record_once(session, _key(delivery), user_id=user.id, kind=KIND,
                                   payload={"delivery_id": delivery.id})
    elif entry.status is not OutboxStatus.PENDING or entry.next_attempt_at > datetime.now(UTC):
        outbox.retry(session, entry)
    session.commit()
    queue.enqueue("process_outbox", entry.id)
    session.refresh(delivery)  # the queue may have sent it already, in its own session
    return delivery


def emit(session: Session, user_id: int, event: WebhookEvent,
         data: dict[str, Any]) -> list[WebhookDelivery]:
    """Record `event` for each of the user's enabled webhooks subscribed to it: a delivery
    with its body fixed now (the same id and bytes on every attempt) and its outbox entry.
    Part of the caller's unit of work (the change and its deliveries commit together)."""
    subscribed = [webhook for webhook in session.scalars(
        select(Webhook).where(Webhook.user_id == user_id, Webhook.disabled_at.is_(None)))
        if event.value in webhook.events]
    if not subscribed:
        return []
    now = datetime.now(UTC)
    event_id = f"evt_{uuid.uuid4().hex}"
    body = json.dumps({"id": event_id, "type": event.value, "created_at": _time(now),
                       "data": data}, ensure_ascii=False, separators=(",", ":"))
    made = [WebhookDelivery(webhook_id=webhook.id, event_id=event_id, type=event.value,
                            body=body, created_at=now, attempts=0) for webhook in subscribed]
    session.add_all(made)
    session.flush()
    for delivery, webhook in zip(made, subscribed, strict=True):
        outbox.record_once(session, _key(delivery), user_id=webhook.user_id, kind=KIND,
                           payload={"delivery_id": delivery.id})
    return made


def _key(delivery: WebhookDelivery) -> str:
    return f"webhook:{delivery.id}"


def webhook_of_entry(session: Session, entry_id: int) -> int | None:
    """The webhook an outbox entry delivers to; None for another kind of entry, or when
    its webhook is gone (the entry then finds nothing to send)."""
    entry = session.get(OutboxEntry, entry_id)
    if entry is None or entry.kind != KIND:
        return None
    return session.scalar(select(WebhookDelivery.webhook_id)
                          .where(WebhookDelivery.id == entry.payload.get("delivery_id")))


# What each change sends. Reading the rows, not the API's serialisers: services don't
# import the web layer; the names are the API's (FollowUpOut, DealOut).


def followup_changed(session: Session, followup: FollowUp) -> None:
    """`followup.created`, `.updated` or `.cancelled` for a follow-up that just changed:
    created while its SEQUENCE is still 0 (every later change of it counts one up).
    Part of the caller's unit of work."""
    if followup.id is None:
        session.flush()  # the CRM is told its id
    if followup.status is FollowUpStatus.CANCELLED:
        event = WebhookEvent.FOLLOWUP_CANCELLED
    elif followup.sequence == 0:
        event = WebhookEvent.FOLLOWUP_CREATED
    else:
        event = WebhookEvent.FOLLOWUP_UPDATED
    emit(session, followup.user_id, event,
         {"followup": followup_data(followup), "deal": deal_data(followup.deal)})


def answer_recorded(session: Session, prompt: Prompt) -> None:
    """`outcome.recorded` for an answer. Part of the caller's unit of work."""
    deal = prompt.deal
    followup = prompt.planned_followup
    emit(session, prompt.user_id, WebhookEvent.OUTCOME_RECORDED, {
        "prompt_id": prompt.id, "outcome": prompt.outcome, "note": prompt.note,
        "no_reason": prompt.no_reason, "answered_at": _time(prompt.answered_at),
        "meeting": ({"id": prompt.meeting.id, "title": prompt.meeting.title}
                    if prompt.meeting is not None else None),
        "deal": deal_data(deal) if deal is not None else None,
        "followup": (followup_data(followup) if followup is not None
                     and followup.status is not FollowUpStatus.CANCELLED else None)})


def deal_closed(session: Session, deal: Deal, deciding: Prompt) -> None:
    """`deal.won` or `deal.lost` for a deal that just closed, with the answer that closed it
    (an answer just given, or a touch moved in from another deal). Part of the caller's
    unit of work."""
    event = WebhookEvent.DEAL_WON if deal.status is DealStatus.WON else WebhookEvent.DEAL_LOST
    emit(session, deal.user_id, event, {
        "deal": deal_data(deal), "prompt_id": deciding.id, "outcome": deciding.outcome,
        "note": deciding.note, "no_reason": deciding.no_reason})


def deal_reopened(session: Session, deal: Deal, was: DealStatus) -> None:
    """`deal.reopened` for a deal that was won or lost and is open again (an answer changed
    or moved away, a revisit answered with a next step), so a CRM that heard `deal.won` or
    `deal.lost` follows. Part of the caller's unit of work."""
    emit(session, deal.user_id, WebhookEvent.DEAL_REOPENED,
         {"deal": deal_data(deal), "previous_status": was})


def promise_delivered(session: Session, followup: FollowUp, timing: PromiseTiming) -> None:
    """`promise.delivered` once what a promise follow-up promised was delivered, with how
    it was kept (`promise_timing`: early, on_time, late). Part of the caller's unit of
    work."""
    emit(session, followup.user_id, WebhookEvent.PROMISE_DELIVERED,
         {"followup": {**followup_data(followup), "promise_timing": timing},
          "deal": deal_data(followup.deal)})


def followup_data(followup: FollowUp) -> dict[str, Any]:
    """A follow-up as the API shows it, less its write to the calendar (not yet done when
    the event is sent) and how a promise was kept (in `promise.delivered`)."""
    return {"id": followup.id, "deal_id": followup.deal_id, "summary": followup.summary,
            "start": _time(followup.start), "end": _time(followup.end),
            "channel": followup.channel, "kind": followup.kind, "status": followup.status,
            "note": followup.note, "value_note": followup.value_note,
            "promise_due": _time(followup.promise_due),
            "delivered_at": _time(followup.delivered_at),
            "cancel_reason": followup.cancel_reason,
            "booked_meeting_id": followup.booked_meeting_id}


def deal_data(deal: Deal) -> dict[str, Any]:
    return {"id": deal.id, "name": deal.name, "status": deal.status,
            "counterpart": deal.counterpart, "closed_at": _time(deal.closed_at)}


def _time(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment is not None else None


# A delivery's attempts, as calsync.jobs.webhooks makes them.


def secret_of(settings: Settings, webhook: Webhook) -> str:
    """The webhook's signing secret, unsealed for one delivery; never log it."""
    return str(crypto.unseal(settings, webhook.secret_sealed)["secret"])


def attempted(settings: Settings, webhook: Webhook, delivery: WebhookDelivery, *,
              status_code: int | None, duration_ms: int, error: str | None,
              now: datetime) -> bool:
    """Log an attempt on its delivery and its webhook; True when the webhook was disabled
    by it: every attempt has failed for CALSYNC_WEBHOOK_DISABLE_DAYS. Part of the
    caller's unit of work."""
    delivery.attempts += 1
    delivery.status_code, delivery.duration_ms, delivery.error = status_code, duration_ms, error
    delivery.attempt_log.append(WebhookAttempt(at=now, status_code=status_code,
                                               duration_ms=duration_ms, error=error))
    if error is None:
        delivery.delivered_at = now
        webhook.failing_since = None
        return False
    webhook.failing_since = webhook.failing_since or now
    limit = timedelta(days=settings.webhook_disable_days)
    if now - webhook.failing_since < limit or webhook.disabled_at is not None:
        return False
    webhook.disabled_at = now
    days = settings.webhook_disable_days
    plural = "s" if days != 1 else ""
    webhook.disabled_reason = (f"Every delivery failed for {days} day{plural} (the last: "
                               f"{error.rstrip('.')}). Redeliver one to turn it back on.")
    return True


NOT_RETRIED = "Not retried: the webhook was disabled."


def held_back(delivery: WebhookDelivery) -> None:
    """Say on a delivery that its webhook, disabled, keeps it from being sent: "Not sent"
    before any attempt, else after its last attempt's error, which stays as it was (as do
    its status code and duration). Part of the caller's unit of work."""
    if delivery.attempts == 0:
        delivery.error = "Not sent: the webhook was disabled."
    elif not (delivery.error or "").endswith(NOT_RETRIED):  # a crash may run this twice
        delivery.error = f"{delivery.error} {NOT_RETRIED}" if delivery.error else NOT_RETRIED
