"""Parsing and expanding ICS bodies into meetings: time zones, recurrences, bad input."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from calsync.domain.meeting import Attendee, MeetingData
from calsync.errors import SourceError
from calsync.providers import ics_parse
from calsync.providers.base import ReadContext
from calsync.providers.ics_parse import Limits, decode, parse_ics
from tests.conftest import DATA

Ics = Callable[[str], bytes]


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def by_key(meetings: list[MeetingData]) -> dict[tuple[str, str], MeetingData]:
    return {m.key: m for m in meetings}


def calendar(*events: str) -> bytes:
    body = "".join(f"BEGIN:VEVENT\r\n{e.strip()}\r\nEND:VEVENT\r\n" for e in events)
    head = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//calsync tests//EN\r\n"
    return f"{head}{body}END:VCALENDAR\r\n".encode()


def test_weekly_series_with_exdate_rdate_moved_and_cancelled_overrides(ics: Ics, context):
    meetings = parse_ics(ics("ics_weekly_series"), context).meetings
    uid = "weekly-sync@acme-sales.com"
    assert sorted(m.recurrence_id for m in meetings) == [
        "2025-03-03T09:00:00Z", "2025-03-10T09:00:00Z", "2025-03-19T14:00:00Z",  # RDATE
        "2025-03-24T09:00:00Z", "2025-03-31T08:00:00Z", "2025-04-07T08:00:00Z",
        "2025-04-14T08:00:00Z"]  # 17 March is an EXDATE; UNTIL ends the rule after 14 April
    keyed = by_key(meetings)
    moved = keyed[(uid, "2025-03-24T09:00:00Z")]
    assert moved.title == "Weekly sync with Hooli (moved)"
    assert moved.start == utc(2025, 3, 25, 10) and moved.end == utc(2025, 3, 25, 10, 30)
    assert keyed[(uid, "2025-04-07T08:00:00Z")].status == "cancelled"
    assert keyed[(uid, "2025-04-14T08:00:00Z")].status == "confirmed"
    assert all(m.series_uid == uid and m.uid == uid for m in meetings)
    # After the change to summer time the meeting stays at 10:00 in Berlin.
    assert keyed[(uid, "2025-03-31T08:00:00Z")].start == utc(2025, 3, 31, 8)
    assert keyed[(uid, "2025-03-03T09:00:00Z")].attendees == (
        Attendee("gavin@hooli.example", "Gavin B", "accepted"),)


def test_daily_series_keeps_local_time_across_the_berlin_dst_change(ics: Ics, context):
    meetings = sorted(parse_ics(ics("ics_dst_berlin"), context).meetings, key=lambda m: m.start)
    assert [m.start for m in meetings] == [
        utc(2025, 3, 28, 8), utc(2025, 3, 29, 8), utc(2025, 3, 30, 7), utc(2025, 3, 31, 7)]
    assert all(m.end - m.start == timedelta(minutes=15) for m in meetings)  # DURATION
    assert all(m.start.astimezone(ZoneInfo("Europe/Berlin")).hour == 9 for m in meetings)


def test_google_export_x_wr_timezone_keeps_the_series_at_nine_new_york_time(ics: Ics, context):
    parsed = parse_ics(ics("ics_google_export"), context)
    series = sorted((m for m in parsed.meetings if m.series_uid), key=lambda m: m.start)
    # UTC times in the file, but X-WR-TIMEZONE says the rule repeats in New York time:
    # from 10 March (US summer time) the meeting is an hour earlier in UTC.
    assert [m.start for m in series] == [
        utc(2025, 3, 3, 14), utc(2025, 3, 10, 13), utc(2025, 3, 17, 13), utc(2025, 3, 24, 13)]
    demo = by_key(parsed.meetings)[("7g8h9i0j1k2l3m4n5o6p@google.com", "")]
    assert demo.organizer == "ana@acme-sales.com"
    assert demo.attendees[1] == Attendee("ben.ortiz@globex.example", "Ben Ortiz", "needs-action")
    assert demo.location == "Globex HQ, 12 Main St, Springfield"
    assert demo.description == "Demo of the Q2 plan for Globex."
    assert demo.series_uid == "" and demo.recurrence_id == ""
    assert parsed.warnings == []


def test_outlook_export_with_windows_zone_names(ics: Ics, context):
    meetings = {m.title: m for m in parse_ics(ics("ics_outlook_export"), context).meetings}
    review = meetings["Quartalsgespräch Initech"]
    assert review.start == utc(2025, 4, 3, 8, 30)  # W. Europe Standard Time, summer: +02:00
    assert review.organizer == "lena.vogel@initech.example"
    assert review.attendees == (Attendee("ana@acme-sales.com", "Ana Lima", "tentative"),)
    # No VTIMEZONE for this one: the Windows name alone must be understood.
    assert meetings["Call with Umbrella (NY)"].start == utc(2025, 3, 11, 13)


def test_all_day_multi_day_and_missing_end_times(ics: Ics, context):
    meetings = {m.title: m for m in parse_ics(ics("ics_allday_multiday"), context).meetings}
    berlin = ZoneInfo("Europe/Berlin")
    offsite = meetings["Sales offsite"]  # DTSTART;VALUE=DATE without DTEND: one day
    assert offsite.all_day and offsite.start_date == date(2025, 3, 12)
    assert offsite.end_date == date(2025, 3, 13)
    assert offsite.start == datetime(2025, 3, 12, tzinfo=berlin)
    conference = meetings["SaaStr conference"]
    assert (conference.start_date, conference.end_date) == (date(2025, 3, 17), date(2025, 3, 20))
    assert conference.end - conference.start == timedelta(days=3)
    focus = sorted((m for m in parse_ics(ics("ics_allday_multiday"), context).meetings
                    if m.title == "Focus day"), key=lambda m: m.start)
    assert [m.recurrence_id for m in focus] == ["2025-03-07", "2025-03-14", "2025-03-21"]
    assert meetings["Send the quote"].end == meetings["Send the quote"].start  # no DTEND
    assert meetings["Quick call"].end - meetings["Quick call"].start == timedelta(minutes=45)


@pytest.mark.parametrize(("zone", "lunch_utc"), [
    ("Europe/Berlin", utc(2025, 3, 12, 11)),
    ("America/Los_Angeles", utc(2025, 3, 12, 19)),
])
def test_floating_times_are_read_in_the_users_time_zone(ics: Ics, zone: str, lunch_utc):
    context = ReadContext(utc(2025, 3, 1), utc(2025, 5, 1), ZoneInfo(zone))
    meetings = parse_ics(ics("ics_floating"), context).meetings
    lunch = next(m for m in meetings if m.title == "Lunch with Stark")
    assert lunch.start == lunch_utc and lunch.start.tzinfo is not None
    daily = sorted((m for m in meetings if m.series_uid), key=lambda m: m.start)
    assert len(daily) == 3
    assert all(m.start.astimezone(ZoneInfo(zone)).hour == 9 for m in daily)


def test_only_occurrences_inside_the_window_are_read(ics: Ics):
    april = ReadContext(utc(2025, 4, 1), utc(2025, 4, 10), ZoneInfo("Europe/Berlin"))
    meetings = parse_ics(ics("ics_weekly_series"), april).meetings
    assert [m.recurrence_id for m in meetings] == ["2025-04-07T08:00:00Z"]


def test_a_broken_event_is_skipped_with_a_warning_naming_it(ics: Ics, context):
    parsed = parse_ics(ics("ics_one_broken_event"), context)
    assert sorted(m.title for m in parsed.meetings) == ["Good meeting one", "Good meeting two"]
    text = "\n".join(parsed.warnings)
    assert "Meeting with a broken start" in text and "bad-start@acme-sales.com" in text
    assert "Meeting with a broken rule" in text and "RRULE" in text
    assert "Meeting without a start" in text and "DTSTART" in text
    # The unreadable EXDATE is dropped; the event and its attendee stay.
    two = next(m for m in parsed.meetings if m.title == "Good meeting two")
    assert two.attendees == (Attendee("pat@initech.example", "Pat", ""),)


GOOD = "UID:good\r\nSUMMARY:Good meeting\r\nDTSTART:20250310T090000Z\r\nDURATION:PT1H"
WEEKLY = ("UID:weekly\r\nSUMMARY:Weekly\r\nDTSTART:20250311T090000Z\r\nDURATION:PT30M\r\n"
          "RRULE:FREQ=WEEKLY;COUNT=3")
DAILY = "\r\nRRULE:FREQ=DAILY;COUNT=5"


@pytest.mark.parametrize(("uid", "times", "problem"), [
    ("odd", "DTSTART;VALUE=TEXT:hello\r\nDTEND:20250312T100000Z",
     "its DTSTART is not a date or time"),
    ("odd", "DTSTART;VALUE=TEXT:hello\r\nDTEND:20250312T100000Z" + DAILY,
     "its DTSTART is not a date or time"),
    ("odd", "DTSTART:20250312T090000Z\r\nDTEND;VALUE=TEXT:hello",
     "its DTEND is not a date or time"),
    ("odd", "DTSTART:20250312T090000Z\r\nDTEND;VALUE=TEXT:hello" + DAILY,
     "its DTEND is not a date or time"),
    # An override of the weekly series that says which date it replaces in words.
    ("weekly", "RECURRENCE-ID;VALUE=TEXT:hello\r\nDTSTART:20250318T100000Z\r\n"
     "DTEND:20250318T110000Z", "its RECURRENCE-ID is not a date or time"),
    ("odd", "DTSTART:20250312T090000Z\r\nDURATION:20250313",
     "its DURATION is not a length of time"),
    # recurring_ical_events reads a repeating event's DURATION as a length without checking.
    ("odd", "DTSTART:20250312T090000Z\r\nDURATION:20250313" + DAILY,
     "its DURATION is not a length of time"),
    ("odd", "DTSTART:20250312T090000Z\r\nDURATION:20250313T100000Z/PT1H" + DAILY,
     "its DURATION is not a length of time"),
    ("odd", "DTSTART:20250312T090000Z\r\nDURATION;VALUE=TEXT:hello" + DAILY,
     "its DURATION is not a length of time"),
], ids=["start", "start-repeating", "end", "end-repeating", "recurrence-id", "duration",
        "duration-repeating", "duration-period-repeating", "duration-text-repeating"])
def test_a_time_holding_another_kind_of_value_skips_only_its_event(
        uid: str, times: str, problem: str, context: ReadContext) -> None:
    # icalendar reads DTSTART;VALUE=TEXT as text: the event can't be placed, the rest can.
    parsed = parse_ics(calendar(GOOD, WEEKLY, f"UID:{uid}\r\nSUMMARY:Odd one\r\n{times}"),
                       context)
    assert sorted(m.title for m in parsed.meetings) == ["Good meeting", *["Weekly"] * 3]
    assert parsed.warnings == [f"Skipped “Odd one” (UID {uid}): {problem}."]


def test_a_duration_beside_an_end_is_not_read_so_its_kind_does_not_matter(context):
    # RFC 5545 allows only one of them; the end wins, as it does in every calendar app.
    event = ("UID:both\r\nSUMMARY:Both\r\nDTSTART:20250312T090000Z\r\n"
             "DTEND:20250312T100000Z\r\nDURATION:20250313" + DAILY)
    parsed = parse_ics(calendar(event), context)
    assert [m.end - m.start for m in parsed.meetings] == [timedelta(hours=1)] * 5
    assert parsed.warnings == []


def test_hostile_secondly_rules_are_bounded_and_warned(ics: Ics, context):
    started = time.monotonic()
    limits = Limits(max_occurrences_per_series=40, max_meetings=1000)
    parsed = parse_ics(ics("ics_hostile_secondly"), context, limits)
    # Unbounded, these rules never finish; the bound is generous for a loaded machine.
    assert time.monotonic() - started < 30
    counts: dict[str, int] = {}
    for meeting in parsed.meetings:
        counts[meeting.uid] = counts.get(meeting.uid, 0) + 1
    assert counts["every-second@hostile.example"] == 40
    assert counts["every-second-in-window@hostile.example"] == 40
    assert counts["fine@hostile.example"] == 1
    assert counts["never@hostile.example"] == 1  # a rule no date matches: only DTSTART
    text = "\n".join(parsed.warnings)
    assert "repeats too often" in text and "more than 40 occurrences" in text
    assert "no date matches" in text


def test_a_rule_starting_long_ago_gives_the_same_dates_after_the_shortcut(context):
    # Every 5 minutes since 2010: far too many steps from DTSTART, so the rule is moved
    # forward by whole periods; the dates inside the window must not change.
    body = calendar("UID:often\r\nSUMMARY:Ping\r\nDTSTART:20100101T000300Z\r\n"
                    "DURATION:PT1M\r\nRRULE:FREQ=MINUTELY;INTERVAL=5")
    short = ReadContext(utc(2025, 3, 1), utc(2025, 3, 1, 1), ZoneInfo("Europe/Berlin"))
    meetings = parse_ics(body, short).meetings
    assert [m.start.minute for m in sorted(meetings, key=lambda m: m.start)][:3] == [3, 8, 13]
    assert len(meetings) == 12
    assert meetings[0].recurrence_id.endswith(":03:00Z")


def test_meeting_total_is_bounded_with_a_warning(ics: Ics, context):
    parsed = parse_ics(ics("ics_weekly_series"), context, Limits(max_meetings=3))
    assert len(parsed.meetings) == 3
    assert any("more meetings than calsync reads" in w for w in parsed.warnings)


@pytest.mark.parametrize(("body", "expected"), [
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "it starts with binary data"),
    (b"<!DOCTYPE html><html><body>Sign in</body></html>", "it starts with “<!DOCTYPE html>"),
    (b"   \n", "The calendar is empty"),
    (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:x\r\n", "stops part-way"),
    (b"BEGIN:VCALENDAR\r\nX-BIG:" + b"a" * (1 << 20) + b"\r\nEND:VCALENDAR\r\n",
     "line longer than 1 MB"),
    (b"BEGIN:VCALENDAR\r\nthis is not a property\r\nEND:VCALENDAR\r\n", "could not read"),
    (b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nEND:VCALENDAR\r\n", "could not read"),
])
def test_bodies_that_are_not_a_calendar_are_refused_with_a_sentence(body, expected, context):
    with pytest.raises(SourceError) as caught:
        parse_ics(body, context)
    assert expected in caught.value.message
    assert not caught.value.transient
    assert "Traceback" not in str(caught.value)


def test_a_utf8_bom_is_stripped(context):
    body = b"\xef\xbb\xbf" + calendar("UID:a\r\nSUMMARY:Café\r\nDTSTART:20250310T090000Z")
    assert [m.title for m in parse_ics(body, context).meetings] == ["Café"]


def test_decoding_uses_the_declared_charset_then_utf8_then_cp1252(ics: Ics):
    latin = ics("ics_latin1")
    assert "Café mit Frau Müller" in decode(latin, "ISO-8859-1")[0]
    assert decode("Müller".encode(), "")[0] == "Müller"
    assert decode("Müller".encode(), "no-such-charset")[0] == "Müller"
    text, warnings = decode(latin, "")
    assert "Café mit Frau Müller" in text
    assert warnings and "Windows-1252" in warnings[0]


def _one_by_one(occurrences, recurring, tz, people=None, **_):  # type: ignore[no-untyped-def]
    """The reading every occurrence had before series were read from their first one."""
    return (ics_parse.to_meeting(o.as_component(False), recurring, tz, people)
            for o in occurrences)


@pytest.mark.parametrize("name", sorted(path.stem for path in DATA.glob("*.ics")))
def test_a_series_reads_as_if_each_occurrence_were_read_alone(
        name: str, ics: Ics, monkeypatch: pytest.MonkeyPatch) -> None:
    body = ics(name)
    years = ReadContext(datetime(2020, 1, 1, tzinfo=UTC), datetime(2030, 1, 1, tzinfo=UTC),
                        ZoneInfo("Europe/Berlin"))
    limits = Limits(max_occurrences_per_series=400, max_meetings=5000)

    def read() -> list[MeetingData] | str:
        try:  # in the order of their keys: series with overrides come out in any order
            return sorted(parse_ics(body, years, limits).meetings,
                          key=lambda m: (m.uid, m.recurrence_id, m.start))
        except SourceError as exc:
            return str(exc)

    fast = read()
    monkeypatch.setattr(ics_parse, "occurrence_meetings", _one_by_one)
    assert fast == read()
    if re.search(rb"BEGIN:VEVENT(?:(?!END:VEVENT).)*\nRRULE:FREQ=[DWMY]", body, re.S):
        assert isinstance(fast, list) and any(m.series_uid for m in fast)  # a series was read
