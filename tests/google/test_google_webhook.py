"""The webhook Google calls: real notifications from the emulator coalesce into one queued
sync; unknown, stale and forged ones get a quick 200 and never a sync."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from calsync.config import Settings
from calsync.db import get_db
from calsync.emulator import GoogleEmulator
from calsync.models import Meeting, OutboxEntry, PushChannel, Source
from calsync.services.google.channels import STOP, WEBHOOK_PATH
from tests.google.conftest import EMAIL, TEAM, LiveServer, eventually, round_trip
from tests.google.test_google_flow import list_calls, meeting, post_page


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """A real queue this time: jobs wait until the test runs them, as a worker would."""
    return dataclasses.replace(settings, queue_immediate=False)


def queue(app: Flask) -> Any:
    return app.extensions["calsync.queue"].huey


def drain(app: Flask) -> list[str]:
    """Run the queued jobs, as the worker would; returns their names."""
    huey, ran = queue(app), []
    while (task := huey.dequeue()) is not None:
        ran.append(task.name)
        huey.execute(task)
    return ran


def source_row(app: Flask) -> Source:
    with app.app_context(), get_db().session() as session:
        return session.scalars(select(Source)).one()


def channel_rows(app: Flask) -> list[PushChannel]:
    with app.app_context(), get_db().session() as session:
        return list(session.scalars(select(PushChannel).order_by(PushChannel.id)))


def exists_count(google: GoogleEmulator) -> int:
    return len([n for n in google.notifications if n.resource_state == "exists"])


@pytest.fixture
def connected(app: Flask, logged_in: FlaskClient, google: GoogleEmulator, served: LiveServer,
              browser: requests.Session) -> Source:
    answer = round_trip(logged_in, browser, google)
    assert answer.status_code == 302, answer.get_data(as_text=True)[:500]
    assert drain(app) == ["sync_source"]  # the first sync, queued by the callback
    eventually(lambda: any(n.resource_state == "sync" for n in google.notifications))
    assert queue(app).pending_count() == 0  # the handshake queues nothing
    return source_row(app)


def test_a_burst_of_notifications_queues_one_sync(app: Flask, connected: Source,
                                                  google: GoogleEmulator) -> None:
    before = list_calls(google)
    for n in range(3):
        google.add_event(EMAIL, meeting(f"Burst {n}", 2 + n, f"buyer{n}@northwind.example"))
    eventually(lambda: exists_count(google) >= 3)
    assert all(n.status == 200 for n in google.notifications)
    assert queue(app).pending_count() == 1
    assert source_row(app).sync_requested_at is not None

    assert drain(app) == ["sync_source"]
    assert list_calls(google) == before + 1  # one incremental events.list
    with app.app_context(), get_db().session() as session:
        titles = set(session.scalars(select(Meeting.title)))
    assert {"Burst 0", "Burst 1", "Burst 2"} <= titles
    assert source_row(app).sync_requested_at is None  # the sync cleared it as it started

    google.add_event(EMAIL, meeting("Later change", 1, "late@northwind.example"))
    eventually(lambda: exists_count(google) >= 4)
    assert queue(app).pending_count() == 1  # a new notification after the sync: a new one


def test_unknown_forged_and_garbage_notifications_get_200_and_no_sync(
        app: Flask, client: FlaskClient, connected: Source, google: GoogleEmulator) -> None:
    [channel] = channel_rows(app)
    real = {"X-Goog-Channel-ID": channel.channel_id, "X-Goog-Resource-ID": channel.resource_id,
            "X-Goog-Resource-State": "exists", "X-Goog-Message-Number": "7"}
    cases = [
        {**real, "X-Goog-Channel-ID": "no-such-channel", "X-Goog-Channel-Token": channel.token},
        {**real, "X-Goog-Channel-Token": "wrong-token"},
        {**real},  # no token at all
        {**real, "X-Goog-Channel-Token": channel.token[:-1]},
        {},
        {"X-Goog-Channel-ID": "x" * 5000, "X-Goog-Channel-Token": "y" * 5000},
        {**real, "X-Goog-Channel-Token": "tok\u00e9n".encode().decode("latin-1")},
    ]
    for headers in cases:
        response = client.post(WEBHOOK_PATH, headers=headers, data=b"garbage\x00\xff")
        assert response.status_code == 200, headers
    assert client.get(WEBHOOK_PATH).status_code == 405
    assert queue(app).pending_count() == 0
    assert source_row(app).sync_requested_at is None

    # Right token, wrong resource; no message number; a garbage one.
    ok = {**real, "X-Goog-Channel-Token": channel.token}
    for headers in ({**ok, "X-Goog-Resource-ID": "another-resource"},
                    {k: v for k, v in ok.items() if k != "X-Goog-Message-Number"},
                    {**ok, "X-Goog-Message-Number": "-8"},
                    {**ok, "X-Goog-Message-Number": "9" * 40}):
        assert client.post(WEBHOOK_PATH, headers=headers).status_code == 200, headers
    assert queue(app).pending_count() == 0

    # Google's handshake (always message 1 on a channel), and then a real change.
    assert client.post(WEBHOOK_PATH, headers={**ok, "X-Goog-Resource-State": "sync",
                                              "X-Goog-Message-Number": "1"}
                       ).status_code == 200
    assert queue(app).pending_count() == 0
    assert client.post(WEBHOOK_PATH, headers=ok).status_code == 200
    assert queue(app).pending_count() == 1


def pending_stops(app: Flask) -> list[str]:
    with app.app_context(), get_db().session() as session:
        return [entry.payload["channel_id"] for entry in session.scalars(
            select(OutboxEntry).where(OutboxEntry.kind == STOP, OutboxEntry.status == "pending"))]


def test_a_stopped_channel_that_still_calls_is_answered_and_never_acted_on(
        app: Flask, logged_in: FlaskClient, connected: Source, google: GoogleEmulator) -> None:
    [old] = channel_rows(app)
    saved = post_page(logged_in, f"/sources/{connected.id}/calendars",
                      f"/sources/{connected.id}/calendars",
                      {"calendars_read": [EMAIL, TEAM], "calendar_written": EMAIL})
    assert saved.status_code == 302
    drain(app)  # stop the old channel at Google, sync the new calendar
    rows = channel_rows(app)
    assert [r.stopped_at is not None for r in rows if r.channel_id == old.channel_id] == [True]
    assert sorted(r.calendar_id for r in rows if r.stopped_at is None) == sorted([EMAIL, TEAM])
    assert pending_stops(app) == []
    stops_at_google = len(google.requests)

    # A notification of the stopped channel, replayed: each one a 200, and nothing else.
    stale = {"X-Goog-Channel-ID": old.channel_id, "X-Goog-Channel-Token": old.token,
             "X-Goog-Resource-ID": old.resource_id, "X-Goog-Resource-State": "exists"}
    for number in (50, 50, 51, 52):
        headers = {**stale, "X-Goog-Message-Number": str(number)}
        assert logged_in.post(WEBHOOK_PATH, headers=headers).status_code == 200
    assert pending_stops(app) == []
    assert queue(app).pending_count() == 0
    assert drain(app) == []
    assert len(google.requests) == stops_at_google  # no channels.stop, no events.list


def test_a_repeated_or_older_message_number_is_ignored(
        app: Flask, client: FlaskClient, connected: Source, google: GoogleEmulator) -> None:
    [channel] = channel_rows(app)

    def notify(number: int) -> int:
        headers = {"X-Goog-Channel-ID": channel.channel_id,
                   "X-Goog-Channel-Token": channel.token,
                   "X-Goog-Resource-ID": channel.resource_id,
                   "X-Goog-Resource-State": "exists", "X-Goog-Message-Number": str(number)}
        return client.post(WEBHOOK_PATH, headers=headers).status_code

    assert notify(5) == 200
    assert drain(app) == ["sync_source"]
    for replayed in (5, 5, 4, 1):  # 1: the emulator's handshake, again
        assert notify(replayed) == 200
        assert queue(app).pending_count() == 0, replayed
    assert source_row(app).sync_requested_at is None
    assert [r.last_message_number for r in channel_rows(app)] == [5]
    assert notify(9) == 200  # numbers grow, not by one
    assert drain(app) == ["sync_source"]
    assert [r.last_message_number for r in channel_rows(app)] == [9]
