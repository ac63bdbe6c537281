"""The provider contract for the in-memory test provider (tests/plugins/memory.py), which
the sync tests stand on: it must keep the same promises as the real ones."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from calsync.config import Settings
from calsync.domain.meeting import MeetingData
from calsync.providers.base import SourceRef
from tests.plugins import memory
from tests.providers.contract import ProviderContract

SOURCE_ID = 9001


class MemoryCalendar:
    def add(self, uid: str, start: datetime, title: str) -> str:
        meetings = self._meetings()
        meetings.append(MeetingData(uid=uid, recurrence_id="", title=title, start=start,
                                    end=start + timedelta(minutes=30)))
        return uid

    def move(self, uid: str, start: datetime) -> None:
        memory.CALENDARS[SOURCE_ID] = [
            replace(m, start=start, end=start + timedelta(minutes=30)) if m.uid == uid else m
            for m in self._meetings()]

    def remove(self, uid: str) -> None:
        memory.CALENDARS[SOURCE_ID] = [m for m in self._meetings() if m.uid != uid]

    def written_calendar(self) -> str:
        raise AssertionError("the memory provider receives no follow-ups")

    def _meetings(self) -> list[MeetingData]:
        content = memory.CALENDARS.setdefault(SOURCE_ID, [])
        assert isinstance(content, list)
        return content


class TestMemoryContract(ProviderContract):
    @pytest.fixture
    def provider(self, make_settings: Callable[..., Settings]) -> memory.MemoryProvider:
        return memory.MemoryProvider(make_settings())

    @pytest.fixture
    def source(self) -> SourceRef:
        return SourceRef(id=SOURCE_ID)

    @pytest.fixture
    def calendar(self) -> Iterator[MemoryCalendar]:
        yield MemoryCalendar()
        memory.CALENDARS.pop(SOURCE_ID, None)
