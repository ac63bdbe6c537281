"""Webhooks below the API: the README's verification snippet accepts calsync's signatures
and refuses old or forged ones; emitting skips webhooks that are off or not subscribed; a
deleted webhook's waiting delivery is dropped; the secret is sealed at rest."""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from calsync.config import Settings
from calsync.db import get_db
from calsync.domain.vocabulary import OutboxStatus, WebhookEvent
from calsync.jobs import effects, outbox
from calsync.jobs.webhooks import signature
from calsync.models import FollowUp, OutboxEntry, User, Webhook, WebhookDelivery
from calsync.services import webhooks
from calsync.web.api.schemas import FollowUpOut
from tests.servers.webhook_receiver import Receiver, verify

README = Path(__file__).parents[1] / "README.md"


def readme_verify() -> Callable[[str, str, bytes], bool]:
    """The `verify` of the README's Webhooks section, run as a receiver would copy it."""
    section = README.read_text().split("## Webhooks", 1)[1].split("\n## ", 1)[0]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code, "the README's Webhooks section has no Python snippet"
    scope: dict[str, Any] = {}
    exec(code.group(1), scope)  # noqa: S102 - our own README's snippet
    return scope["verify"]  # type: ignore[no-any-return]


def test_the_readme_snippet_accepts_calsync_signatures_and_refuses_others() -> None:
    check = readme_verify()
    body = b'{"id":"evt_1","type":"deal.won","created_at":"2026-12-01T10:00:00+00:00","data":{}}'
    now = int(time.time())
    header = signature("whsec_test", now, body)
    assert check("whsec_test", header, body)
    assert verify("whsec_test", header, body) is None  # the tests' receiver agrees
    assert not check("whsec_other", header, body)
    assert not check("whsec_test", header, body.replace(b"deal.won", b"deal.lost"))
    assert not check("whsec_test", signature("whsec_test", now - 301, body), body)
    assert check("whsec_test", signature("whsec_test", now - 200, body), body)
    assert not check("whsec_test", "v1=" + header.partition("v1=")[2], body)


@pytest.fixture
def session(app: Flask) -> Iterator[Session]:
    with app.app_context(), get_db().session() as session:
        yield session


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver(mode="fail") as server:  # nothing is delivered: the rows stay to be read
        yield server


def add(session: Session, settings: Settings, user: User, receiver: Receiver,
        events: list[str]) -> Webhook:
    created = webhooks.create(session, settings, session.get(User, user.id), receiver.url(),
                              events)
    receiver.secret = created.secret
    return created.webhook


def test_emit_skips_webhooks_turned_off_or_not_subscribed(
        session: Session, settings: Settings, user: User, receiver: Receiver) -> None:
    won = add(session, settings, user, receiver, ["deal.won"])
    both = add(session, settings, user, receiver, ["deal.won", "deal.lost"])
    off = add(session, settings, user, receiver, ["deal.won"])
    off.disabled_at = datetime.now(UTC)
    session.commit()
    made = webhooks.emit(session, user.id, WebhookEvent.DEAL_WON, {"deal": {"id": 1}})
    assert sorted(d.webhook_id for d in made) == [won.id, both.id]
    assert len({d.event_id for d in made}) == 1 and made[0].body == made[1].body
    assert webhooks.emit(session, user.id, WebhookEvent.DEAL_LOST, {})[0].webhook_id == both.id
    assert webhooks.emit(session, user.id, WebhookEvent.PROMISE_DELIVERED, {}) == []
    keys = session.scalars(select(OutboxEntry.key).where(OutboxEntry.kind == webhooks.KIND))
    assert sorted(keys) == sorted(f"webhook:{d.id}" for d in
                                  session.scalars(select(WebhookDelivery)))


def test_a_deleted_webhooks_waiting_delivery_is_dropped(
        app: Flask, session: Session, settings: Settings, user: User,
        receiver: Receiver) -> None:
    hook = add(session, settings, user, receiver, ["deal.won"])
    webhooks.emit(session, user.id, WebhookEvent.DEAL_WON, {})
    session.commit()  # tried once at once: the receiver fails it, it waits to retry
    entry = session.scalar(select(OutboxEntry).where(OutboxEntry.kind == webhooks.KIND))
    assert entry is not None and entry.status is OutboxStatus.PENDING
    webhooks.delete_webhook(session, session.get(User, user.id), hook.id)
    assert session.scalars(select(WebhookDelivery)).all() == []
    with get_db().session() as worker:
        done = effects.process(worker, settings, entry.id, now=entry.next_attempt_at)
        assert done is not None and done.status is OutboxStatus.DONE
    assert len(receiver.arrivals) == 1  # only the first try, before the delete


def test_the_secret_is_sealed_at_rest_and_unsealed_only_to_sign(
        session: Session, settings: Settings, user: User, receiver: Receiver) -> None:
    hook = add(session, settings, user, receiver, ["deal.won"])
    assert receiver.secret not in hook.secret_sealed
    assert webhooks.secret_of(settings, hook) == receiver.secret


def failed_once(session: Session, settings: Settings, user: User,
                receiver: Receiver) -> tuple[OutboxEntry, WebhookDelivery]:
    """A deal.won delivery to a receiver that answers 500: tried once, waiting to retry."""
    add(session, settings, user, receiver, ["deal.won"])
    webhooks.emit(session, user.id, WebhookEvent.DEAL_WON, {})
    session.commit()  # the first attempt fails at once
    entry = session.scalar(select(OutboxEntry).where(OutboxEntry.kind == webhooks.KIND))
    delivery = session.scalar(select(WebhookDelivery))
    assert entry is not None and delivery is not None
    return entry, delivery


def test_a_failing_delivery_is_retried_for_days_with_growing_waits(
        app: Flask, session: Session, settings: Settings, user: User,
        receiver: Receiver) -> None:
    entry, _delivery = failed_once(session, settings, user, receiver)
    waits = []
    for _ in range(outbox.MAX_ATTEMPTS + 2):  # past the outbox's own limit of attempts
        session.refresh(entry)
        at = entry.next_attempt_at
        with get_db().session() as worker:
            done = effects.process(worker, settings, entry.id, now=at)
            assert done is not None and done.status is OutboxStatus.PENDING
            waits.append(done.next_attempt_at - at)
    assert waits[-1] > timedelta(hours=4)  # every few hours by now, not every minute
    assert all(later > earlier for earlier, later in itertools.pairwise(waits[:6]))


def test_a_delivery_failing_for_days_while_others_get_through_says_it_stopped(
        app: Flask, session: Session, settings: Settings, user: User,
        receiver: Receiver) -> None:
    entry, delivery = failed_once(session, settings, user, receiver)
    delivery.created_at -= timedelta(days=settings.webhook_disable_days)
    session.commit()
    with get_db().session() as worker:
        done = effects.process(worker, settings, entry.id, now=entry.next_attempt_at)
        assert done is not None and done.status is OutboxStatus.FAILED
    session.refresh(delivery)
    assert delivery.error == ("127.0.0.1 answered HTTP 500. calsync stopped trying after 2 "
                              "attempts over 3 days; Redeliver sends it again.")


def test_a_webhook_s_follow_up_has_the_api_s_fields_but_the_write() -> None:
    """A CRM reads the same follow-up in a webhook as from GET /api/v1/followups, except
    what isn't known when the event is sent (its calendar write) and how a promise was kept
    (in `promise.delivered`)."""
    now = datetime(2026, 12, 2, 9, tzinfo=UTC)
    sent = webhooks.followup_data(FollowUp(id=1, deal_id=2, summary="s", start=now, end=now,
                                           channel="email", note="", status="planned"))
    assert set(FollowUpOut.model_fields) - set(sent) == {"write_status", "remote_event_id",
                                                         "promise_timing"}
    assert set(sent) <= set(FollowUpOut.model_fields)
