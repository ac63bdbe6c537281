"""Graph change notifications for a Microsoft source, calsync served on a loopback port so
the emulator's subscriptions reach its webhook: the validation handshake, a change synced,
clientState checked, lifecycle notifications, renewal before expiry, and polling kept when
a subscription can't be had."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from calsync import crypto
from calsync.config import Settings
from calsync.db import get_db
from calsync.emulator.microsoft import MicrosoftEmulator
from calsync.jobs import effects
from calsync.models import Meeting, OutboxEntry, PushChannel, Source
from calsync.services.google import channels
from calsync.services.google import connections as google_connections
from calsync.services.microsoft import connections
from tests.google.conftest import eventually
from tests.microsoft.mscal import hour, timed, tokens
from tests.servers.live_app import LiveServer
from tests.servers.microsoft import EMAIL


@pytest.fixture
def live() -> Iterator[LiveServer]:
    server = LiveServer()
    yield server
    server.stop()


@pytest.fixture
def settings(settings: Settings, live: LiveServer) -> Settings:
    return dataclasses.replace(settings, base_url=live.url, microsoft_webhooks="on")


@pytest.fixture
def served(app: Flask, live: LiveServer, emulator: MicrosoftEmulator) -> Iterator[LiveServer]:
    live.serve(app)
    yield live
    # A notification's sync may still be talking to Graph: let it finish before Graph goes
    # (cut off mid-request, its TLS socket would be left for the garbage collector).
    with live.idle:
        live.idle.wait_for(lambda: live.busy == 0, timeout=10)
    emulator.stop()  # its deliveries finish while calsync still answers
    live.stop()


def titles(app: Flask) -> set[str]:
    with app.app_context(), get_db().session() as session:
        return set(session.scalars(select(Meeting.title)))


def live_channels(app: Flask) -> list[PushChannel]:
    with app.app_context(), get_db().session() as session:
        rows = list(session.scalars(select(PushChannel).where(PushChannel.stopped_at.is_(None))))
        session.expunge_all()
        return rows


def subscribe(db_session: Session, settings: Settings, source: Source) -> None:
    connections.start_syncing(db_session, settings, source)


def test_a_change_in_outlook_arrives_by_notification(
        app: Flask, served: LiveServer, db_session: Session, settings: Settings,
        emulator: MicrosoftEmulator, microsoft_source: Source) -> None:
    subscribe(db_session, settings, microsoft_source)
    [channel] = live_channels(app)
    assert emulator.subscription_ids() == [channel.resource_id]
    validations = [d for d in emulator.deliveries if d.kind == "validation"]
    assert len(validations) == 2  # the change URL and the lifecycle URL, each echoed
    assert all(d.status == 200 and d.answer for d in validations)
    assert channel.expires_at is not None
    assert channel.expires_at > datetime.now(UTC) + timedelta(hours=47)

    emulator.add_event(emulator.calendar_ids(EMAIL)[0], timed(hour(1), subject="Pushed call"))
    eventually(lambda: "Pushed call" in titles(app))
    [change] = [d for d in emulator.wait_for_deliveries(3) if d.kind == "change"]
    assert change.status == 202


def test_a_notification_without_its_client_state_does_nothing(
        app: Flask, served: LiveServer, db_session: Session, settings: Settings,
        emulator: MicrosoftEmulator, microsoft_source: Source) -> None:
    subscribe(db_session, settings, microsoft_source)
    [channel] = live_channels(app)
    emulator.add_event(emulator.calendar_ids(EMAIL)[0], timed(hour(1), subject="Quiet"))
    client = app.test_client()
    forged = {"value": [{"subscriptionId": channel.resource_id, "clientState": "guessed",
                         "changeType": "created"}]}
    before = len(emulator.requests)
    assert client.post("/webhooks/microsoft", json=forged).status_code == 202
    assert client.post("/webhooks/microsoft", data=b"not json").status_code == 202
    assert len(emulator.requests) == before and "Quiet" not in titles(app)
    echoed = client.post("/webhooks/microsoft?validationToken=a%20token%3Cx%3E")
    assert echoed.status_code == 200 and echoed.mimetype == "text/plain"
    assert echoed.get_data(as_text=True) == "a token<x>"


def test_lifecycle_notifications(app: Flask, served: LiveServer, db_session: Session,
                                 settings: Settings, emulator: MicrosoftEmulator,
                                 microsoft_source: Source) -> None:
    subscribe(db_session, settings, microsoft_source)
    [first] = live_channels(app)
    assert emulator.lifecycle(str(first.resource_id), "reauthorizationRequired")
    eventually(lambda: any(r.path.endswith(f"{first.resource_id}/reauthorize")
                           for r in emulator.requests))

    emulator.add_event(emulator.calendar_ids(EMAIL)[0], timed(hour(2), subject="Missed one"))
    emulator.lifecycle(str(first.resource_id), "missed")
    eventually(lambda: "Missed one" in titles(app))

    assert emulator.lifecycle(str(first.resource_id), "subscriptionRemoved")
    [second] = eventually(lambda: [c for c in live_channels(app)
                                   if c.id != first.id and c.resource_id])
    assert emulator.subscription_ids() == [second.resource_id]
    assert [c.id for c in live_channels(app)] == [second.id]


def test_renewal_replaces_a_subscription_before_it_ends(
        app: Flask, served: LiveServer, db_session: Session, settings: Settings,
        emulator: MicrosoftEmulator, microsoft_source: Source) -> None:
    subscribe(db_session, settings, microsoft_source)
    [old] = db_session.scalars(select(PushChannel)).all()
    old.expires_at = datetime.now(UTC) + timedelta(minutes=30)
    db_session.commit()
    channels.renew_due(db_session, settings, datetime.now(UTC))
    [new] = live_channels(app)
    assert new.id != old.id
    stop = db_session.scalar(select(OutboxEntry).where(OutboxEntry.kind == channels.STOP))
    assert stop is not None
    effects.process(db_session, settings, stop.id)
    assert emulator.subscription_ids() == [new.resource_id]


def test_without_https_or_when_graph_refuses_polling_stays(
        app: Flask, db_session: Session, settings: Settings, emulator: MicrosoftEmulator,
        microsoft_source: Source) -> None:
    # Nothing listens at BASE_URL: Graph's handshake fails, so no subscription.
    nowhere = dataclasses.replace(settings, base_url="http://127.0.0.1:1")
    subscribe(db_session, nowhere, microsoft_source)
    assert live_channels(app) == [] and emulator.subscription_ids() == []
    source = db_session.get(Source, microsoft_source.id)
    assert source is not None
    warnings = (source.options or {}).get("push_warnings") or {}
    assert "on a schedule instead" in next(iter(warnings.values()))
    auto = dataclasses.replace(nowhere, microsoft_webhooks="auto")  # BASE_URL is http
    before = len(emulator.requests)
    subscribe(db_session, auto, source)
    assert not any(r.path.endswith("/subscriptions") for r in emulator.requests[before:])


def test_removing_the_source_stops_its_subscriptions(
        app: Flask, served: LiveServer, db_session: Session, settings: Settings,
        emulator: MicrosoftEmulator, microsoft_source: Source) -> None:
    subscribe(db_session, settings, microsoft_source)
    assert len(emulator.subscription_ids()) == 1
    google_connections.remove_source(db_session, settings, microsoft_source)
    assert db_session.get(Source, microsoft_source.id) is None
    stop = db_session.scalar(select(OutboxEntry).where(OutboxEntry.kind == channels.STOP))
    assert stop is not None
    effects.process(db_session, settings, stop.id)  # with the tokens the entry kept
    assert emulator.subscription_ids() == []


def test_a_notification_syncs_only_its_subscriptions_source(
        app: Flask, served: LiveServer, db_session: Session, settings: Settings,
        emulator: MicrosoftEmulator, microsoft_source: Source, make_user: Any) -> None:
    [bobs_calendar] = emulator.add_account("bob@rival.example")
    bob = make_user("bob@rival-sales.com")
    bobs = Source(user_id=bob.id, kind="microsoft", name="Outlook (bob)", url="",
                  options={"account": "bob@rival.example", "calendars_read": [bobs_calendar],
                           "calendar_written": bobs_calendar},
                  credentials=crypto.seal(settings, tokens(emulator, "bob@rival.example")),
                  cursor={}, warnings=[], next_sync_at=datetime.now(UTC))
    db_session.add(bobs)
    db_session.commit()
    subscribe(db_session, settings, microsoft_source)
    subscribe(db_session, settings, bobs)
    anns = next(c for c in live_channels(app) if c.source_id == microsoft_source.id)
    before = len(emulator.requests)
    note = {"value": [{"subscriptionId": anns.resource_id, "clientState": anns.token,
                       "changeType": "updated"}]}
    assert app.test_client().post("/webhooks/microsoft", json=note).status_code == 202
    # (Nothing changed in either calendar, so no real notification arrives meanwhile.)
    deltas = [r.path for r in emulator.requests[before:] if r.path.endswith("/delta")]
    assert deltas and all(emulator.calendar_ids(EMAIL)[0] in path for path in deltas)
