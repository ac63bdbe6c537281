"""Promises: working-day margins (weekends, DST), how a promise was kept at the edges, and
what a follow-up's event says about its kind."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from calsync.domain.cadence import Cadence, CadenceError
from calsync.domain.promises import (
    FOLLOW_THROUGH_STEPS,
    PromisesKept,
    event_lines,
    follow_through_at,
    promise_timing,
    promised_for,
    promises_kept,
    shift_working_days,
    work_start,
)
from calsync.domain.vocabulary import FollowUpKind, FollowUpStatus, PromiseTiming

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
WEEKDAYS = frozenset(range(5))


def at(tz: ZoneInfo, year: int, month: int, day: int, hour: int = 0,
       minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=tz)


def test_margin_of_one_working_day_is_the_day_before_at_the_same_time() -> None:
    # Friday 5 Dec 2025 16:00 -> Thursday 16:00.
    assert work_start(at(BERLIN, 2025, 12, 5, 16), 1, WEEKDAYS, BERLIN) == at(
        BERLIN, 2025, 12, 4, 16)


def test_margin_skips_the_weekend_back_to_friday() -> None:
    monday = at(BERLIN, 2025, 12, 8, 16)
    assert work_start(monday, 1, WEEKDAYS, BERLIN) == at(BERLIN, 2025, 12, 5, 16)
    assert work_start(monday, 3, WEEKDAYS, BERLIN) == at(BERLIN, 2025, 12, 3, 16)


def test_a_deadline_on_a_weekend_is_worked_on_before_it() -> None:
    saturday = at(BERLIN, 2025, 12, 6, 12)
    assert work_start(saturday, 1, WEEKDAYS, BERLIN) == at(BERLIN, 2025, 12, 5, 12)
    # No margin still never plans on the weekend after the deadline.
    assert work_start(saturday, 0, WEEKDAYS, BERLIN) == at(BERLIN, 2025, 12, 5, 12)


def test_no_margin_on_a_working_day_is_the_deadline_itself() -> None:
    due = at(BERLIN, 2025, 12, 5, 16)
    assert work_start(due, 0, WEEKDAYS, BERLIN) == due


def test_margin_keeps_the_wall_time_across_the_spring_dst_change() -> None:
    # Europe's clocks go forward on Sunday 30 March 2025: Monday 31 16:00 CEST less one
    # working day is Friday 28 16:00 CET, 25 hours + 2 days earlier in UTC.
    due = at(BERLIN, 2025, 3, 31, 16)
    start = work_start(due, 1, WEEKDAYS, BERLIN)
    assert (start.astimezone(BERLIN).hour, start.astimezone(BERLIN).day) == (16, 28)
    assert due.astimezone(UTC) - start.astimezone(UTC) == timedelta(days=3, hours=-1)


def test_margin_keeps_the_wall_time_across_the_autumn_dst_change() -> None:
    due = at(NEW_YORK, 2025, 11, 3, 9)  # Monday after New York falls back
    start = work_start(due, 1, WEEKDAYS, NEW_YORK)
    assert start.astimezone(NEW_YORK).replace(tzinfo=None) == datetime(2025, 10, 31, 9)
    assert start.utcoffset() == timedelta(hours=-4)


def test_a_skipped_wall_time_resolves_to_a_real_one() -> None:
    # 02:30 does not exist in Berlin on 30 March 2025; every day a working day.
    due = at(BERLIN, 2025, 3, 31, 2, 30)
    start = shift_working_days(due, -1, frozenset(range(7)), BERLIN)
    assert start.astimezone(BERLIN).replace(tzinfo=None) == datetime(2025, 3, 30, 3, 30)


def test_follow_through_is_working_days_after_delivery_at_the_usual_time() -> None:
    ten = time(10, 0)
    thursday = at(BERLIN, 2025, 12, 4, 11)
    assert follow_through_at(thursday, 2, WEEKDAYS, BERLIN, ten) == at(BERLIN, 2025, 12, 8, 10)
    late_friday = at(BERLIN, 2025, 12, 5, 23, 21)
    assert follow_through_at(late_friday, 1, WEEKDAYS, BERLIN, ten) == at(BERLIN, 2025, 12, 8,
                                                                          10)
    # Delivered at 23:30 Berlin on Friday is 22:30 UTC: the day counts in the user's zone.
    assert follow_through_at(at(ZoneInfo("UTC"), 2025, 12, 5, 22, 30), 1, WEEKDAYS, BERLIN,
                             ten) == at(BERLIN, 2025, 12, 8, 10)
    # 02:30 doesn't exist on 30 March 2025 in Berlin (every day a working day): 03:30.
    spring = follow_through_at(at(BERLIN, 2025, 3, 29, 9), 1, frozenset(range(7)), BERLIN,
                               time(2, 30))
    assert spring.replace(tzinfo=None) == datetime(2025, 3, 30, 3, 30)


def test_timing_at_the_edges() -> None:
    due = at(BERLIN, 2025, 12, 5, 16)
    assert promise_timing(due, due, BERLIN) is PromiseTiming.ON_TIME
    assert promise_timing(due + timedelta(seconds=1), due, BERLIN) is PromiseTiming.LATE
    # Midnight starts the deadline's day: on time; a second before is a day early.
    midnight = at(BERLIN, 2025, 12, 5, 0)
    assert promise_timing(midnight, due, BERLIN) is PromiseTiming.ON_TIME
    assert promise_timing(midnight - timedelta(seconds=1), due, BERLIN) is PromiseTiming.EARLY


def test_timing_counts_days_in_the_users_zone() -> None:
    due = at(BERLIN, 2025, 12, 5, 16)
    # 23:30 UTC on the 4th is already the 5th in Berlin: on time, not early.
    assert promise_timing(datetime(2025, 12, 4, 23, 30, tzinfo=UTC), due,
                          BERLIN) is PromiseTiming.ON_TIME
    assert promise_timing(datetime(2025, 12, 4, 22, 30, tzinfo=UTC), due,
                          BERLIN) is PromiseTiming.EARLY


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        promise_timing(datetime(2025, 12, 5), at(BERLIN, 2025, 12, 5, 16), BERLIN)


def test_promised_for_reads_in_the_users_zone() -> None:
    assert promised_for(datetime(2025, 12, 5, 15, tzinfo=UTC), BERLIN) == (
        "promised for Fri 5 Dec 16:00")


def test_event_lines_name_the_kind_promise_value_and_steps() -> None:
    lines = event_lines(FollowUpKind.PROMISE, at(BERLIN, 2025, 12, 5, 16), "the pilot plan",
                        BERLIN)
    assert lines == ["Kind: Promise", "Promised for Fri 5 Dec 16:00.",
                     "What you bring them: the pilot plan"]
    through = event_lines(FollowUpKind.FOLLOW_THROUGH, None, "", BERLIN)
    assert through[0] == "Kind: Follow-through"
    assert through[-4:] == [f"{n}. {step}" for n, step in enumerate(FOLLOW_THROUGH_STEPS, 1)]


def test_cadence_reads_and_checks_the_promise_settings() -> None:
    cadence = Cadence.from_mapping({"promise_margin_days": 2, "follow_through_days": 3})
    assert (cadence.promise_margin_days, cadence.follow_through_days) == (2, 3)
    assert Cadence.from_mapping(cadence.to_mapping()) == cadence
    assert (Cadence().promise_margin_days, Cadence().follow_through_days) == (1, 2)
    with pytest.raises(CadenceError, match="follow_through_days"):
        Cadence.from_mapping({"follow_through_days": 0})


def test_promises_kept_counts_each_timing_since_a_moment() -> None:
    due = at(BERLIN, 2025, 12, 5, 16)
    deliveries = [(due - timedelta(days=2), due), (due - timedelta(hours=1), due),
                  (due + timedelta(hours=1), due), (due - timedelta(days=30), due)]
    assert promises_kept(deliveries, BERLIN) == PromisesKept(early=2, on_time=1, late=1)
    recent = promises_kept(deliveries, BERLIN, since=due - timedelta(days=7))
    assert (recent.early, recent.on_time, recent.late, recent.total) == (1, 1, 1, 3)


def test_the_coach_counts_promises_delivered_in_its_days() -> None:
    from calsync.domain.coaching import FollowUpFact, coach

    now = at(BERLIN, 2025, 12, 5, 18)

    def fact(n: int, delivered: datetime) -> FollowUpFact:
        due = at(BERLIN, 2025, 12, 5, 16)
        return FollowUpFact(id=n, deal_id=1, deal_name="Acme", summary="Pricing",
                            start=due - timedelta(days=1), end=due - timedelta(days=1),
                            status=FollowUpStatus.DONE, kind=FollowUpKind.PROMISE,
                            promise_due=due, delivered_at=delivered)

    said = coach([fact(1, now - timedelta(days=3)), fact(2, now),
                  fact(3, now - timedelta(days=9))], [], [], Cadence(), BERLIN, now)
    assert said.promises == PromisesKept(early=1, on_time=0, late=1)
