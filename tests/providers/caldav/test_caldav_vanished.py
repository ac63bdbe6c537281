"""What a CalDAV source does when things leave its view, against real servers: a calendar
deleted on the server, and calsync's own events moved beyond the window of a server without
sync tokens."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from calsync.config import Settings
from calsync.domain.vocabulary import SourceStatus
from calsync.errors import SourceError
from calsync.providers.base import FOLLOWUP_MARK, ChangeSet, ReadContext, SourceRef
from calsync.providers.caldav import CaldavProvider
from calsync.providers.caldav_write import item_url
from tests.providers.caldav.test_caldav_provider import followup, vevent
from tests.servers.caldav_servers import CaldavServer


@pytest.fixture
def provider(make_settings: Callable[..., Settings]) -> CaldavProvider:
    return CaldavProvider(make_settings())


@pytest.fixture
def source(caldav_server: CaldavServer) -> SourceRef:
    calendars = caldav_server.calendars
    return SourceRef(id=1, url=caldav_server.base_url,
                     options={"calendars_read": [calendars["personal"], calendars["work"]],
                              "calendar_written": calendars["work"],
                              "calendar_names": {calendars["personal"]: "Personal",
                                                 calendars["work"]: "Work"}},
                     credentials={"username": caldav_server.username,
                                  "password": caldav_server.password})


def requests_during(server: CaldavServer, read: Callable[[], ChangeSet]) -> tuple[ChangeSet,
                                                                                 list[str]]:
    before = len(server.calsync_requests())
    changes = read()
    return changes, [method for method, _path in server.calsync_requests()[before:]]


def test_a_calendar_read_vanishes_the_rest_is_still_read(
        caldav_server: CaldavServer, provider: CaldavProvider, source: SourceRef,
        context: ReadContext) -> None:
    caldav_server.put("personal", "p", vevent("p", "20250305T100000Z", "20250305T110000Z"))
    caldav_server.put("work", "w", vevent("w", "20250306T100000Z", "20250306T110000Z"))
    first = provider.read(source, {}, context)
    caldav_server.delete(caldav_server.calendars["personal"])

    after = provider.read(source, first.cursor, context)
    # Read whole, so the meetings of the vanished calendar end; named as the user knows it.
    assert after.complete and {m.uid for m in after.meetings} == {"w"}
    assert any("“Personal” is no longer on the server" in w for w in after.warnings)
    idle, sent = requests_during(caldav_server,
                                 lambda: provider.read(source, after.cursor, context))
    assert idle.unchanged and sent == ["REPORT"]  # the vanished calendar costs nothing

    caldav_server.delete(caldav_server.calendars["work"])  # where follow-ups go
    with pytest.raises(SourceError) as stopped:
        provider.read(source, idle.cursor, context)
    assert stopped.value.status == SourceStatus.DISABLED
    assert "“Work” is no longer on the server" in stopped.value.reason


def test_own_events_beyond_the_window_keep_an_idle_sync_one_request_per_calendar(
        caldav_server: CaldavServer, provider: CaldavProvider, source: SourceRef,
        context: ReadContext) -> None:
    moved = provider.write_event(source, followup(caldav_server))
    deleted = provider.write_event(source, followup(
        caldav_server, event_id="calsyncdef456", private_properties={FOLLOWUP_MARK: "fu-2"}))
    first = provider.read(source, {}, context)
    for state in first.cursor["calendars"].values():
        state["token"] = ""  # as a server without sync-collection leaves it
    url = item_url(moved.calendar_id, moved.event_id)
    text, _etag = caldav_server.get(url)
    caldav_server.put("work", moved.event_id, text.replace("20250320T", "20251120T"))
    caldav_server.delete(item_url(deleted.calendar_id, deleted.event_id))

    changed = provider.read(source, first.cursor, context)
    assert [m.start.month for m in changed.meetings] == [11]  # followed out of the window
    assert changed.deleted == [(deleted.event_id, "")]  # gone for good
    for _sync in range(2):
        idle, sent = requests_during(caldav_server,
                                     lambda: provider.read(source, changed.cursor, context))
        assert idle.unchanged and sent == ["REPORT", "REPORT"]
