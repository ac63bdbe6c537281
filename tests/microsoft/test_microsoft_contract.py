"""The provider contract for Microsoft 365, against the Graph emulator through msal and the
provider's own HTTP calls."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest

from calsync.emulator.microsoft import MicrosoftEmulator
from calsync.providers.base import SourceRef
from tests.microsoft.mscal import timed
from tests.providers.contract import WritableProviderContract
from tests.servers.microsoft import EMAIL


class OutlookCalendar:
    """Ann's default calendar, changed as she would change it in Outlook."""

    def __init__(self, emulator: MicrosoftEmulator) -> None:
        self.emulator = emulator
        self.calendar = emulator.calendar_ids(EMAIL)[0]

    def add(self, uid: str, start: datetime, title: str) -> str:
        return str(self.emulator.add_event(self.calendar, timed(start, subject=title))["id"])

    def move(self, uid: str, start: datetime) -> None:
        moved = timed(start)
        self.emulator.update_event(self.calendar, uid, {"start": moved["start"],
                                                        "end": moved["end"]})

    def remove(self, uid: str) -> None:
        self.emulator.delete_event(self.calendar, uid)

    def written_calendar(self) -> str:
        return self.calendar


class TestMicrosoftContract(WritableProviderContract):
    # `provider` is the conftest's, pointing at the emulator.

    @pytest.fixture
    def source(self, make_ref: Callable[..., SourceRef]) -> SourceRef:
        return make_ref()

    @pytest.fixture
    def calendar(self, emulator: MicrosoftEmulator) -> OutlookCalendar:
        return OutlookCalendar(emulator)

