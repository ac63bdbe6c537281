"""Push channels for a Google source: stored before the watch call (the handshake may come
first), one per calendar read, renewed before they expire, and stopped through the outbox,
even once the source is gone."""

from __future__ import annotations

import dataclasses
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from calsync.config import Settings
from calsync.emulator import GoogleEmulator
from calsync.models import OutboxEntry, PushChannel, Source
from calsync.services.google import channels
from tests.providers.google.gcal import EMAIL, TEAM, options


class Webhook:
    """A stand-in for calsync's webhook route that looks each channel up in the database
    as its notification arrives."""

    def __init__(self, database_url: str) -> None:
        self.engine = create_engine(database_url)
        self.seen: list[tuple[str, str, bool]] = []  # (channel id, state, row found)
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                channel_id = self.headers.get("X-Goog-Channel-ID", "")
                with Session(outer.engine) as session:
                    row = channels.find_channel(session, channel_id)
                    found = row is not None and row.token == self.headers.get(
                        "X-Goog-Channel-Token")
                outer.seen.append((channel_id, self.headers.get("X-Goog-Resource-State", ""),
                                   found))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.engine.dispose()


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Push on; notifications go nowhere unless a test points BASE_URL at its webhook."""
    return dataclasses.replace(settings, base_url="http://127.0.0.1:1", google_webhooks="on")


@pytest.fixture
def source(db_session: Session, google_source: Source) -> Source:
    google_source.options = options(EMAIL, TEAM)
    db_session.commit()
    return google_source


def live_rows(session: Session, source: Source) -> list[PushChannel]:
    session.expire_all()
    return list(session.scalars(select(PushChannel).where(
        PushChannel.source_id == source.id, PushChannel.stopped_at.is_(None))
        .order_by(PushChannel.id)))


def test_webhook_address(settings: Settings) -> None:
    assert channels.webhook_address(settings) == "http://127.0.0.1:1/webhooks/google"


def test_channels_are_stored_before_watch_and_found_by_the_handshake(
        db_session: Session, settings: Settings, emulator: GoogleEmulator,
        source: Source) -> None:
    webhook = Webhook(settings.database_url)
    try:
        settings = dataclasses.replace(settings, base_url=webhook.base_url)
        channels.open_channels(db_session, settings, source)
        rows = live_rows(db_session, source)
        assert sorted(r.calendar_id for r in rows) == sorted([EMAIL, TEAM])
        for row in rows:
            assert len(row.channel_id) <= 64 and len(row.token) >= 32
            assert row.resource_id and row.expires_at is not None
            assert row.expires_at > datetime.now(UTC) + timedelta(days=6)
        emulator.wait_for_notifications(2)
        assert sorted(webhook.seen) == sorted((r.channel_id, "sync", True) for r in rows)
        watches = [r for r in emulator.requests if r.path.endswith("/events/watch")]
        assert len(watches) == 2

        channels.open_channels(db_session, settings, source)  # nothing new to watch
        assert len([r for r in emulator.requests if r.path.endswith("/events/watch")]) == 2

        # A change in Google reaches the webhook through the stored channel.
        emulator.add_event(EMAIL, {"summary": "x", "start": {"date": "2031-01-01"},
                                   "end": {"date": "2031-01-02"}})
        emulator.wait_for_notifications(3)
        assert webhook.seen[-1][1:] == ("exists", True)
    finally:
        webhook.close()


def test_push_off_opens_nothing(db_session: Session, settings: Settings,
                                emulator: GoogleEmulator, source: Source) -> None:
    channels.open_channels(db_session, dataclasses.replace(settings, google_webhooks="off"),
                           source)
    assert live_rows(db_session, source) == []


def test_a_channel_google_refuses_leaves_polling_and_a_warning(
        db_session: Session, settings: Settings, emulator: GoogleEmulator,
        source: Source) -> None:
    emulator.fail_next(1, 403, "forbidden", path_contains=f"{TEAM}/events/watch")
    channels.open_channels(db_session, settings, source)
    assert [r.calendar_id for r in live_rows(db_session, source)] == [EMAIL]
    db_session.refresh(source)
    (warning,) = source.all_warnings
    assert "“Team”" in warning and "schedule" in warning
    source.warnings = ["a read's own warning"]  # the next sync replaces these, not that
    db_session.commit()
    assert source.all_warnings == ["a read's own warning", warning]
    channels.open_channels(db_session, settings, source)  # Google takes it this time
    db_session.refresh(source)
    assert source.all_warnings == ["a read's own warning"]


def test_renew_due_replaces_channels_before_they_expire(
        db_session: Session, settings: Settings, emulator: GoogleEmulator,
        source: Source) -> None:
    channels.open_channels(db_session, settings, source)
    old, keep = live_rows(db_session, source)
    now = datetime.now(UTC)
    old.expires_at = now + timedelta(minutes=30)
    db_session.commit()

    channels.renew_due(db_session, settings, now)
    rows = live_rows(db_session, source)
    assert sorted(r.calendar_id for r in rows) == sorted([EMAIL, TEAM])
    assert keep.channel_id in {r.channel_id for r in rows}
    assert old.channel_id not in {r.channel_id for r in rows}
    assert emulator.state.channels[old.channel_id].stopped  # stopped through the outbox
    assert not emulator.state.channels[keep.channel_id].stopped
    assert channels.find_channel(db_session, old.channel_id) is None

    # The stopped row stays while Google might still call it, then is forgotten.
    channels.renew_due(db_session, settings, now + timedelta(hours=2))
    assert db_session.scalar(select(PushChannel).where(
        PushChannel.channel_id == old.channel_id)) is not None
    channels.renew_due(db_session, settings, now + timedelta(days=2))
    assert db_session.scalar(select(PushChannel).where(
        PushChannel.channel_id == old.channel_id)) is None


def test_stop_channels_on_disconnect_survives_the_source_being_deleted(
        db_session: Session, settings: Settings, emulator: GoogleEmulator,
        source: Source) -> None:
    channels.open_channels(db_session, settings, source)
    ids = [r.channel_id for r in live_rows(db_session, source)]
    channels.stop_channels(db_session, source)
    entries = list(db_session.scalars(select(OutboxEntry).where(
        OutboxEntry.kind == channels.STOP)))
    assert [e.payload["channel_id"] for e in entries] == ids
    assert all(e.status == "pending" for e in entries)  # nothing happens before the commit
    db_session.delete(source)
    db_session.commit()  # the outbox runs the stops now (inline in tests)

    assert all(emulator.state.channels[i].stopped for i in ids)
    db_session.expire_all()
    assert [e.status for e in db_session.scalars(select(OutboxEntry))] == ["done", "done"]


def test_stopping_an_unknown_channel_counts_as_done(
        db_session: Session, settings: Settings, emulator: GoogleEmulator,
        source: Source) -> None:
    channels.open_channels(db_session, settings, source)
    rows = live_rows(db_session, source)
    emulator.state.channels[rows[0].channel_id].stopped = True  # expired or stopped already
    channels.stop_channels(db_session, source)
    db_session.commit()
    db_session.expire_all()
    assert [e.status for e in db_session.scalars(select(OutboxEntry))] == ["done", "done"]
