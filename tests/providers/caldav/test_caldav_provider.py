"""The CalDAV provider against real Radicale and Xandikos servers on loopback: discovery,
refused passwords, incremental reads and their fallbacks, recurrence, and write-back."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from calsync.config import Settings
from calsync.domain.vocabulary import FollowUpStatus, SourceStatus
from calsync.errors import SourceError
from calsync.providers import load
from calsync.providers.base import FOLLOWUP_MARK, ChangeSet, OutgoingEvent, ReadContext, SourceRef
from calsync.providers.caldav import CaldavProvider
from calsync.providers.caldav_discovery import discover
from calsync.providers.caldav_http import DavClient
from calsync.providers.caldav_write import item_url
from tests.servers.caldav_servers import DEFAULT_CALENDAR, CaldavServer
from tests.servers.slow_http import SlowServer


def vevent(uid: str, start: str, end: str, summary: str = "Call", extra: str = "") -> str:
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\n"
            f"UID:{uid}\r\nDTSTAMP:20250101T000000Z\r\nDTSTART:{start}\r\nDTEND:{end}\r\n"
            f"SUMMARY:{summary}\r\n{extra}END:VEVENT\r\nEND:VCALENDAR\r\n")


WEEKLY = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
          "BEGIN:VEVENT\r\nUID:weekly\r\nDTSTAMP:20250101T000000Z\r\n"
          "DTSTART:20250303T090000Z\r\nDTEND:20250303T093000Z\r\nSUMMARY:Standup\r\n"
          "RRULE:FREQ=WEEKLY;COUNT=4\r\nEXDATE:20250317T090000Z\r\nEND:VEVENT\r\n"
          "BEGIN:VEVENT\r\nUID:weekly\r\nDTSTAMP:20250101T000000Z\r\n"
          "RECURRENCE-ID:20250310T090000Z\r\nDTSTART:20250311T140000Z\r\n"
          "DTEND:20250311T143000Z\r\nSUMMARY:Standup (moved)\r\nEND:VEVENT\r\n"
          "END:VCALENDAR\r\n")


@pytest.fixture
def provider(make_settings: Callable[..., Settings]) -> CaldavProvider:
    return CaldavProvider(make_settings())


@pytest.fixture
def source(caldav_server: CaldavServer) -> SourceRef:
    return SourceRef(id=1, url=caldav_server.base_url,
                     options={"calendars_read": list(caldav_server.calendars.values()),
                              "calendar_written": caldav_server.calendars["work"]},
                     credentials={"username": caldav_server.username,
                                  "password": caldav_server.password})


def keys(changes: ChangeSet) -> set[tuple[str, str]]:
    return {m.key for m in changes.meetings}


def followup(server: CaldavServer, **overrides: Any) -> OutgoingEvent:
    values: dict[str, Any] = dict(
        calendar_id=server.calendars["work"], event_id="calsyncabc123", summary="Email: Acme",
        description="Send the offer", start=datetime(2025, 3, 20, 9, tzinfo=UTC),
        end=datetime(2025, 3, 20, 9, 15, tzinfo=UTC), timezone="Europe/Berlin",
        status=FollowUpStatus.PLANNED, reminder_minutes=10,
        private_properties={FOLLOWUP_MARK: "fu-1", "calsync_followup_id": "7"})
    return OutgoingEvent(**{**values, **overrides})


def test_registered_by_name() -> None:
    assert load("caldav") is CaldavProvider


def test_discovery_from_server_principal_and_calendar(caldav_server: CaldavServer,
                                                      make_settings: Callable[..., Settings]
                                                      ) -> None:
    client = DavClient(make_settings(), caldav_server.username, caldav_server.password)
    found = discover(client, caldav_server.base_url)
    assert [c.url for c in found.calendars] == sorted(caldav_server.calendars.values())
    assert [c.name for c in found.calendars] == ["Personal", "Work"]
    default = caldav_server.calendars[DEFAULT_CALENDAR[caldav_server.kind]]
    assert found.default_url == default
    assert discover(client, caldav_server.principal_url).calendars == found.calendars
    # An address that is no DAV resource: the server's /.well-known/caldav redirect leads on.
    assert discover(client, caldav_server.base_url + "not/dav").calendars == found.calendars
    only = discover(client, caldav_server.calendars["work"])
    assert [c.url for c in only.calendars] == [caldav_server.calendars["work"]]


def test_an_address_that_is_not_caldav(http_files: Any,
                                       make_settings: Callable[..., Settings]) -> None:
    client = DavClient(make_settings(), "ana", "secret")
    with pytest.raises(SourceError, match="does not lead to a CalDAV server"):
        discover(client, http_files.url("/nothing.ics"))


def test_wrong_password_needs_reconnect_and_names_app_passwords(
        caldav_server: CaldavServer, provider: CaldavProvider, source: SourceRef,
        context: ReadContext) -> None:
    wrong = SourceRef(id=1, url=source.url, options=source.options,
                      credentials={"username": caldav_server.username, "password": "nope"})
    with pytest.raises(SourceError) as refused:
        provider.read(wrong, {}, context)
    assert refused.value.status == SourceStatus.NEEDS_RECONNECT
    assert "app-specific password" in refused.value.hint


def test_loopback_refused_without_allow_private_urls(
        caldav_server: CaldavServer, make_settings: Callable[..., Settings], source: SourceRef,
        context: ReadContext) -> None:
    guarded = CaldavProvider(make_settings(allow_private_urls=False))
    with pytest.raises(SourceError, match="private or local networks"):
        guarded.read(source, {}, context)


def test_a_missing_calendar_disables_the_source(caldav_server: CaldavServer,
                                                provider: CaldavProvider, context: ReadContext,
                                                source: SourceRef) -> None:
    gone = SourceRef(id=1, url=source.url, credentials=source.credentials,
                     options={"calendars_read": [caldav_server.home_url + "nowhere/"]})
    with pytest.raises(SourceError) as refused:
        provider.read(gone, {}, context)
    assert refused.value.status == SourceStatus.DISABLED


class Failing(BaseHTTPRequestHandler):
    """A CalDAV server having a bad day: every PROPFIND and REPORT is a 503."""

    def _fail(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(503)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_PROPFIND = do_REPORT = _fail

    def log_message(self, *args: Any) -> None:
        pass


def test_outages_and_timeouts_are_transient(make_settings: Callable[..., Settings],
                                            context: ReadContext) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Failing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/cal/"
        ref = SourceRef(id=1, url=url, options={"calendars_read": [url]},
                        credentials={"username": "ana", "password": "x"})
        with pytest.raises(SourceError) as outage:
            CaldavProvider(make_settings()).read(ref, {}, context)
        assert outage.value.transient and "503" in outage.value.reason
    finally:
        server.shutdown()
        server.server_close()
    with SlowServer(b"HTTP/1.1 207 Multi-Status\r\nX-Drip: ") as slow:
        url = slow.url("/cal/")
        ref = SourceRef(id=1, url=url, options={"calendars_read": [url]},
                        credentials={"username": "ana", "password": "x"})
        with pytest.raises(SourceError) as late:
            CaldavProvider(make_settings(fetch_timeout_seconds=1)).read(ref, {}, context)
        assert late.value.transient


def test_sync_collection_reads_changes_then_nothing(caldav_server: CaldavServer,
                                                    provider: CaldavProvider, source: SourceRef,
                                                    context: ReadContext) -> None:
    url = caldav_server.put("work", "a", vevent("a", "20250305T100000Z", "20250305T110000Z"))
    caldav_server.put("personal", "b", vevent("b", "20250306T100000Z", "20250306T110000Z"))
    first = provider.read(source, {}, context)
    assert first.complete and keys(first) == {("a", ""), ("b", "")}
    assert all(s["token"] for s in first.cursor["calendars"].values())

    before = len(caldav_server.calsync_requests())
    idle = provider.read(source, first.cursor, context)
    assert idle.unchanged and not idle.meetings
    # An idle sync costs one request per calendar: its sync-collection REPORT.
    assert [m for m, _p in caldav_server.calsync_requests()[before:]] == ["REPORT", "REPORT"]

    caldav_server.put("work", "a", vevent("a", "20250305T150000Z", "20250305T160000Z"))
    caldav_server.put("work", "c", vevent("c", "20250307T100000Z", "20250307T110000Z"))
    moved = provider.read(source, idle.cursor, context)
    assert not moved.complete and keys(moved) == {("a", ""), ("c", "")}
    assert next(m for m in moved.meetings if m.uid == "a").start.hour == 15

    caldav_server.delete(url)
    gone = provider.read(source, moved.cursor, context)
    assert gone.deleted == [("a", "")] and not gone.meetings


def test_without_sync_tokens_etags_of_the_window_are_compared(
        caldav_server: CaldavServer, provider: CaldavProvider, source: SourceRef,
        context: ReadContext) -> None:
    url = caldav_server.put("work", "a", vevent("a", "20250305T100000Z", "20250305T110000Z"))
    caldav_server.put("work", "b", vevent("b", "20250306T100000Z", "20250306T110000Z"))
    first = provider.read(source, {}, context)
    # As a server without sync-collection leaves it: no tokens stored.
    for state in first.cursor["calendars"].values():
        state["token"] = ""
    assert provider.read(source, first.cursor, context).unchanged
    caldav_server.put("work", "b", vevent("b", "20250306T120000Z", "20250306T130000Z"))
    caldav_server.delete(url)
    changed = provider.read(source, first.cursor, context)
    assert keys(changed) == {("b", "")} and changed.deleted == [("a", "")]
    assert not changed.complete


def test_an_invalid_sync_token_means_a_full_read(caldav_server: CaldavServer,
                                                 provider: CaldavProvider, source: SourceRef,
                                                 context: ReadContext) -> None:
    caldav_server.put("work", "a", vevent("a", "20250305T100000Z", "20250305T110000Z"))
    first = provider.read(source, {}, context)
    for state in first.cursor["calendars"].values():
        state["token"] = state["token"] + "-forged"
    again = provider.read(source, first.cursor, context)
    assert again.complete and keys(again) == {("a", "")}
    assert all(not s["token"].endswith("-forged") for s in again.cursor["calendars"].values())


def test_recurrence_with_overrides_and_a_changed_series(caldav_server: CaldavServer,
                                                        provider: CaldavProvider,
                                                        source: SourceRef,
                                                        context: ReadContext) -> None:
    caldav_server.put("work", "weekly", WEEKLY)
    first = provider.read(source, {}, context)
    starts = sorted(m.start for m in first.meetings)
    assert starts == [datetime(2025, 3, 3, 9, tzinfo=UTC), datetime(2025, 3, 11, 14, tzinfo=UTC),
                      datetime(2025, 3, 24, 9, tzinfo=UTC)]
    moved = next(m for m in first.meetings if m.title == "Standup (moved)")
    assert moved.recurrence_id == "2025-03-10T09:00:00Z"
    # One more date taken out: a repeating event changed is read whole, so the missing
    # occurrence vanishes as in any complete read.
    caldav_server.put("work", "weekly", WEEKLY.replace("EXDATE:20250317T090000Z",
                                                       "EXDATE:20250317T090000Z,20250324T090000Z"))
    changed = provider.read(source, first.cursor, context)
    assert changed.complete and len(changed.meetings) == 2
    # Another instance moved by another client: the same key, now at its new time.
    overridden = WEEKLY.replace("END:VCALENDAR\r\n", (
        "BEGIN:VEVENT\r\nUID:weekly\r\nDTSTAMP:20250101T000000Z\r\n"
        "RECURRENCE-ID:20250303T090000Z\r\nDTSTART:20250304T160000Z\r\n"
        "DTEND:20250304T163000Z\r\nSUMMARY:Standup (Tuesday)\r\nEND:VEVENT\r\n"
        "END:VCALENDAR\r\n"))
    caldav_server.put("work", "weekly", overridden)
    again = provider.read(source, changed.cursor, context)
    by_key = {m.key: m for m in again.meetings}
    assert len(by_key) == len(again.meetings) == 3
    assert by_key[("weekly", "2025-03-03T09:00:00Z")].start == datetime(2025, 3, 4, 16,
                                                                         tzinfo=UTC)
    # The series deleted: gone whole.
    caldav_server.delete(caldav_server.calendars["work"] + "weekly.ics")
    gone = provider.read(source, again.cursor, context)
    assert gone.complete and gone.meetings == []


def test_a_malformed_item_is_skipped_the_rest_imports(caldav_server: CaldavServer,
                                                      provider: CaldavProvider,
                                                      source: SourceRef,
                                                      context: ReadContext) -> None:
    caldav_server.put("work", "a", vevent("a", "20250305T100000Z", "20250305T110000Z"))
    first = provider.read(source, {}, context)
    no_start = vevent("b", "20250306T100000Z", "20250306T110000Z").replace(
        "DTSTART:20250306T100000Z\r\n", "")
    status, _h, _b = caldav_server.request("PUT", caldav_server.calendars["work"] + "b.ics",
                                           no_start)
    if status == 400:
        pytest.skip(f"{caldav_server.kind} refuses an event without a start itself")
    # A time-range query can't match an event without a start: sync-collection reports it.
    changes = provider.read(source, first.cursor, context)
    assert any("no start time" in warning for warning in changes.warnings), changes.warnings
    caldav_server.put("work", "c", vevent("c", "20250307T100000Z", "20250307T110000Z"))
    later = provider.read(source, changes.cursor, context)
    assert keys(later) == {("c", "")} and not later.warnings


def test_write_update_and_delete(caldav_server: CaldavServer, provider: CaldavProvider,
                                 source: SourceRef, context: ReadContext) -> None:
    event = followup(caldav_server)
    written = provider.write_event(source, event)
    assert written.etag and written.calendar_id == caldav_server.calendars["work"]
    text, etag = caldav_server.get(item_url(written.calendar_id, written.event_id))
    assert "X-CALSYNC-FOLLOWUP:fu-1" in text and "BEGIN:VALARM" in text
    assert "TRIGGER:-PT10M" in text and etag == written.etag

    later = dict(start=datetime(2025, 3, 21, 9, tzinfo=UTC),
                 end=datetime(2025, 3, 21, 9, 15, tzinfo=UTC))
    updated = provider.write_event(source, followup(caldav_server, etag=written.etag, **later))
    assert updated.etag != written.etag

    # calsync's own event is read as the follow-up it is, never as a meeting of its own.
    own = provider.read(source, {}, context)
    assert [m.extra[FOLLOWUP_MARK] for m in own.meetings] == ["fu-1"]
    assert own.meetings[0].uid == written.event_id
    assert own.meetings[0].start == later["start"]

    provider.delete_event(source, written.calendar_id, written.event_id)
    status, _h, _b = caldav_server.request("GET", item_url(written.calendar_id,
                                                            written.event_id))
    assert status == 404
    provider.delete_event(source, written.calendar_id, written.event_id)  # gone: done


def test_a_retried_create_adopts_its_own_event(caldav_server: CaldavServer,
                                               provider: CaldavProvider, source: SourceRef,
                                               ) -> None:
    first = provider.write_event(source, followup(caldav_server))
    # The worker died before noting the ETag: the same create is tried again.
    again = provider.write_event(source, followup(caldav_server, summary="Email: Acme (2)"))
    assert again.event_id == first.event_id and again.etag != first.etag
    assert caldav_server.items("work") == [f"{first.event_id}.ics"]
    assert "Acme (2)" in caldav_server.get(item_url(first.calendar_id, first.event_id))[0]


def test_a_strangers_event_at_our_address_is_left_alone(caldav_server: CaldavServer,
                                                        provider: CaldavProvider,
                                                        source: SourceRef) -> None:
    event = followup(caldav_server)
    caldav_server.put("work", event.event_id,
                      vevent(event.event_id, "20250305T100000Z", "20250305T110000Z"))
    with pytest.raises(SourceError, match="unrelated event"):
        provider.write_event(source, event)
    provider.delete_event(source, event.calendar_id, event.event_id)
    assert caldav_server.get(item_url(event.calendar_id, event.event_id))[0]


def test_a_followup_moved_by_another_client(caldav_server: CaldavServer,
                                            provider: CaldavProvider, source: SourceRef,
                                            context: ReadContext) -> None:
    written = provider.write_event(source, followup(caldav_server))
    first = provider.read(source, {}, context)
    url = item_url(written.calendar_id, written.event_id)
    text, _etag = caldav_server.get(url)
    caldav_server.put("work", written.event_id, text.replace("DTSTART:20250320T090000Z",
                                                             "DTSTART:20250320T150000Z")
                      .replace("DTEND:20250320T091500Z", "DTEND:20250320T151500Z"))
    moved = provider.read(source, first.cursor, context)
    [meeting] = moved.meetings
    assert meeting.extra[FOLLOWUP_MARK] == "fu-1" and meeting.start.hour == 15
    # calsync's next write (a new note) carries the old ETag: 412, re-read, and the time the
    # user chose stays because calsync did not move the follow-up itself.
    provider.write_event(source, followup(caldav_server, etag=written.etag,
                                          description="New note", times_changed=False))
    text, _etag = caldav_server.get(url)
    assert "DTSTART:20250320T150000Z" in text and "New note" in text
    # Moved far out of the window, it is still followed (not reported as deleted).
    caldav_server.put("work", written.event_id, text.replace("20250320T15", "20251120T15"))
    far = provider.read(source, moved.cursor, context)
    assert [m.start.month for m in far.meetings] == [11] and not far.deleted
