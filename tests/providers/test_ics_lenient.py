"""What real producers write and no parser in the field chokes on is read as they meant it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from calsync.domain.meeting import MeetingData
from calsync.errors import SourceError
from calsync.providers.ics_parse import parse_ics

Ics = Callable[[str], bytes]
BERLIN = ZoneInfo("Europe/Berlin")
Expected = tuple[str, datetime, datetime, bool]


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def berlin(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=BERLIN)


def read(meetings: list[MeetingData]) -> list[Expected]:
    return sorted((m.title, m.start, m.end, m.all_day) for m in meetings)


EXPECTED: dict[str, list[Expected]] = {
    # A VEVENT saved on its own, without a VCALENDAR around it.
    "ics_lenient_lone_vevent": [
        ("Pricing call with Initech", utc(2025, 3, 12, 14), utc(2025, 3, 12, 15), False)],
    # `RRULE:` means no rule, `DTEND:` no end (a zero-length meeting), `EXDATE:` no exception.
    "ics_lenient_empty_values": [
        ("Demo for Globex", utc(2025, 3, 13, 13), utc(2025, 3, 13, 14), False),
        ("Intro call with Hooli", utc(2025, 3, 11, 9), utc(2025, 3, 11, 9, 30), False),
        ("Send the proposal", utc(2025, 3, 12, 13), utc(2025, 3, 12, 13), False)],
    # `BYDAY=MO, TU` and `EXDATE:a, b`: Mondays and Tuesdays, without 17 and 18 March.
    "ics_lenient_value_spaces": [
        ("Pipeline stand-up", berlin(2025, 3, d, 9), berlin(2025, 3, d, 9, 15), False)
        for d in (10, 11, 24, 25)],
    # The 17 March override with RANGE=THISANDFUTURE moves that week and every later one
    # an hour later, to 90 minutes, under its new title (RFC 5545 3.8.4.4), across the
    # change to summer time on 30 March.
    "ics_lenient_this_and_future": [
        *(("Pipeline review", berlin(2025, 3, d, 10), berlin(2025, 3, d, 11), False)
          for d in (3, 10)),
        *(("Pipeline review (new slot)", berlin(2025, m, d, 11), berlin(2025, m, d, 12, 30),
           False) for m, d in ((3, 17), (3, 24), (3, 31), (4, 7)))],
    # A date start makes an all-day event; the end time says which day it ends on.
    "ics_lenient_date_start_time_end": [
        ("Office day", berlin(2025, 4, 1), berlin(2025, 4, 2), True),
        ("Office day", berlin(2025, 4, 8), berlin(2025, 4, 9), True),
        ("Roadshow", berlin(2025, 3, 20), berlin(2025, 3, 22), True),
        ("Trade fair", berlin(2025, 3, 14), berlin(2025, 3, 15), True)],
    # The last END:VCALENDAR is missing after complete events.
    "ics_lenient_no_final_end": [
        ("Contract review", utc(2025, 3, 19, 15), utc(2025, 3, 19, 15, 30), False),
        ("Kick-off with Stark", utc(2025, 3, 17, 10), utc(2025, 3, 17, 11), False)],
    # A negative duration is read as no duration: a timed meeting ends when it starts, an
    # all-day one lasts its day. The start stays where the producer put it.
    "ics_lenient_negative_duration": [
        ("Call back Umbrella", utc(2025, 3, 18, 13), utc(2025, 3, 18, 13), False),
        ("Daily check-in", utc(2025, 3, 24, 8), utc(2025, 3, 24, 8), False),
        ("Daily check-in", utc(2025, 3, 25, 8), utc(2025, 3, 25, 8), False),
        ("Quote deadline", berlin(2025, 3, 21), berlin(2025, 3, 22), True)],
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_producer_quirk_gives_the_expected_meetings(name: str, ics: Ics, context):
    assert read(parse_ics(ics(name), context).meetings) == sorted(EXPECTED[name])


def test_this_and_future_occurrences_keep_their_own_recurrence_ids(ics: Ics, context):
    meetings = parse_ics(ics("ics_lenient_this_and_future"), context).meetings
    assert sorted(m.recurrence_id for m in meetings) == [
        "2025-03-03T09:00:00Z", "2025-03-10T09:00:00Z", "2025-03-17T09:00:00Z",
        "2025-03-24T09:00:00Z", "2025-03-31T08:00:00Z", "2025-04-07T08:00:00Z"]


def test_all_day_dates_of_a_date_start_with_a_time_end(ics: Ics, context):
    meetings = parse_ics(ics("ics_lenient_date_start_time_end"), context).meetings
    assert sorted((m.title, m.start_date, m.end_date) for m in meetings) == [
        ("Office day", date(2025, 4, 1), date(2025, 4, 2)),
        ("Office day", date(2025, 4, 8), date(2025, 4, 9)),
        ("Roadshow", date(2025, 3, 20), date(2025, 3, 22)),
        ("Trade fair", date(2025, 3, 14), date(2025, 3, 15))]


def test_negative_durations_and_a_missing_end_are_warned(ics: Ics, context):
    negative = parse_ics(ics("ics_lenient_negative_duration"), context).warnings
    assert any("Call back Umbrella" in w and "negative duration (-PT30M)" in w
               and "ending when it starts" in w for w in negative)
    assert any("Quote deadline" in w and "lasting one day" in w for w in negative)
    unclosed = parse_ics(ics("ics_lenient_no_final_end"), context).warnings
    assert unclosed == ["The calendar has no END:VCALENDAR line at its end; calsync read the "
                        "complete events before it."]


def test_quirks_that_need_no_warning_give_none(ics: Ics, context):
    for name in ("ics_lenient_lone_vevent", "ics_lenient_empty_values",
                 "ics_lenient_value_spaces", "ics_lenient_this_and_future",
                 "ics_lenient_date_start_time_end"):
        assert parse_ics(ics(name), context).warnings == [], name


@pytest.mark.parametrize("body", [
    # Cut off inside an event, or after a property: not a forgotten last line.
    b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART:20250310T090000Z\r\nEND:VEVENT\r\n"
    b"BEGIN:VEVENT\r\nUID:b\r\n",
    b"BEGIN:VEVENT\r\nUID:a\r\nDTSTART:20250310T090000Z\r\n",
])
def test_a_calendar_cut_off_inside_a_component_is_still_refused(body: bytes, context):
    with pytest.raises(SourceError, match="stops part-way"):
        parse_ics(body, context)


def test_control_characters_never_reach_a_meeting(context):
    # PostgreSQL refuses NUL in text: a title with one made every sync of the calendar fail.
    body = (b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:nul\x00@acme-sales.com\r\n"
            b"SUMMARY:Demo\x00 with\x1b Initech\r\nLOCATION:Room\x07 4\r\n"
            b"DTSTART:20250310T090000Z\r\nATTENDEE;CN=\"Pat\x00\":mailto:pat@initech.example\r\n"
            b"END:VEVENT\r\nEND:VCALENDAR\r\n")
    [meeting] = parse_ics(body, context).meetings
    assert (meeting.uid, meeting.title, meeting.location) == (
        "nul@acme-sales.com", "Demo with Initech", "Room 4")
    assert meeting.attendees[0].name == "Pat"
