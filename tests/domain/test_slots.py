"""Free slots: the cadence's time when it is free, else the next free half hour that day, else
the next working day; clashes named by the earliest busy interval."""

from __future__ import annotations

import random
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from calsync.domain.cadence import Cadence, suggest_next
from calsync.domain.slots import SEARCH_DAYS, Busy, WorkingHours, clash, free_slot

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
HOURS = WorkingHours()
HALF_HOUR = timedelta(minutes=30)


def at(day: str, hhmm: str, tz: ZoneInfo = BERLIN) -> datetime:
    return datetime.fromisoformat(f"{day}T{hhmm}").replace(tzinfo=tz)


def busy(day: str, start: str, end: str, title: str = "Busy", tz: ZoneInfo = BERLIN) -> Busy:
    return Busy(at(day, start, tz), at(day, end, tz), title)


# Tuesday 1 December 2026.
TUE = "2026-12-01"


def test_a_free_usual_time_is_kept() -> None:
    wanted = at(TUE, "10:00")
    assert free_slot(wanted, HALF_HOUR, [busy(TUE, "11:00", "12:00")], HOURS, BERLIN) == wanted


def test_a_busy_usual_time_moves_to_the_next_free_half_hour() -> None:
    slot = free_slot(at(TUE, "10:00"), HALF_HOUR, [busy(TUE, "09:45", "10:15")], HOURS, BERLIN)
    assert slot == at(TUE, "10:30")


def test_back_to_back_meetings_are_skipped_and_their_touching_ends_free() -> None:
    taken = [busy(TUE, "10:00", "10:30", "A"), busy(TUE, "10:30", "11:00", "B"),
             busy(TUE, "11:00", "12:00", "C")]
    assert free_slot(at(TUE, "10:00"), HALF_HOUR, taken, HOURS, BERLIN) == at(TUE, "12:00")


def test_a_longer_touch_needs_the_whole_gap() -> None:
    taken = [busy(TUE, "10:00", "10:30"), busy(TUE, "11:00", "11:30")]
    # 10:30-11:00 is free but an hour doesn't fit; 11:30 does.
    assert free_slot(at(TUE, "10:00"), timedelta(hours=1), taken, HOURS, BERLIN) == at(
        TUE, "11:30")


def test_a_full_day_moves_to_the_next_working_day_at_the_usual_time() -> None:
    full = [busy(TUE, "08:00", "18:00", "Offsite")]
    assert free_slot(at(TUE, "10:00"), HALF_HOUR, full, HOURS, BERLIN) == at("2026-12-02",
                                                                              "10:00")


def test_a_touch_must_end_within_working_hours() -> None:
    # Free from 17:30, but an hour from 17:30 runs past 18:00: next day.
    taken = [busy(TUE, "10:00", "17:30")]
    assert free_slot(at(TUE, "10:00"), timedelta(hours=1), taken, HOURS, BERLIN) == at(
        "2026-12-02", "10:00")
    assert free_slot(at(TUE, "10:00"), HALF_HOUR, taken, HOURS, BERLIN) == at(TUE, "17:30")


def test_a_full_friday_moves_past_the_weekend() -> None:
    friday = "2026-12-04"
    full = [busy(friday, "00:00", "23:59")]
    assert free_slot(at(friday, "10:00"), HALF_HOUR, full, HOURS, BERLIN) == at("2026-12-07",
                                                                                 "10:00")


def test_custom_working_days_are_followed() -> None:
    sunday_to_thursday = WorkingHours(days=frozenset({6, 0, 1, 2, 3}))
    thursday = "2026-12-03"
    full = [busy(thursday, "00:00", "23:59")]
    assert free_slot(at(thursday, "10:00"), HALF_HOUR, full, sunday_to_thursday,
                     BERLIN) == at("2026-12-06", "10:00")


def test_busy_spanning_days_blocks_every_day_it_covers() -> None:
    trip = Busy(at(TUE, "08:00"), at("2026-12-03", "13:00"), "Trade fair")
    # Tuesday and Wednesday taken; Thursday's usual 10:00 too; 13:00 is the first free.
    assert free_slot(at(TUE, "10:00"), HALF_HOUR, [trip], HOURS, BERLIN) == at(
        "2026-12-03", "13:00")


def test_on_spring_forward_day_the_skipped_wall_time_is_not_offered_twice() -> None:
    # New York springs forward at 02:00 on 8 March 2026; an early usual time meets the gap.
    day = "2026-03-09"  # a Monday, an ordinary day after the change
    wanted = at(day, "09:00", NEW_YORK)
    taken = [busy(day, "09:00", "09:30", tz=NEW_YORK)]
    slot = free_slot(wanted, HALF_HOUR, taken, HOURS, NEW_YORK)
    assert slot == at(day, "09:30", NEW_YORK)
    assert slot.utcoffset() == timedelta(hours=-4)


def test_on_the_day_clocks_go_back_repeated_wall_times_are_their_first_occurrence() -> None:
    # Europe falls back at 03:00 CEST on Sunday 25 October 2026 (to 02:00 CET); working that
    # Sunday with a usual time of 01:30 and busy for two real hours (till 02:30 CET).
    sunday = "2026-10-25"
    every_day = WorkingHours(days=frozenset(range(7)))
    wanted = at(sunday, "01:30")
    taken = [Busy(wanted, wanted.astimezone(UTC) + timedelta(hours=2), "Night shift")]
    slot = free_slot(wanted, HALF_HOUR, taken, every_day, BERLIN)
    # 02:00 and 02:30 are read as their first (summer-time) occurrence, both taken; 03:00
    # is the first free half hour of wall time.
    assert slot.strftime("%H:%M") == "03:00" and slot.utcoffset() == timedelta(hours=1)
    assert clash(slot, slot + HALF_HOUR, taken) is None


def test_the_next_working_day_after_a_dst_change_keeps_the_wall_time() -> None:
    # Friday 27 March 2026 full in Berlin; Monday 30 March is in summer time, still 10:00.
    friday = "2026-03-27"
    slot = free_slot(at(friday, "10:00"), HALF_HOUR, [busy(friday, "00:00", "23:59")],
                     HOURS, BERLIN)
    assert slot.strftime("%Y-%m-%d %H:%M") == "2026-03-30 10:00"
    assert slot.utcoffset() == timedelta(hours=2)


def test_busy_given_in_utc_clashes_by_the_instant() -> None:
    utc_busy = Busy(datetime(2026, 12, 1, 9, 0, tzinfo=UTC),
                    datetime(2026, 12, 1, 9, 30, tzinfo=UTC), "Standup")  # 10:00 Berlin
    assert free_slot(at(TUE, "10:00"), HALF_HOUR, [utc_busy], HOURS, BERLIN) == at(TUE, "10:30")


def test_a_calendar_full_for_months_keeps_the_cadence_slot() -> None:
    wanted = at(TUE, "10:00")
    forever = Busy(wanted - timedelta(days=1), wanted + timedelta(days=SEARCH_DAYS * 2), "Leave")
    assert free_slot(wanted, HALF_HOUR, [forever], HOURS, BERLIN) == wanted


def test_the_slot_is_in_the_users_zone() -> None:
    slot = free_slot(datetime(2026, 12, 1, 9, 0, tzinfo=UTC), HALF_HOUR, [], HOURS, BERLIN)
    assert slot.tzinfo == BERLIN and slot.hour == 10


def test_a_usual_time_after_working_hours_is_still_offered_itself() -> None:
    late = at(TUE, "19:00")
    assert free_slot(late, HALF_HOUR, [], HOURS, BERLIN) == late
    taken = [busy(TUE, "19:00", "19:30")]
    assert free_slot(late, HALF_HOUR, taken, HOURS, BERLIN) == at("2026-12-02", "19:00")


def test_naive_times_and_empty_durations_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        free_slot(datetime(2026, 12, 1, 10), HALF_HOUR, [], HOURS, BERLIN)
    with pytest.raises(ValueError, match="positive"):
        free_slot(at(TUE, "10:00"), timedelta(0), [], HOURS, BERLIN)
    with pytest.raises(ValueError, match="timezone-aware"):
        clash(datetime(2026, 12, 1, 10), at(TUE, "11:00"), [])


def test_clash_names_the_earliest_overlapping_interval() -> None:
    taken = [busy(TUE, "10:15", "11:00", "Later"), busy(TUE, "09:30", "10:30", "Earlier"),
             busy(TUE, "11:00", "12:00", "After")]
    hit = clash(at(TUE, "10:00"), at(TUE, "11:00"), taken)
    assert hit is not None and hit.title == "Earlier"


def test_touching_ends_do_not_clash() -> None:
    taken = [busy(TUE, "09:00", "10:00"), busy(TUE, "10:30", "11:00")]
    assert clash(at(TUE, "10:00"), at(TUE, "10:30"), taken) is None
    assert clash(at(TUE, "10:00"), at(TUE, "10:31"), taken) is not None


def test_a_busy_interval_inside_or_around_the_slot_clashes() -> None:
    inside = [busy(TUE, "10:10", "10:20", "Inside")]
    around = [busy(TUE, "09:00", "12:00", "Around")]
    assert clash(at(TUE, "10:00"), at(TUE, "10:30"), inside) == inside[0]
    assert clash(at(TUE, "10:00"), at(TUE, "10:30"), around) == around[0]


def test_working_hours_default_end_is_six_in_the_evening() -> None:
    assert WorkingHours().end == time(18, 0)


def test_the_cadence_suggests_the_first_free_slot_and_says_so() -> None:
    cadence = Cadence()
    last_touch = at("2026-11-27", "15:00")  # a Friday; gap 2 days -> Sunday -> Monday 10:00
    now = at("2026-11-27", "16:00")
    plain = suggest_next(cadence, 1, last_touch, None, BERLIN, now)
    assert plain.start == at("2026-11-30", "10:00")
    taken = [busy("2026-11-30", "09:30", "11:00", "Weekly pipeline review")]
    moved = suggest_next(cadence, 1, last_touch, None, BERLIN, now, busy=taken)
    assert moved.start == at("2026-11-30", "11:00")
    assert "11:00" in moved.message and "10:00" not in moved.message


def test_the_first_free_slot_is_the_first_that_clashes_with_nothing() -> None:
    # Against the plain definition (no candidate before it is free, it clashes with nothing),
    # over random calendars with overlapping, nested, touching and day-long busy times.
    rng = random.Random(7)  # noqa: S311 - a test's spread
    base = at(TUE, "08:00")
    for _ in range(300):
        calendar = []
        for n in range(rng.randint(0, 40)):
            start = base + timedelta(minutes=15 * rng.randint(0, 4 * 24 * 6))
            length = timedelta(minutes=15 * rng.choice((1, 2, 4, 8, 96)))
            calendar.append(Busy(start, start + length, f"m{n}"))
        wanted = base + timedelta(minutes=30 * rng.randint(0, 20))
        duration = timedelta(minutes=rng.choice((15, 30, 60, 90)))
        found = free_slot(wanted, duration, calendar, HOURS, BERLIN)
        if found != wanted.astimezone(BERLIN) or clash(wanted, wanted + duration, calendar):
            assert clash(found, found + duration, calendar) is None
        # Every earlier half hour of that working day was taken.
        closing = at(TUE, "18:00")
        tried = wanted
        while tried < found and tried + duration <= closing:
            assert clash(tried, tried + duration, calendar) is not None
            tried += HALF_HOUR
