"""The provider contract for ICS feeds, served by a real loopback HTTP server."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from calsync.config import Settings
from calsync.providers.base import SourceRef
from calsync.providers.ics import IcsProvider
from tests.providers.contract import ProviderContract
from tests.servers.http_files import FileServer

PATH = "/contract.ics"


class FeedCalendar:
    """A feed whose whole text is served again after every change, with a new ETag."""

    def __init__(self, server: FileServer) -> None:
        self.server = server
        self.events: dict[str, tuple[datetime, str]] = {}
        self.version = 0
        self._publish()

    def add(self, uid: str, start: datetime, title: str) -> str:
        self.events[uid] = (start, title)
        self._publish()
        return uid

    def move(self, uid: str, start: datetime) -> None:
        self.events[uid] = (start, self.events[uid][1])
        self._publish()

    def remove(self, uid: str) -> None:
        del self.events[uid]
        self._publish()

    def written_calendar(self) -> str:
        raise AssertionError("an ICS feed receives no follow-ups")

    def _publish(self) -> None:
        stamp = "%Y%m%dT%H%M%SZ"
        events = "".join(
            f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20250101T000000Z\r\n"
            f"DTSTART:{start.astimezone(UTC):{stamp}}\r\n"
            f"DTEND:{(start + timedelta(minutes=30)).astimezone(UTC):{stamp}}\r\n"
            f"SUMMARY:{title}\r\nEND:VEVENT\r\n"
            for uid, (start, title) in self.events.items())
        self.version += 1
        self.server.serve(PATH, "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
                          f"{events}END:VCALENDAR\r\n", etag=f'"v{self.version}"')


class TestIcsContract(ProviderContract):
    @pytest.fixture
    def provider(self, make_settings: Callable[..., Settings]) -> IcsProvider:
        return IcsProvider(make_settings())

    @pytest.fixture
    def source(self, http_files: FileServer) -> SourceRef:
        return SourceRef(id=1, url=http_files.url(PATH))

    @pytest.fixture
    def calendar(self, http_files: FileServer) -> FeedCalendar:
        return FeedCalendar(http_files)
