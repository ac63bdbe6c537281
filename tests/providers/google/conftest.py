"""Fixtures for the Google provider: a running emulator with an account, settings and
tokens pointing at it, a no-sleep backoff recorder, and a `google` source row."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from calsync import crypto
from calsync.config import Settings
from calsync.emulator import GoogleEmulator
from calsync.models import Source, User
from calsync.providers import google_client
from calsync.providers.base import ReadContext, SourceRef
from calsync.providers.google import GoogleProvider
from tests.providers.contract import window
from tests.providers.google.gcal import CLIENT_ID, CLIENT_SECRET, EMAIL, TEAM, endpoints, options


@pytest.fixture
def emulator() -> Iterator[GoogleEmulator]:
    with GoogleEmulator(auto_consent=True) as running:
        running.add_client(CLIENT_ID, CLIENT_SECRET)
        running.add_account(EMAIL, [{"id": TEAM, "summary": "Team"}], time_zone="Europe/Berlin")
        yield running


@pytest.fixture
def google_settings(tmp_path: Path, emulator: GoogleEmulator) -> Settings:
    """Settings for provider tests that need no database."""
    return Settings.from_env({}, instance_path=tmp_path / "google", **endpoints(emulator))


@pytest.fixture
def settings(settings: Settings, emulator: GoogleEmulator) -> Settings:
    """The root settings (a migrated database) with Google's endpoints at the emulator."""
    return dataclasses.replace(settings, **endpoints(emulator))


@pytest.fixture
def credentials(emulator: GoogleEmulator) -> Callable[[], dict[str, Any]]:
    """Fresh tokens for EMAIL, in the shape calsync keeps them (unsealed)."""

    def make() -> dict[str, Any]:
        tokens = emulator.issue_tokens(EMAIL, CLIENT_ID)
        expiry = datetime.now(UTC) + timedelta(seconds=tokens["expires_in"])
        return {"token": tokens["access_token"], "refresh_token": tokens["refresh_token"],
                "expiry": expiry.isoformat(), "scopes": tokens["scope"].split()}

    return make


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The provider's backoff waits, recorded instead of slept."""
    waited: list[float] = []
    monkeypatch.setattr(google_client, "sleep", waited.append)
    return waited


@pytest.fixture
def provider(google_settings: Settings, sleeps: list[float]) -> GoogleProvider:
    return GoogleProvider(google_settings)


@pytest.fixture
def make_ref(credentials: Callable[[], dict[str, Any]]) -> Callable[..., SourceRef]:
    def make(*calendars: str) -> SourceRef:
        return SourceRef(id=1, options=options(*calendars), credentials=credentials())

    return make


@pytest.fixture
def context() -> ReadContext:
    """From 30 days ago to 120 days ahead, for a user in Berlin (the contract's window)."""
    return window()


@pytest.fixture
def google_source(db_session: Session, settings: Settings, user: User,
                  credentials: Callable[[], dict[str, Any]], sleeps: list[float]) -> Source:
    """Ana's Google connection, reading and writing her primary calendar, never synced."""
    row = Source(user_id=user.id, kind="google", name="Google Calendar", url="",
                 options=options(), credentials=crypto.seal(settings, credentials()),
                 cursor={}, warnings=[], next_sync_at=datetime.now(UTC))
    db_session.add(row)
    db_session.commit()
    return row
