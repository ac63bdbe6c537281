"""The feed renderer: RFC 5545 output read back by icalendar and by the independent `ical`."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
from ical.calendar_stream import IcsCalendarStream
from ical.timezone import IcsTimezoneInfo

from calsync.feed.render import (
    CANCELLED_KEEP_DAYS,
    PRODID,
    FeedEvent,
    feed_events,
    render_feed,
    strong_etag,
)

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
TRICKY_NOTE = 'Ask about price, terms; path C:\\Nina\\new\nsecond line "quoted"\\n literal'


def make_event(n: int = 1, **changes: object) -> FeedEvent:
    start = datetime(2025, 6, 2, 9, 0, tzinfo=UTC) + timedelta(days=n)
    values: dict[str, object] = {
        "uid": f"followup-{n}@calsync.test",
        "summary": "send pricing",
        "start": start,
        "end": start + timedelta(minutes=30),
        "channel": "call",
        "note": f"note {n}",
        "status": "planned",
        "sequence": n,
        "changed_at": datetime(2025, 5, 20, 8, 15, 30, tzinfo=UTC) + timedelta(hours=n),
        "cancelled_at": None,
        "deal_name": "Acme",
        "deal_url": f"https://calsync.test/deals/{n}",
    }
    values.update(changes)
    return FeedEvent(**values)  # type: ignore[arg-type]


def render(events: list[FeedEvent], tz: ZoneInfo = BERLIN, **kwargs: object) -> bytes:
    return render_feed(events, calendar_name="Nina's follow-ups", tz=tz, **kwargs)  # type: ignore[arg-type]


def lines(body: bytes) -> list[bytes]:
    """The unfolded content lines."""
    return body.replace(b"\r\n ", b"").split(b"\r\n")[:-1]


def by_uid(body: bytes) -> tuple[dict, dict]:
    """The events of both parsers, keyed by UID."""
    ours = {str(e["UID"]): e for e in icalendar.Calendar.from_ical(body).events}
    theirs = {e.uid: e for e in IcsCalendarStream.calendar_from_ics(body.decode()).events}
    assert ours.keys() == theirs.keys()
    return ours, theirs


def test_calendar_properties() -> None:
    body = render([make_event()], refresh_minutes=30)
    head = lines(body)[:12]
    for expected in (
        b"BEGIN:VCALENDAR",
        f"PRODID:{PRODID}".encode(),
        b"VERSION:2.0",
        b"CALSCALE:GREGORIAN",
        b"METHOD:PUBLISH",
        b"NAME:Nina's follow-ups",
        b"X-WR-CALNAME:Nina's follow-ups",
        b"X-WR-TIMEZONE:Europe/Berlin",
        b"REFRESH-INTERVAL;VALUE=DURATION:PT30M",
        b"X-PUBLISHED-TTL:PT30M",
    ):
        assert expected in head
    theirs = IcsCalendarStream.calendar_from_ics(body.decode())
    assert (theirs.prodid, theirs.method, theirs.x_wr_timezone) == (PRODID, "PUBLISH", BERLIN.key)


def test_events_round_trip_through_both_parsers() -> None:
    events = [make_event(1), make_event(2, channel="visit", status="done")]
    ours, theirs = by_uid(render(events))
    assert sorted(ours) == ["followup-1@calsync.test", "followup-2@calsync.test"]
    for event in events:
        mine, other = ours[event.uid], theirs[event.uid]
        assert mine["SEQUENCE"] == other.sequence == event.sequence
        assert mine.start == other.dtstart == event.start
        assert mine.end == other.dtend == event.end
        # DTSTAMP and LAST-MODIFIED are the last change in UTC, never the render time.
        assert mine["DTSTAMP"].dt == mine["LAST-MODIFIED"].dt == event.changed_at
        assert other.dtstamp == other.last_modified == event.changed_at
        assert mine["DTSTAMP"].dt.utcoffset() == timedelta(0)
        assert str(mine["STATUS"]) == other.status == "CONFIRMED"
        assert str(mine["TRANSP"]) == other.transparency == "OPAQUE"
        assert str(mine["URL"]) == other.url == event.deal_url
        assert event.note in other.description
        assert event.deal_url in other.description
    assert theirs["followup-1@calsync.test"].summary == "Call: Acme — send pricing"
    assert theirs["followup-2@calsync.test"].summary == "Visit: Acme — send pricing"
    assert "Channel: Visit" in theirs["followup-2@calsync.test"].description
    assert theirs["followup-2@calsync.test"].categories == ["Visit"]


def test_times_carry_the_users_tzid_and_a_matching_vtimezone() -> None:
    body = render([make_event(1), make_event(40)])
    times = [line for line in lines(body) if line.startswith((b"DTSTART", b"DTEND"))]
    event_times = [t for t in times if b"TZID" in t]
    assert len(event_times) == 4  # the rest are the VTIMEZONE's own local onsets
    prefixes = (b"DTSTART;TZID=Europe/Berlin:", b"DTEND;TZID=Europe/Berlin:")
    assert all(t.startswith(prefixes) for t in event_times)
    calendar = icalendar.Calendar.from_ical(body)
    assert [tz.tz_name for tz in calendar.timezones] == ["Europe/Berlin"]
    assert calendar.get_missing_tzids() == set()
    assert body.index(b"BEGIN:VTIMEZONE") < body.index(b"BEGIN:VEVENT")
    theirs = IcsCalendarStream.calendar_from_ics(body.decode())
    assert [tz.tz_id for tz in theirs.timezones] == ["Europe/Berlin"]


def test_dst_change_in_berlin_keeps_each_instant() -> None:
    # 2025-03-30 02:00 CET -> 03:00 CEST; 2025-10-26 03:00 CEST -> 02:00 CET.
    local_times = [
        datetime(2025, 3, 29, 10, 0, tzinfo=BERLIN),  # +01:00
        datetime(2025, 3, 31, 10, 0, tzinfo=BERLIN),  # +02:00
        datetime(2025, 10, 25, 10, 0, tzinfo=BERLIN),  # +02:00
        datetime(2025, 10, 27, 10, 0, tzinfo=BERLIN),  # +01:00
    ]
    events = [
        make_event(i, start=t.astimezone(UTC), end=(t + timedelta(hours=1)).astimezone(UTC))
        for i, t in enumerate(local_times)
    ]
    body = render(events)
    starts = [line for line in lines(body) if line.startswith(b"DTSTART;TZID=")]
    # Wall-clock 10:00 on every day, whichever offset applies.
    assert [s.rsplit(b":", 1)[1] for s in starts] == [
        b"20250329T100000",
        b"20250331T100000",
        b"20251025T100000",
        b"20251027T100000",
    ]
    ours, theirs = by_uid(body)
    for event in events:
        assert ours[event.uid].start == theirs[event.uid].dtstart == event.start
    assert_vtimezone_gives_the_instants(body, events)


def test_berlin_vtimezone_is_rule_based_for_outlook() -> None:
    # Outlook ignores RDATE in a VTIMEZONE, so observances must recur by RRULE.
    body = render([make_event()])
    vtimezone = body[body.index(b"BEGIN:VTIMEZONE") : body.index(b"END:VTIMEZONE")]
    assert b"RDATE" not in vtimezone
    assert vtimezone.split(b"\r\n")[1:-1] == [
        b"TZID:Europe/Berlin",
        b"BEGIN:DAYLIGHT",
        b"DTSTART:19700329T020000",
        b"RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3",
        b"TZNAME:CEST",
        b"TZOFFSETFROM:+0100",
        b"TZOFFSETTO:+0200",
        b"END:DAYLIGHT",
        b"BEGIN:STANDARD",
        b"DTSTART:19701025T030000",
        b"RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10",
        b"TZNAME:CET",
        b"TZOFFSETFROM:+0200",
        b"TZOFFSETTO:+0100",
        b"END:STANDARD",
    ]


@pytest.mark.parametrize(
    ("zone", "rule_based"),
    [
        ("America/New_York", True),
        ("Australia/Sydney", True),  # DST across the new year
        ("Europe/Dublin", True),  # negative DST in tzdata: IST is "standard"
        ("Australia/Lord_Howe", True),  # a 30-minute DST shift
        ("Asia/Kolkata", True),  # no DST at all
        ("Asia/Jerusalem", False),  # "Friday before the last Sunday": no simple RRULE
        ("Africa/Casablanca", False),  # Ramadan changes outside the POSIX rule
    ],
)
def test_vtimezone_alone_gives_every_instant(zone: str, rule_based: bool) -> None:
    starts = [datetime(2026, 1, 3, 9, tzinfo=UTC) + timedelta(days=14 * i) for i in range(27)]
    events = [make_event(i, start=s, end=s + timedelta(hours=1)) for i, s in enumerate(starts)]
    body = render(events, tz=ZoneInfo(zone))
    assert (b"RRULE:" in body) is rule_based
    assert_vtimezone_gives_the_instants(body, events, with_ical=rule_based)


def test_vtimezone_falls_back_to_history_before_the_current_rule() -> None:
    # Until 1995 German summer time ended in September, not by today's October rule.
    start = datetime(1995, 10, 10, 9, tzinfo=UTC)
    events = [make_event(start=start, end=start + timedelta(hours=1)), make_event(2)]
    body = render(events)
    assert b"RRULE:" not in body
    assert b"RDATE:" in body
    assert_vtimezone_gives_the_instants(body, events, with_ical=False)


def test_rule_based_vtimezone_does_not_depend_on_the_events() -> None:
    def vtimezone(body: bytes) -> bytes:
        return body[body.index(b"BEGIN:VTIMEZONE") : body.index(b"END:VTIMEZONE")]

    assert vtimezone(render([make_event(1)])) == vtimezone(render([make_event(900)]))


def assert_vtimezone_gives_the_instants(
    body: bytes, events: list[FeedEvent], *, with_ical: bool = True
) -> None:
    """Resolve each wall-clock DTSTART/DTEND through the VTIMEZONE alone, not the TZID name."""
    (component,) = icalendar.Calendar.from_ical(body).timezones
    zones = [component.to_tz(lookup_tzid=False)]
    if with_ical:  # ical ignores observances without RRULE, as the fallback writes them
        (parsed,) = IcsCalendarStream.calendar_from_ics(body.decode()).timezones
        zones.append(IcsTimezoneInfo.from_timezone(parsed))
    walls = {}
    for line in lines(body):
        name, _, value = line.partition(b":")
        if name.startswith((b"DTSTART;TZID=", b"DTEND;TZID=")):
            walls.setdefault(name.split(b";")[0], []).append(
                datetime.strptime(value.decode(), "%Y%m%dT%H%M%S")
            )
    ordered = sorted(events, key=lambda e: (e.start, e.uid))
    for zone in zones:
        for wall, event in zip(walls[b"DTSTART"], ordered, strict=True):
            assert wall.replace(tzinfo=zone) == event.start, (zone, wall)
        for wall, event in zip(walls[b"DTEND"], ordered, strict=True):
            assert wall.replace(tzinfo=zone) == event.end, (zone, wall)


def test_utc_zone_writes_z_times_without_vtimezone() -> None:
    body = render([make_event()], tz=ZoneInfo("UTC"))
    assert b"DTSTART:20250603T090000Z" in lines(body)
    assert b"BEGIN:VTIMEZONE" not in body


def test_cancelled_kept_within_30_days_and_dropped_after() -> None:
    recent = make_event(1, status="cancelled", cancelled_at=NOW - timedelta(days=29))
    boundary = make_event(
        2, status="cancelled", cancelled_at=NOW - timedelta(days=CANCELLED_KEEP_DAYS)
    )
    old = make_event(3, status="cancelled", cancelled_at=NOW - timedelta(days=31))
    undated_old = make_event(
        4, status="cancelled", changed_at=NOW - timedelta(days=40), cancelled_at=None
    )
    past_planned = make_event(5, start=NOW - timedelta(days=400), end=NOW - timedelta(days=399))
    kept = feed_events([recent, boundary, old, undated_old, past_planned], NOW)
    assert [e.uid for e in kept] == [past_planned.uid, recent.uid, boundary.uid]
    ours, theirs = by_uid(render(kept))
    assert str(ours[recent.uid]["STATUS"]) == theirs[recent.uid].status == "CANCELLED"
    assert old.uid not in ours


def test_feed_events_orders_by_start_then_uid() -> None:
    same_start = datetime(2025, 7, 1, 9, tzinfo=UTC)
    b = make_event(1, uid="b", start=same_start)
    a = make_event(2, uid="a", start=same_start)
    early = make_event(3, uid="z", start=same_start - timedelta(hours=1))
    assert [e.uid for e in feed_events([b, a, early], NOW)] == ["z", "a", "b"]


def test_special_characters_in_notes_round_trip() -> None:
    event = make_event(note=TRICKY_NOTE, summary="price, terms; v2\\final", deal_name="Ünal & Co")
    body = render([event])
    description = next(line for line in lines(body) if line.startswith(b"DESCRIPTION:"))
    assert b"price\\, terms\\; path C:\\\\Nina\\\\new\\nsecond line" in description
    ours, theirs = by_uid(body)
    for text in (str(ours[event.uid]["DESCRIPTION"]), theirs[event.uid].description):
        assert text.startswith(TRICKY_NOTE + "\n\n")
    expected_summary = "Call: Ünal & Co — price, terms; v2\\final"
    assert str(ours[event.uid]["SUMMARY"]) == theirs[event.uid].summary == expected_summary


def test_long_non_ascii_note_folds_at_75_octets_between_characters() -> None:
    note = "Grüße an Jürgen 🎉, naïve café — 東京 " * 12
    body = render([make_event(note=note, summary="ü" * 80)])
    physical = body.split(b"\r\n")
    assert physical[-1] == b""
    assert any(line.startswith(b" ") for line in physical)
    for line in physical:
        assert len(line) <= 75
        line.decode("utf-8")  # a fold never splits a multi-byte character
    (event,) = IcsCalendarStream.calendar_from_ics(body.decode()).events
    assert event.description.startswith(note.strip())
    assert icalendar.Calendar.from_ical(body).events[0]["SUMMARY"] == "Call: Acme — " + "ü" * 80


def test_crlf_everywhere() -> None:
    body = render([make_event(note="one\ntwo\r\nthree\rfour")])
    assert body.endswith(b"END:VCALENDAR\r\n")
    assert b"\n" not in body.replace(b"\r\n", b"")
    assert b"\r" not in body.replace(b"\r\n", b"")


def test_same_input_gives_identical_bytes_in_any_order() -> None:
    events = [make_event(i) for i in range(5)]
    first = render(events)
    assert render(events) == first
    assert render(list(reversed(events))) == first
    assert strong_etag(render(events)) == strong_etag(first)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda events: events[:-1], id="deletion"),
        pytest.param(
            lambda events: [*events[:-1], dataclasses.replace(events[-1], sequence=9)],
            id="sequence",
        ),
        pytest.param(
            lambda events: [*events[:-1], dataclasses.replace(events[-1], note="moved")],
            id="note",
        ),
    ],
)
def test_any_change_changes_the_etag(change) -> None:
    events = [make_event(i) for i in range(3)]
    assert strong_etag(render(change(events))) != strong_etag(render(events))


def test_etag_is_quoted_strong_sha256() -> None:
    etag = strong_etag(b"BEGIN:VCALENDAR\r\n")
    assert re.fullmatch(r'"[0-9a-f]{64}"', etag)
    assert not etag.startswith("W/")


def test_empty_feed_is_a_valid_calendar() -> None:
    body = render([])
    assert b"BEGIN:VEVENT" not in body
    assert b"BEGIN:VTIMEZONE" not in body
    assert IcsCalendarStream.calendar_from_ics(body.decode()).events == []
    assert icalendar.Calendar.from_ical(body)["X-WR-TIMEZONE"] == "Europe/Berlin"


@pytest.mark.parametrize(
    "bad",
    [
        {"start": datetime(2025, 6, 3, 9)},
        {"changed_at": datetime(2025, 6, 1)},
        {"status": "maybe"},
    ],
)
def test_invalid_event_is_refused_with_a_clear_error(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"timezone-aware|unknown status"):
        render([make_event(**bad)])


def test_refresh_minutes_must_be_positive() -> None:
    with pytest.raises(ValueError, match="refresh_minutes"):
        render([], refresh_minutes=0)


CONTROLS = "\x00\x07\x0b\x1b\x7f\x85"


def test_control_characters_never_reach_the_feed() -> None:
    """RFC 5545 TEXT allows no control character but TAB: NUL, BEL, VT, ESC are dropped."""
    event = make_event(note=f"call\x00 back\x07 after\x0b the\x1b board\tmeeting{CONTROLS}",
                       summary=f"send\x1b[31m pricing{CONTROLS}", deal_name=f"Acme\x00{CONTROLS}",
                       channel=f"fax\x07{CONTROLS}")
    body = render_feed([event], calendar_name=f"Nina\x1b's follow-ups{CONTROLS}", tz=BERLIN)
    unfolded = body.replace(b"\r\n", b"")
    for control in CONTROLS:
        assert control.encode() not in unfolded, repr(control)
    ours, theirs = by_uid(body)
    for text in (str(ours[event.uid]["DESCRIPTION"]), theirs[event.uid].description):
        assert text.startswith("call back after the board\tmeeting\n\n")
    assert str(ours[event.uid]["SUMMARY"]) == theirs[event.uid].summary == (
        "Fax: Acme — send[31m pricing")
