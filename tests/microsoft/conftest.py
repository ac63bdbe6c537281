"""Fixtures for the Microsoft provider and connection: a running emulator with Ann's
account, settings pointing at it (its CA trusted), a no-sleep retry recorder, a provider."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from calsync import crypto
from calsync.config import Settings
from calsync.emulator.microsoft import MicrosoftEmulator
from calsync.models import Source, User
from calsync.providers import microsoft_graph
from calsync.providers.base import ReadContext, SourceRef
from calsync.providers.microsoft import MicrosoftProvider
from tests.microsoft.mscal import endpoints, options, tokens
from tests.providers.contract import window
from tests.servers.microsoft import CLIENT_ID, CLIENT_SECRET, EMAIL


@pytest.fixture
def emulator() -> Iterator[MicrosoftEmulator]:
    # Any redirect URI: connect tests use their app's BASE_URL.
    with MicrosoftEmulator(auto_consent=True) as running:
        running.add_client(CLIENT_ID, CLIENT_SECRET)
        running.add_account(EMAIL, ["Sales team"], name="Ann Example")
        yield running


@pytest.fixture
def ms_settings(tmp_path: Path, emulator: MicrosoftEmulator) -> Settings:
    """Settings for provider tests that need no database."""
    return Settings.from_env({}, instance_path=tmp_path / "microsoft", **endpoints(emulator))


@pytest.fixture
def settings(settings: Settings, emulator: MicrosoftEmulator) -> Settings:
    """The root settings (a migrated database) with Microsoft's endpoints at the emulator."""
    return dataclasses.replace(settings, **endpoints(emulator))


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The provider's retry waits, recorded instead of slept."""
    waited: list[float] = []
    monkeypatch.setattr(microsoft_graph, "sleep", waited.append)
    return waited


@pytest.fixture
def provider(ms_settings: Settings, sleeps: list[float]) -> MicrosoftProvider:
    return MicrosoftProvider(ms_settings)


@pytest.fixture
def make_ref(emulator: MicrosoftEmulator) -> Callable[..., SourceRef]:
    def make(*calendars: str, credentials: dict[str, Any] | None = None) -> SourceRef:
        return SourceRef(id=1, options=options(emulator, *calendars),
                         credentials=credentials or tokens(emulator))

    return make


@pytest.fixture
def context() -> ReadContext:
    """From 30 days ago to 120 days ahead, for a user in Berlin (the contract's window)."""
    return window()


@pytest.fixture
def microsoft_source(db_session: Session, settings: Settings, user: User,
                     emulator: MicrosoftEmulator, sleeps: list[float]) -> Source:
    """The user's Microsoft connection, reading and writing Ann's default calendar, never
    synced."""
    row = Source(user_id=user.id, kind="microsoft", name="Outlook", url="",
                 options=options(emulator), credentials=crypto.seal(settings, tokens(emulator)),
                 cursor={}, warnings=[], next_sync_at=datetime.now(UTC))
    db_session.add(row)
    db_session.commit()
    return row
