"""The provider contract for Google Calendar, against calsync's Google emulator."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest

from calsync.emulator import GoogleEmulator
from calsync.providers.base import SourceRef
from tests.providers.contract import WritableProviderContract
from tests.providers.google.gcal import EMAIL, timed


class GoogleCalendar:
    """Ana's primary calendar, changed as she would change it in Google."""

    def __init__(self, emulator: GoogleEmulator) -> None:
        self.emulator = emulator

    def add(self, uid: str, start: datetime, title: str) -> str:
        return str(self.emulator.add_event(EMAIL, timed(start, summary=title))["id"])

    def move(self, uid: str, start: datetime) -> None:
        self.emulator.update_event(EMAIL, uid, {
            "start": {"dateTime": start.isoformat()},
            "end": {"dateTime": (start + timedelta(minutes=30)).isoformat()}})

    def remove(self, uid: str) -> None:
        self.emulator.delete_event(EMAIL, uid)

    def written_calendar(self) -> str:
        return EMAIL


class TestGoogleContract(WritableProviderContract):
    # `provider` is the Google provider tests' own fixture (conftest.py).

    @pytest.fixture
    def source(self, make_ref: Callable[..., SourceRef]) -> SourceRef:
        return make_ref()

    @pytest.fixture
    def calendar(self, emulator: GoogleEmulator) -> GoogleCalendar:
        return GoogleCalendar(emulator)
