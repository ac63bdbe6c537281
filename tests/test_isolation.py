"""Tenant isolation outside the id routes: a feed (by its secret URL) holds only its owner's
follow-ups, and a Google notification syncs only the source of the channel it names."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import count

import pytest
from flask import Flask
from flask.testing import FlaskClient
from icalendar import Calendar
from sqlalchemy import select

from calsync.config import Settings
from calsync.db import get_db
from calsync.models import Deal, FollowUp, PushChannel, Source, User
from calsync.services.google.channels import WEBHOOK_PATH

SOON = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)


def add_followups(app: Flask, user: User, deal_name: str, *summaries: str) -> set[str]:
    """Follow-ups of `user` on one deal, straight into the database; returns their UIDs."""
    with app.app_context(), get_db().session() as session:
        deal = Deal(user_id=user.id, name=deal_name, key=f"name:{deal_name}")
        session.add(deal)
        session.flush()
        uids = set()
        for index, summary in enumerate(summaries):
            uid = f"{deal_name}-{index}@calsync"
            start = SOON + timedelta(hours=index)
            session.add(FollowUp(user_id=user.id, deal_id=deal.id, uid=uid, summary=summary,
                                 start=start, end=start + timedelta(minutes=30),
                                 channel="call"))
            uids.add(uid)
        session.commit()
        return uids


def feed_path(app: Flask, user: User) -> str:
    with app.app_context(), get_db().session() as session:
        return f"/feed/{session.get(User, user.id).feed_token}.ics"


def feed_uids(client: FlaskClient, path: str) -> tuple[set[str], bytes]:
    response = client.get(path)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    calendar = Calendar.from_ical(response.data)
    return {str(event["UID"]) for event in calendar.walk("VEVENT")}, response.data


def test_a_feed_holds_only_its_owners_followups(app: Flask, client: FlaskClient,
                                                make_user) -> None:  # type: ignore[no-untyped-def]
    ana, bo = make_user("ana@acme-sales.com"), make_user("bo@rival-sales.com", "UTC")
    anas = add_followups(app, ana, "Northwind", "Send pricing", "Call the CFO")
    bos = add_followups(app, bo, "Contoso", "Bo's secret offer")
    # Each feed rendered in either order: a cached feed must not leak into the other.
    for first, second in ((ana, bo), (bo, ana), (ana, bo)):
        for owner in (first, second):
            uids, body = feed_uids(client, feed_path(app, owner))
            assert uids == (anas if owner is ana else bos)
            assert (b"Contoso" in body) is (owner is bo)
            assert (b"Northwind" in body) is (owner is ana)


def test_another_users_change_leaves_ones_feed_as_it_was(app: Flask, client: FlaskClient,
                                                         make_user) -> None:  # type: ignore[no-untyped-def]
    ana, bo = make_user("ana@acme-sales.com"), make_user("bo@rival-sales.com", "UTC")
    add_followups(app, ana, "Northwind", "Send pricing")
    first = client.get(feed_path(app, ana))
    add_followups(app, bo, "Contoso", "Bo's secret offer")
    again = client.get(feed_path(app, ana), headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304  # nothing of Ana's changed, so neither did her feed
    assert client.get(feed_path(app, ana)).data == first.data


# --- the Google webhook --------------------------------------------------------------------

@pytest.fixture
def settings(settings: Settings) -> Settings:
    """A real queue: a notification's sync waits there, where the test can read its source."""
    return dataclasses.replace(settings, queue_immediate=False, google_webhooks="on")


@dataclasses.dataclass(frozen=True)
class Watched:
    source_id: int
    channel_id: str
    token: str
    resource_id: str


def watched_source(app: Flask, user: User, name: str) -> Watched:
    """A Google source of `user` with one live push channel, as connecting would leave it."""
    now = datetime.now(UTC)
    with app.app_context(), get_db().session() as session:
        source = Source(user_id=user.id, kind="google", name=name, url="", options={},
                        cursor={}, warnings=[], status="ok", next_sync_at=now + timedelta(days=1))
        session.add(source)
        session.flush()
        channel = PushChannel(source_id=source.id, calendar_id=f"{name}@example.com",
                              channel_id=f"channel-{name}", token=f"token-of-{name}-" + "x" * 30,
                              resource_id=f"resource-{name}", created_at=now,
                              expires_at=now + timedelta(days=6))
        session.add(channel)
        session.commit()
        return Watched(source.id, channel.channel_id, channel.token, channel.resource_id)


def queued_syncs(app: Flask) -> list[tuple[str, tuple[object, ...]]]:
    """Take every queued job off the queue, unrun: (name, args)."""
    huey, jobs = app.extensions["calsync.queue"].huey, []
    while (task := huey.dequeue()) is not None:
        jobs.append((task.name, tuple(task.args)))
    return jobs


def requested(app: Flask) -> dict[int, bool]:
    with app.app_context(), get_db().session() as session:
        rows = session.scalars(select(Source))
        return {row.id: row.sync_requested_at is not None for row in rows}


@pytest.fixture
def message_numbers() -> Iterator[int]:
    return count(1)


def notify(client: FlaskClient, numbers: Iterator[int], channel: Watched, token: str) -> None:
    headers = {"X-Goog-Channel-ID": channel.channel_id, "X-Goog-Channel-Token": token,
               "X-Goog-Resource-ID": channel.resource_id, "X-Goog-Resource-State": "exists",
               "X-Goog-Message-Number": str(next(numbers))}
    assert client.post(WEBHOOK_PATH, headers=headers).status_code == 200


def test_a_notification_syncs_only_its_channels_source(
        app: Flask, client: FlaskClient, make_user,  # type: ignore[no-untyped-def]
        message_numbers: Iterator[int]) -> None:
    ana, bo = make_user("ana@acme-sales.com"), make_user("bo@rival-sales.com", "UTC")
    anas, bos = watched_source(app, ana, "ana"), watched_source(app, bo, "bo")

    # One channel with the other's token (valid, but not its own), either way: nothing.
    notify(client, message_numbers, anas, bos.token)
    notify(client, message_numbers, bos, anas.token)
    assert requested(app) == {anas.source_id: False, bos.source_id: False}
    assert queued_syncs(app) == []

    # Bo's valid channel and token (whoever sends them) reach Bo's source and no other.
    notify(client, message_numbers, bos, bos.token)
    assert requested(app) == {anas.source_id: False, bos.source_id: True}
    assert [args for name, args in queued_syncs(app) if name == "sync_source"] == [
        (bos.source_id,)]

    notify(client, message_numbers, anas, anas.token)
    assert requested(app) == {anas.source_id: True, bos.source_id: True}
    assert [args for name, args in queued_syncs(app) if name == "sync_source"] == [
        (anas.source_id,)]
