"""Reading a Google account through the real client against the emulator: every page of a
full sync, incremental syncs by token (one call per calendar when nothing changed), moved
and deleted occurrences, and how Google's events become meetings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

import pytest

from calsync.emulator import GoogleEmulator
from calsync.providers import google as google_module
from calsync.providers.base import FOLLOWUP_MARK, ReadContext, SourceRef
from calsync.providers.google import GoogleProvider
from calsync.providers.google_events import DESCRIPTION_LIMIT
from tests.providers.google.gcal import EMAIL, TEAM, hour, lists, timed

RefMaker = Callable[..., SourceRef]
FORBIDDEN = ("timeMin", "timeMax", "orderBy", "q", "updatedMin", "iCalUID",
             "privateExtendedProperty", "sharedExtendedProperty")


def seed(emulator: GoogleEmulator, count: int, calendar: str = EMAIL) -> None:
    for n in range(count):
        emulator.add_event(calendar, timed(hour(days=n % 90, at=8 + n % 10),
                                           summary=f"Call {n}"))


def test_first_sync_reads_every_page(emulator: GoogleEmulator, provider: GoogleProvider,
                                     make_ref: RefMaker, context: ReadContext,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    seed(emulator, 600)
    changes = provider.read(make_ref(), {}, context)
    assert changes.complete and len(changes.meetings) == 600
    (call,) = lists(emulator)
    assert call.query["maxResults"] == "2500" and call.query["singleEvents"] == "true"
    assert call.query["timeMin"] and call.query["timeMax"]
    assert changes.cursor["calendars"][EMAIL]["sync_token"]

    monkeypatch.setattr(google_module, "PAGE_SIZE", 250)
    before = len(lists(emulator))
    changes = provider.read(make_ref(), {}, context)
    calls = lists(emulator)[before:]
    assert len(calls) == 3
    assert "pageToken" not in calls[0].query
    assert all(c.query.get("pageToken") for c in calls[1:])
    assert len({m.key for m in changes.meetings}) == 600  # every page, nothing twice
    assert changes.cursor["calendars"][EMAIL]["sync_token"]


def test_incremental_sync_with_nothing_changed_costs_one_call_per_calendar(
        emulator: GoogleEmulator, provider: GoogleProvider, make_ref: RefMaker,
        context: ReadContext) -> None:
    seed(emulator, 5)
    seed(emulator, 3, calendar=TEAM)
    first = provider.read(make_ref(EMAIL, TEAM), {}, context)
    assert len(first.meetings) == 8 and set(first.cursor["calendars"]) == {EMAIL, TEAM}

    before = len(emulator.requests)
    again = provider.read(make_ref(EMAIL, TEAM), first.cursor, context)
    calls = emulator.requests[before:]
    assert len(calls) == 2 and calls == lists(emulator)[-2:]
    assert {c.path.split("/")[-2] for c in calls} == {EMAIL, TEAM}
    for call in calls:
        assert call.query["syncToken"] and call.query["singleEvents"] == "true"
        assert not set(FORBIDDEN) & set(call.query)
    assert again.unchanged and not again.complete
    assert again.cursor["calendars"][EMAIL]["sync_token"]


def test_moved_and_deleted_events_arrive_incrementally(
        emulator: GoogleEmulator, provider: GoogleProvider, make_ref: RefMaker,
        context: ReadContext) -> None:
    monday = hour(days=7, at=9)
    series = emulator.add_event(EMAIL, {
        **timed(monday, summary="Weekly pipeline"),
        "recurrence": ["RRULE:FREQ=WEEKLY;COUNT=4"]})
    single = emulator.add_event(EMAIL, timed(hour(days=3), summary="Pricing call"))
    other = emulator.add_event(EMAIL, timed(hour(days=4), summary="Demo"))
    first = provider.read(make_ref(), {}, context)
    stamp = [(monday + timedelta(weeks=n)).strftime("%Y-%m-%dT%H:%M:%SZ") for n in range(4)]
    assert sorted(m.key for m in first.meetings if m.series_uid) == [
        (series["id"], s) for s in stamp]
    assert {m.key for m in first.meetings if not m.series_uid} == {
        (single["id"], ""), (other["id"], "")}

    suffix = [s.replace("-", "").replace(":", "") for s in stamp]
    moved_to = monday + timedelta(weeks=1, hours=5)
    emulator.update_event(EMAIL, f"{series['id']}_{suffix[1]}", {
        "start": {"dateTime": moved_to.isoformat()},
        "end": {"dateTime": (moved_to + timedelta(minutes=30)).isoformat()}})
    emulator.delete_event(EMAIL, f"{series['id']}_{suffix[2]}")
    emulator.delete_event(EMAIL, single["id"])
    emulator.update_event(EMAIL, other["id"], {"summary": "Demo, second round"})

    changes = provider.read(make_ref(), first.cursor, context)
    assert not changes.complete and not changes.unchanged
    by_key = {m.key: m for m in changes.meetings}
    assert set(by_key) == {(series["id"], stamp[1]), (other["id"], "")}
    assert by_key[(series["id"], stamp[1])].start == moved_to
    assert by_key[(series["id"], stamp[1])].series_uid == series["id"]
    assert by_key[(other["id"], "")].title == "Demo, second round"
    assert sorted(changes.deleted) == sorted([(series["id"], stamp[2]), (single["id"], "")])


def test_a_whole_series_deleted_is_one_tombstone(emulator: GoogleEmulator,
                                                 provider: GoogleProvider, make_ref: RefMaker,
                                                 context: ReadContext) -> None:
    series = emulator.add_event(EMAIL, {**timed(hour(days=1), summary="Daily"),
                                        "recurrence": ["RRULE:FREQ=DAILY;COUNT=3"]})
    first = provider.read(make_ref(), {}, context)
    emulator.delete_event(EMAIL, series["id"])
    changes = provider.read(make_ref(), first.cursor, context)
    assert changes.deleted == [(series["id"], "")] and changes.meetings == []


@pytest.mark.parametrize("change", ["window", "calendar", "token"])
def test_full_sync_when_the_window_slides_a_calendar_is_added_or_the_token_expired(
        emulator: GoogleEmulator, provider: GoogleProvider, make_ref: RefMaker,
        context: ReadContext, change: str) -> None:
    seed(emulator, 2)
    seed(emulator, 1, calendar=TEAM)
    first = provider.read(make_ref(), {}, context)
    calendars = (EMAIL, TEAM) if change == "calendar" else (EMAIL,)
    if change == "window":
        context = replace(context, window_end=context.window_end + timedelta(days=1))
    if change == "token":
        emulator.expire_sync_tokens()
    before = len(lists(emulator))
    changes = provider.read(make_ref(*calendars), first.cursor, context)
    assert changes.complete
    assert len(changes.meetings) == (3 if change == "calendar" else 2)
    calls = lists(emulator)[before:]
    if change == "token":
        assert calls[0].query["syncToken"]  # answered 410: drop the tokens, sync in full
        calls = calls[1:]
    assert len(calls) == len(calendars)
    assert all("timeMin" in c.query and "syncToken" not in c.query for c in calls)
    assert changes.cursor["window_end"] == context.window_end.date().isoformat()


def test_events_become_meetings_with_people_links_and_calsyncs_mark(
        emulator: GoogleEmulator, provider: GoogleProvider, make_ref: RefMaker,
        context: ReadContext) -> None:
    start = hour(days=2)
    meet = emulator.add_event(EMAIL, timed(
        start, summary="Kick-off", location="Room 4", description="x" * 20_000,
        hangoutLink="https://meet.google.com/abc-defg-hij",
        organizer={"email": "Buyer@Prospect.example"},
        attendees=[{"email": "Buyer@Prospect.example", "displayName": "Buyer",
                    "responseStatus": "accepted"},
                   {"email": EMAIL, "responseStatus": "declined"},
                   {"email": "cfo@prospect.example"}]))
    zoom = emulator.add_event(EMAIL, timed(start + timedelta(hours=2), conferenceData={
        "entryPoints": [{"entryPointType": "phone", "uri": "tel:+1-555"},
                        {"entryPointType": "video", "uri": "https://zoom.example/j/1"}]}))
    offsite = emulator.add_event(EMAIL, {"summary": "Offsite", "start": {"date": "2031-01-06"},
                                         "end": {"date": "2031-01-08"}})
    ours = emulator.add_event(EMAIL, timed(start + timedelta(hours=4), extendedProperties={
        "private": {FOLLOWUP_MARK: "fu-1"}}))
    emulator.add_event(EMAIL, {**timed(start + timedelta(hours=6)), "eventType": "focusTime"})

    wide = replace(context, window_end=context.window_end + timedelta(days=3650))
    by_uid = {m.uid: m for m in provider.read(make_ref(), {}, wide).meetings}
    assert set(by_uid) == {meet["id"], zoom["id"], offsite["id"], ours["id"]}

    kickoff = by_uid[meet["id"]]
    assert (kickoff.title, kickoff.location, kickoff.start) == ("Kick-off", "Room 4", start)
    assert kickoff.recurrence_id == "" and kickoff.series_uid == ""
    assert kickoff.organizer == "buyer@prospect.example"
    assert len(kickoff.description) == DESCRIPTION_LIMIT
    assert kickoff.conference_url == "https://meet.google.com/abc-defg-hij"
    assert [(a.email, a.name, a.response, a.is_self) for a in kickoff.attendees] == [
        ("buyer@prospect.example", "Buyer", "accepted", False),
        (EMAIL, "", "declined", True),
        ("cfo@prospect.example", "", "needsaction", False)]
    assert kickoff.response_of("someone-else@acme-sales.com") == "declined"  # by `self`
    assert by_uid[zoom["id"]].conference_url == "https://zoom.example/j/1"

    allday = by_uid[offsite["id"]]
    assert allday.all_day and str(allday.start_date) == "2031-01-06"
    assert str(allday.end_date) == "2031-01-08"
    assert allday.start.isoformat() == "2031-01-06T00:00:00+01:00"  # midnight in Berlin

    mine = by_uid[ours["id"]]
    assert mine.extra == {FOLLOWUP_MARK: "fu-1", "etag": ours["etag"]}
    assert kickoff.extra == {}


def test_incremental_changes_outside_the_window_count_as_gone(
        emulator: GoogleEmulator, provider: GoogleProvider, make_ref: RefMaker,
        context: ReadContext) -> None:
    event = emulator.add_event(EMAIL, timed(hour(days=5)))
    ours = emulator.add_event(EMAIL, timed(hour(days=6), extendedProperties={
        "private": {FOLLOWUP_MARK: "fu-2"}}))
    first = provider.read(make_ref(), {}, context)
    far = hour(days=400)
    for event_id in (event["id"], ours["id"]):
        emulator.update_event(EMAIL, event_id, {
            "start": {"dateTime": far.isoformat()},
            "end": {"dateTime": (far + timedelta(hours=1)).isoformat()}})
    changes = provider.read(make_ref(), first.cursor, context)
    assert changes.deleted == [(event["id"], "")]
    assert [m.uid for m in changes.meetings] == [ours["id"]]  # calsync's own: followed anywhere
