"""The Microsoft provider against the Graph emulator: delta rounds (paged, then one request
when idle), 410 and window changes, occurrences, throttling, tokens and TLS, and writes."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, timedelta
from pathlib import Path

import pytest

from calsync.config import Settings
from calsync.domain.vocabulary import FollowUpStatus, SourceStatus
from calsync.emulator.microsoft import MicrosoftEmulator
from calsync.errors import SourceError
from calsync.providers import microsoft
from calsync.providers.base import FOLLOWUP_MARK, OutgoingEvent, ReadContext, SourceRef
from calsync.providers.microsoft import MicrosoftProvider
from calsync.providers.microsoft_events import PROPERTY_SET
from calsync.providers.microsoft_graph import tls_verify
from tests.microsoft.mscal import graph_calls, hour, timed
from tests.servers.microsoft import EMAIL


def default(emulator: MicrosoftEmulator) -> str:
    return emulator.calendar_ids(EMAIL)[0]


def test_pages_then_one_request_when_idle(emulator: MicrosoftEmulator,
                                          provider: MicrosoftProvider,
                                          make_ref: Callable[..., SourceRef],
                                          context: ReadContext,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(microsoft, "PAGE_SIZE", 2)
    calendar = default(emulator)
    ids = {emulator.add_event(calendar, timed(hour(day), subject=f"Call {day}"))["id"]
           for day in range(1, 6)}
    emulator.add_event(calendar, timed(hour(400), subject="Far away"))  # outside the window
    source = make_ref()
    first = provider.read(source, {}, context)
    assert first.complete and {m.uid for m in first.meetings} == ids
    deltas = [r for r in graph_calls(emulator) if r.path.endswith("/calendarView/delta")]
    assert len(deltas) == 3  # five meetings, two a page
    assert deltas[0].query["startDateTime"] == context.window_start.astimezone(UTC).strftime(
        "%Y-%m-%dT%H:%M:%SZ")

    before = len(emulator.requests)
    idle = provider.read(source, first.cursor, context)
    assert idle.unchanged and len(emulator.requests) == before + 1
    assert "$deltatoken" in emulator.requests[-1].query


def test_changes_removals_and_an_expired_delta_link(emulator: MicrosoftEmulator,
                                                     provider: MicrosoftProvider,
                                                     make_ref: Callable[..., SourceRef],
                                                     context: ReadContext) -> None:
    calendar = default(emulator)
    kept = emulator.add_event(calendar, timed(hour(1), subject="Pricing"))["id"]
    gone = emulator.add_event(calendar, timed(hour(2), subject="Demo"))["id"]
    source = make_ref()
    cursor = provider.read(source, {}, context).cursor
    emulator.update_event(calendar, kept, {"subject": "Pricing (v2)"})
    emulator.delete_event(calendar, gone)
    changes = provider.read(source, cursor, context)
    assert not changes.complete
    assert [m.title for m in changes.meetings] == ["Pricing (v2)"]
    assert changes.deleted == [(gone, "")]

    emulator.expire_delta_tokens()
    again = provider.read(source, changes.cursor, context)
    assert again.complete and [m.uid for m in again.meetings] == [kept]
    # the window moved a day: read in full, not from the old round
    later = dataclasses.replace(context, window_end=context.window_end + timedelta(days=1))
    assert provider.read(source, again.cursor, later).complete


def test_occurrences_are_keyed_by_series_and_original_start(
        emulator: MicrosoftEmulator, provider: MicrosoftProvider,
        make_ref: Callable[..., SourceRef], context: ReadContext) -> None:
    calendar = default(emulator)
    monday = hour(1, at=9)
    series = emulator.add_event(calendar, timed(monday, subject="Weekly", recurrence={
        "pattern": {"type": "daily", "interval": 7},
        "range": {"type": "numbered", "startDate": monday.date().isoformat(),
                  "numberOfOccurrences": 3}}))
    source = make_ref()
    first = provider.read(source, {}, context)
    keys = sorted(m.key for m in first.meetings)
    starts = [(monday + timedelta(days=7 * n)).strftime("%Y-%m-%dT%H:%M:%SZ") for n in range(3)]
    assert keys == [(series["id"], s) for s in starts]
    assert {m.series_uid for m in first.meetings} == {series["id"]}

    second = next(m for m in first.meetings if m.recurrence_id == starts[1])
    occurrence_id = next(e["id"] for e in _view(emulator, source, provider, context)
                         if e.get("originalStart", "").startswith(starts[1][:16]))
    emulator.delete_event(calendar, occurrence_id)
    changes = provider.read(source, first.cursor, context)
    assert changes.deleted == [second.key]


def _view(emulator: MicrosoftEmulator, source: SourceRef, provider: MicrosoftProvider,
          context: ReadContext) -> list[dict[str, object]]:
    from calsync.providers.microsoft_graph import Graph

    with Graph(provider.settings, dict(source.credentials or {})) as graph:
        start = context.window_start.strftime("%Y-%m-%dT%H:%M:%SZ")
        end = context.window_end.strftime("%Y-%m-%dT%H:%M:%SZ")
        answer = graph.call("GET", f"me/calendarView?startDateTime={start}&endDateTime={end}"
                                   "&$top=100")
        return list(answer.json()["value"])


def test_throttling_honours_retry_after(emulator: MicrosoftEmulator,
                                        provider: MicrosoftProvider,
                                        make_ref: Callable[..., SourceRef],
                                        context: ReadContext, sleeps: list[float]) -> None:
    emulator.add_event(default(emulator), timed(hour(1)))
    emulator.fail_next(1, 429, retry_after=7)
    assert len(provider.read(make_ref(), {}, context).meetings) == 1
    assert sleeps == [7.0]
    emulator.fail_next(1, 503, retry_after=600)  # longer than calsync waits in a job
    with pytest.raises(SourceError) as busy:
        provider.read(make_ref(), {}, context)
    assert busy.value.transient and "600 seconds" in busy.value.reason
    emulator.fail_next(3, 429, retry_after=1)
    with pytest.raises(SourceError) as throttled:
        provider.read(make_ref(), {}, context)
    assert throttled.value.transient


def test_tokens_refresh_in_place_and_a_revoked_grant_needs_reconnect(
        emulator: MicrosoftEmulator, provider: MicrosoftProvider,
        make_ref: Callable[..., SourceRef], context: ReadContext) -> None:
    source = make_ref()
    assert source.credentials is not None
    old = source.credentials["token"]
    emulator.expire_access_tokens()  # Graph says 401 though calsync's expiry is later
    provider.read(source, {}, context)
    assert source.credentials["token"] != old
    source.credentials["expiry"] = "2000-01-01T00:00:00+00:00"  # known expired: refreshed first
    provider.read(source, {}, context)
    assert any(r.path.endswith("/oauth2/v2.0/token") for r in emulator.requests)

    emulator.revoke_grant(EMAIL)
    with pytest.raises(SourceError) as refused:
        provider.read(source, {}, context)
    assert refused.value.status is SourceStatus.NEEDS_RECONNECT


def test_tls_trusts_the_bundle_besides_the_system_and_is_never_off(
        emulator: MicrosoftEmulator, ms_settings: Settings, make_ref: Callable[..., SourceRef],
        context: ReadContext) -> None:
    combined = Path(str(tls_verify(ms_settings))).read_text()
    assert emulator.ca_path.read_text().strip() in combined
    assert combined.count("BEGIN CERTIFICATE") > 10  # the system's are there too
    untrusted = MicrosoftProvider(dataclasses.replace(ms_settings, microsoft_ca_bundle=""))
    with pytest.raises(SourceError) as refused:
        untrusted.read(make_ref(), {}, context)
    assert refused.value.transient


def followup(calendar_id: str, **changes: object) -> OutgoingEvent:
    base = OutgoingEvent(
        calendar_id=calendar_id, event_id="c0ffee0123456789", summary="Email: Acme",
        description="Offer", start=hour(4), end=hour(4) + timedelta(minutes=15),
        timezone="Europe/Berlin", status=FollowUpStatus.PLANNED, reminder_minutes=25,
        private_properties={FOLLOWUP_MARK: "fu-1", "calsync_followup_id": "7"})
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_a_write_carries_reminder_mark_and_transaction(emulator: MicrosoftEmulator,
                                                       provider: MicrosoftProvider,
                                                       make_ref: Callable[..., SourceRef]) -> None:
    calendar = default(emulator)
    written = provider.write_event(make_ref(), followup(calendar))
    [stored] = emulator.events(calendar)
    assert stored["id"] == written.event_id and stored["@odata.etag"] == written.etag
    assert stored["reminderMinutesBeforeStart"] == 25 and stored["isReminderOn"]
    assert stored["transactionId"] == "calsync-fu-1"
    props = emulator.state.calendars[calendar].events[written.event_id].extended
    assert props[f"String {PROPERTY_SET} Name calsync_followup_id"] == "7"


def test_an_update_after_an_outlook_edit_keeps_the_users_time(
        emulator: MicrosoftEmulator, provider: MicrosoftProvider,
        make_ref: Callable[..., SourceRef]) -> None:
    calendar = default(emulator)
    source = make_ref()
    first = provider.write_event(source, followup(calendar))
    moved = timed(hour(6, at=15), minutes=15)
    emulator.update_event(calendar, first.event_id, {"start": moved["start"],
                                                     "end": moved["end"]})
    again = provider.write_event(source, followup(
        calendar, event_id=first.event_id, etag=first.etag, summary="Email: Acme (v2)",
        times_changed=False))
    [stored] = emulator.events(calendar)
    assert stored["subject"] == "Email: Acme (v2)" and again.etag == stored["@odata.etag"]
    assert stored["start"]["dateTime"].startswith(moved["start"]["dateTime"])
    patches = [r for r in emulator.requests if r.method == "PATCH"]
    assert len(patches) == 2  # refused once on the old etag (412), then re-read and applied


def test_a_deleted_event_is_written_afresh_and_deleting_twice_is_fine(
        emulator: MicrosoftEmulator, provider: MicrosoftProvider,
        make_ref: Callable[..., SourceRef]) -> None:
    calendar = default(emulator)
    source = make_ref()
    first = provider.write_event(source, followup(calendar))
    provider.delete_event(source, calendar, first.event_id)
    provider.delete_event(source, calendar, first.event_id)
    provider.delete_event(source, calendar, "c0ffee0123456789")  # an id Graph never gave
    assert emulator.events(calendar) == []
    again = provider.write_event(source, followup(calendar, event_id=first.event_id,
                                                  etag=first.etag))
    assert [e["id"] for e in emulator.events(calendar)] == [again.event_id]


def test_a_followup_moved_out_of_the_window_is_followed(
        emulator: MicrosoftEmulator, provider: MicrosoftProvider,
        make_ref: Callable[..., SourceRef], context: ReadContext) -> None:
    calendar = default(emulator)
    source = make_ref()
    written = provider.write_event(source, followup(calendar))
    other = emulator.add_event(calendar, timed(hour(3), subject="Pricing"))["id"]
    cursor = provider.read(source, {}, context).cursor
    far = timed(hour(300))
    emulator.update_event(calendar, written.event_id, {"start": far["start"], "end": far["end"]})
    emulator.update_event(calendar, other, {"start": far["start"], "end": far["end"]})
    changes = provider.read(source, cursor, context)
    [own] = changes.meetings
    assert own.uid == written.event_id and own.extra[FOLLOWUP_MARK] == "fu-1"
    assert own.start == hour(300)
    assert changes.deleted == [(other, "")]
