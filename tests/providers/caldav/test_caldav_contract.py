"""The provider contract for CalDAV, against Radicale and Xandikos."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest

from calsync.config import Settings
from calsync.providers.base import SourceRef
from calsync.providers.caldav import CaldavProvider
from tests.providers.contract import WritableProviderContract
from tests.servers.caldav_servers import CaldavServer, event_text


class CaldavCalendar:
    """Meetings in the server's `work` calendar, changed as another client would."""

    def __init__(self, server: CaldavServer) -> None:
        self.server = server
        self.titles: dict[str, str] = {}

    def add(self, uid: str, start: datetime, title: str) -> str:
        self.titles[uid] = title
        self.server.put("work", uid, event_text(uid, start, title))
        return uid

    def move(self, uid: str, start: datetime) -> None:
        self.server.put("work", uid, event_text(uid, start, self.titles[uid]))

    def remove(self, uid: str) -> None:
        self.server.delete(f"{self.server.calendars['work']}{uid}.ics")

    def written_calendar(self) -> str:
        return self.server.calendars["work"]


class TestCaldavContract(WritableProviderContract):
    @pytest.fixture
    def provider(self, make_settings: Callable[..., Settings]) -> CaldavProvider:
        return CaldavProvider(make_settings())

    @pytest.fixture
    def source(self, caldav_server: CaldavServer) -> SourceRef:
        return SourceRef(id=1, url=caldav_server.base_url,
                         options={"calendars_read": list(caldav_server.calendars.values())},
                         credentials={"username": caldav_server.username,
                                      "password": caldav_server.password})

    @pytest.fixture
    def calendar(self, caldav_server: CaldavServer) -> CaldavCalendar:
        return CaldavCalendar(caldav_server)
