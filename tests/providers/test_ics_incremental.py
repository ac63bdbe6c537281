"""Incremental ICS reads (issue 12): the line-scan split by UID, and a changed feed parsed
only where it changed, through the real provider and sync over a loopback server."""

from __future__ import annotations

import codecs
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from calsync.jobs import sync
from calsync.models import Meeting, Source
from calsync.providers.base import ReadContext, SourceRef
from calsync.providers.ics import IcsProvider
from calsync.providers.ics_parse import parse_ics
from calsync.providers.ics_split import Split, split

ZONE = ("BEGIN:VTIMEZONE", "TZID:Office", "BEGIN:STANDARD", "DTSTART:19700101T000000",
        "TZOFFSETFROM:+0100", "TZOFFSETTO:+0100", "END:STANDARD", "END:VTIMEZONE")


def event(uid: str, start: str, title: str = "", *extra: str) -> list[str]:
    return ["BEGIN:VEVENT", f"UID:{uid}", f"SUMMARY:{title or uid}", f"DTSTART:{start}",
            "DURATION:PT1H", *extra, "END:VEVENT"]


def calendar(*events: list[str], head: tuple[str, ...] = ()) -> bytes:
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//calsync tests//EN", *head]
    for lines_of_event in events:
        lines += lines_of_event
    return ("\r\n".join([*lines, "END:VCALENDAR"]) + "\r\n").encode()


SERIES = event("weekly", "20250303T090000Z", "Weekly", "RRULE:FREQ=WEEKLY")
MOVED = ["BEGIN:VEVENT", "UID:weekly", "RECURRENCE-ID:20250310T090000Z", "SUMMARY:Moved",
         "DTSTART:20250310T150000Z", "DURATION:PT1H", "END:VEVENT"]
ALARMED = event("alarmed", "20250305T100000Z", "With alarm",
                "BEGIN:VALARM", "ACTION:DISPLAY", "UID:alarm-uid", "TRIGGER:-PT5M",
                "END:VALARM")


# The split, on its own.

def cut(body: bytes) -> Split | None:
    return split(body, "utf-8", 1 << 20)


def test_the_split_groups_a_series_with_its_overrides_and_keeps_zones_in_the_head():
    parts = cut(calendar(SERIES, ALARMED, MOVED, event("single", "20250306T100000Z"),
                           head=ZONE))
    assert parts is not None
    assert list(parts.blocks) == ["weekly", "alarmed", "single"]
    assert len(parts.blocks["weekly"]) == 2
    assert parts.recurring == {"weekly"}
    assert parts.starts == {"alarmed": "20250305", "single": "20250306"}
    assert b"TZID:Office" in parts.head and b"VEVENT" not in parts.head
    # An alarm's own UID is not the event's.
    alarmed = b"".join(parts.data[a:b] for a, b in parts.blocks["alarmed"])
    assert alarmed.startswith(b"BEGIN:VEVENT") and b"END:VALARM" in alarmed


def test_an_override_changes_only_its_series_hash():
    before = cut(calendar(SERIES, MOVED, ALARMED))
    after = cut(calendar(SERIES, [*MOVED[:3], "SUMMARY:Moved again", *MOVED[4:]],
                           ALARMED))
    assert before is not None and after is not None
    assert before.digests["alarmed"] == after.digests["alarmed"]
    assert before.digests["weekly"] != after.digests["weekly"]
    assert before.head_digest() == after.head_digest()


def test_folded_lines_are_read_unfolded():
    parts = cut(calendar(["BEGIN:VEV", " ENT", "UID:long-", " uid@example", "DTSTART:20250305",
                          " T100000Z", "RRU", " LE:FREQ=DAILY", "END:VEVENT"]))
    assert parts is not None
    assert list(parts.blocks) == ["long-uid@example"]
    assert parts.recurring == {"long-uid@example"}


def test_calendars_the_scan_cannot_split_safely_are_read_whole():
    no_uid = ["BEGIN:VEVENT", "DTSTART:20250305T100000Z", "END:VEVENT"]
    escaped = event("a\\,b", "20250305T100000Z")
    two = calendar(SERIES) + calendar(ALARMED)
    unpaired = calendar(["BEGIN:VEVENT", "UID:x", "END:VTODO"])
    trailing = calendar(SERIES) + b"BEGIN:VEVENT\r\nUID:late\r\nEND:VEVENT\r\n"
    long_line = calendar(event("long", "20250305T100000Z", "x" * 100))
    assert split(long_line, "utf-8", 50) is None
    for body in (calendar(no_uid), calendar(escaped), two, unpaired, trailing):
        assert cut(body) is None, body


def test_a_byte_order_mark_and_windows_1252_split_like_utf_8(context):
    body = codecs.BOM_UTF8 + calendar(event("bom", "20250305T100000Z"))
    parts = cut(body)
    assert parts is not None and list(parts.blocks) == ["bom"]
    latin = calendar(event("café", "20250305T100000Z", "Réunion")).decode().encode("cp1252")
    parsed = parse_ics(latin, context)
    assert parsed.selection is not None  # it was split, not read whole
    assert [(m.uid, m.title) for m in parsed.meetings] == [("café", "Réunion")]
    assert "Windows-1252" in parsed.warnings[0]


def test_the_parts_carry_the_head_so_each_reads_alone():
    parts = cut(calendar(SERIES, MOVED, ALARMED, event("single", "20250306T100000Z")))
    assert parts is not None
    pieces = [parts.calendar(uids) for uids in parts.groups(["alarmed", "weekly", "single"], 1)]
    assert len(pieces) > 1
    assert all(p.startswith(b"BEGIN:VCALENDAR") and p.endswith(b"END:VCALENDAR\r\n")
               for p in pieces)
    joined = b"".join(pieces)
    assert joined.count(b"UID:alarmed") == 1 and joined.count(b"UID:weekly") == 2
    assert joined.index(b"UID:alarmed") < joined.index(b"UID:weekly")


def test_a_head_of_many_zones_is_not_parsed_again_for_every_few_events():
    zones = tuple(line.replace("Office", f"Office{n}") for n in range(20) for line in ZONE)
    parts = cut(calendar(SERIES, MOVED, ALARMED, head=zones))
    assert parts is not None
    assert len(list(parts.groups(["alarmed", "weekly"], 1))) == 1


# The provider: what a re-read parses and what it says changed.

def read(provider, url, cursor, context):  # type: ignore[no-untyped-def]
    return provider.read(SourceRef(1, url=url), cursor, context)


def test_a_changed_feed_names_only_what_changed(http_files, make_settings, context):
    url = http_files.serve("/c.ics", calendar(SERIES, MOVED, ALARMED,
                                              event("gone", "20250307T100000Z")))
    provider = IcsProvider(make_settings())
    first = read(provider, url, {}, context)
    assert first.complete and set(first.cursor["events"]) == {"weekly", "alarmed", "gone"}
    http_files.serve("/c.ics", calendar(SERIES, MOVED, event("alarmed", "20250305T100000Z",
                                                              "Renamed"),
                                        event("new", "20250308T100000Z")))
    second = read(provider, url, first.cursor, context)
    assert not second.complete and not second.unchanged
    assert second.complete_uids == ["alarmed", "new"]
    assert second.deleted == [("gone", "")]
    assert sorted(m.title for m in second.meetings) == ["Renamed", "new"]
    assert set(second.cursor["events"]) == {"weekly", "alarmed", "new"}


def test_a_zone_or_calendar_property_change_reads_everything(http_files, make_settings,
                                                            context):
    url = http_files.serve("/c.ics", calendar(SERIES, ALARMED, head=ZONE))
    provider = IcsProvider(make_settings())
    first = read(provider, url, {}, context)
    http_files.serve("/c.ics", calendar(SERIES, ALARMED,
                                        head=(*ZONE, "X-WR-TIMEZONE:Europe/Berlin")))
    second = read(provider, url, first.cursor, context)
    assert second.complete
    assert {m.uid for m in second.meetings} == {"weekly", "alarmed"}


def test_the_daily_window_move_reads_only_series_and_events_entering_it(
        http_files, make_settings, context):
    # 2025-05-01 ends the window; the next day's window ends on 2025-05-02.
    url = http_files.serve("/c.ics", calendar(SERIES, ALARMED,
                                              event("entering", "20250501T120000Z"),
                                              event("far", "20250610T120000Z")))
    provider = IcsProvider(make_settings())
    first = read(provider, url, {}, context)
    assert "entering" not in {m.uid for m in first.meetings}
    day = timedelta(days=1)
    later = ReadContext(context.window_start + day, context.window_end + day, context.timezone)
    second = read(provider, url, first.cursor, later)
    assert not second.complete
    assert sorted(second.complete_uids) == ["entering", "weekly"]
    assert "entering" in {m.uid for m in second.meetings}
    # A window that grew is read whole.
    grown = ReadContext(context.window_start, context.window_end + day, context.timezone)
    assert read(provider, url, first.cursor, grown).complete


def test_the_meeting_limit_counts_the_events_not_read_again(http_files, make_settings,
                                                            context):
    url = http_files.serve("/c.ics", calendar(SERIES, ALARMED))
    provider = IcsProvider(make_settings(max_meetings_per_source=12))
    first = read(provider, url, {}, context)
    assert len(first.meetings) == 10  # nine Mondays in the window, and one event
    http_files.serve("/c.ics", calendar(SERIES, ALARMED, *(
        event(f"new-{n}", f"2025031{n}T100000Z") for n in range(4))))
    second = read(provider, url, first.cursor, context)
    assert len(second.meetings) == 2 and any("more meetings" in w for w in second.warnings)
    assert second.complete_uids == []  # cut off: no UID may lose the meetings it lacks
    assert "events" not in second.cursor  # so the next read reads it all


def test_warnings_of_events_not_read_again_stay(http_files, make_settings, context):
    broken = ["BEGIN:VEVENT", "UID:broken", "SUMMARY:No start", "END:VEVENT"]
    url = http_files.serve("/c.ics", calendar(broken, ALARMED))
    provider = IcsProvider(make_settings())
    first = read(provider, url, {}, context)
    assert any("UID broken" in w for w in first.warnings)
    http_files.serve("/c.ics", calendar(broken, event("alarmed", "20250305T100000Z", "New")))
    second = read(provider, url, first.cursor, context)
    assert second.complete_uids == ["alarmed"]
    assert any("UID broken" in w for w in second.warnings)
    http_files.serve("/c.ics", calendar(event("broken", "20250306T100000Z"), ALARMED))
    third = read(provider, url, second.cursor, context)
    assert not any("UID broken" in w for w in third.warnings)


# Through sync: an incremental read changes only its UIDs' rows.

def test_sync_applies_an_incremental_read(db_session, settings, user, http_files):
    now = datetime(2025, 3, 20, 12, tzinfo=UTC)
    url = http_files.serve("/c.ics", calendar(SERIES, MOVED, ALARMED,
                                              event("gone", "20250307T100000Z")))
    source = Source(user_id=user.id, kind="ics", name="feed", url=url, options={}, cursor={},
                    warnings=[], next_sync_at=now)
    db_session.add(source)
    db_session.commit()
    sync.sync_source(db_session, settings, source.id, now=now)

    def rows() -> dict[tuple[str, str], Meeting]:
        db_session.expire_all()
        return {(m.uid, m.recurrence_id): m for m in db_session.scalars(
            select(Meeting).where(Meeting.source_id == source.id))}

    before = rows()
    weekly = sorted(key for key in before if key[0] == "weekly")
    assert ("weekly", "2025-03-10T09:00:00Z") in before
    # The series loses an occurrence (EXDATE); one event goes; one is renamed.
    dropped = "2025-03-17T09:00:00Z"
    http_files.serve("/c.ics", calendar(
        [*SERIES[:-1], "EXDATE:20250317T090000Z", "END:VEVENT"], MOVED,
        event("alarmed", "20250305T100000Z", "Renamed")))
    report = sync.sync_source(db_session, settings, source.id, now=now + timedelta(hours=1))
    after = rows()
    assert after[("weekly", dropped)].status == "cancelled"
    assert after[("gone", "")].status == "cancelled"
    assert after[("alarmed", "")].title == "Renamed"
    kept = [key for key in weekly if key[1] != dropped]
    assert all(after[key].status == "confirmed" for key in kept)
    assert report.cancelled == 2 and report.updated == 1 and report.added == 0
    assert db_session.get(Source, source.id).cursor["events"].keys() == {"weekly", "alarmed"}

