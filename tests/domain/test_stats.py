"""The dashboard's figures from a known history: closes by touch, open deals, the weekly
follow-up record and how soon meetings are answered, in the user's weeks."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from calsync.domain.cadence import Cadence
from calsync.domain.coaching import FollowUpFact
from calsync.domain.stats import (
    TOUCH_CAP,
    WEEKS,
    ClosedRow,
    DealTouches,
    MeetingAnswer,
    OpenRow,
    Stats,
    dashboard,
    week_starts,
    window_start,
)
from calsync.domain.vocabulary import DealStatus, FollowUpStatus, PromptStatus

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
CADENCE = Cadence()
NOW = datetime(2025, 3, 12, 16, 0, tzinfo=BERLIN)  # a Wednesday
WON, LOST, OPEN = DealStatus.WON, DealStatus.LOST, DealStatus.OPEN


def at(*args: int, tz: ZoneInfo = BERLIN) -> datetime:
    return datetime(*args, tzinfo=tz)  # type: ignore[misc]


def followup(n: int, start: datetime, answered: datetime | None = None,
             status: FollowUpStatus = FollowUpStatus.PLANNED,
             cancelled_at: datetime | None = None) -> FollowUpFact:
    if answered is not None:
        status = FollowUpStatus.DONE
    return FollowUpFact(id=n, deal_id=1, deal_name="Acme", summary=f"Follow-up {n}",
                        start=start, end=start + timedelta(minutes=30), status=status,
                        cancelled_at=cancelled_at,
                        prompt_status=PromptStatus.ANSWERED if answered else None,
                        answered_at=answered)


def answer(ended: datetime, hours: float) -> MeetingAnswer:
    return MeetingAnswer(ended=ended, answered=ended + timedelta(hours=hours))


DEALS = [DealTouches(WON, 1), DealTouches(WON, 3), DealTouches(LOST, 3), DealTouches(WON, 5),
         DealTouches(LOST, 12), DealTouches(OPEN, 0), DealTouches(OPEN, 2),
         DealTouches(OPEN, 2), DealTouches(OPEN, 11)]
FOLLOWUPS = [
    # Friday 10:00: answered by Monday 10:00 is on time, a minute later is late.
    followup(1, at(2025, 3, 7, 10), answered=at(2025, 3, 10, 9, 59)),
    followup(2, at(2025, 3, 7, 10), answered=at(2025, 3, 10, 10, 1)),
    followup(3, at(2025, 3, 11, 10)),  # its time passed, nobody answered: missed
    followup(4, at(2025, 3, 13, 10)),  # still ahead: not counted
    followup(5, at(2025, 3, 4, 10), status=FollowUpStatus.CANCELLED,
             cancelled_at=at(2025, 3, 3, 9)),  # the plan changed before its time
    followup(6, at(2025, 3, 4, 10), status=FollowUpStatus.CANCELLED,
             cancelled_at=at(2025, 3, 5, 9)),  # moved away after its time: missed
    followup(7, at(2024, 12, 20, 10)),  # before the twelve weeks
    followup(8, at(2024, 12, 23, 0, 30), answered=at(2024, 12, 23, 9)),  # the first week
]
ANSWERS = [
    answer(at(2025, 3, 11, 15), 1), answer(at(2025, 3, 10, 9), 3),  # this week: median 2 h
    answer(at(2025, 3, 5, 12), 0.5),
    answer(at(2024, 12, 1, 12), 100),  # before the twelve weeks: left out
]


def figures() -> Stats:
    return dashboard(DEALS, FOLLOWUPS, ANSWERS, CADENCE, BERLIN, NOW)


def test_win_rate_and_touches_at_close_by_touch_number() -> None:
    stats = figures()
    assert stats.closed == (
        ClosedRow(1, 1, 0), ClosedRow(2, 0, 0), ClosedRow(3, 1, 1), ClosedRow(4, 0, 0),
        ClosedRow(5, 1, 0), ClosedRow(6, 0, 0), ClosedRow(7, 0, 0), ClosedRow(8, 0, 0),
        ClosedRow(9, 0, 0), ClosedRow(TOUCH_CAP, 0, 1))
    rates = [row.win_rate for row in stats.closed]
    assert rates[:5] == [1.0, None, 0.5, None, 1.0] and rates[-1] == 0.0
    assert stats.closed[-1].label == "10+" and stats.closed[2].label == "3"
    # Medians use the true counts, not the capped bar.
    assert (stats.median_touches_won, stats.median_touches_lost) == (3, 7.5)


def test_open_deals_by_touch_count_start_at_zero() -> None:
    stats = figures()
    assert [(row.label, row.deals) for row in stats.open] == [
        ("0", 1), ("1", 0), ("2", 2), ("3", 0), ("4", 0), ("5", 0), ("6", 0), ("7", 0),
        ("8", 0), ("9", 0), ("10+", 1)]
    assert stats.open[0] == OpenRow(0, 1)


def test_twelve_weeks_of_follow_ups_on_time_late_and_missed() -> None:
    stats = figures()
    assert len(stats.weeks) == WEEKS
    assert stats.since == date(2024, 12, 23) and stats.weeks[-1].start == date(2025, 3, 10)
    counts = {row.start: (row.on_time, row.late, row.missed) for row in stats.weeks}
    assert counts[date(2025, 3, 10)] == (0, 0, 1)
    assert counts[date(2025, 3, 3)] == (1, 1, 1)
    assert counts[date(2024, 12, 23)] == (1, 0, 0)
    assert sum(map(sum, counts.values())) == 5


def test_median_time_from_a_meeting_end_to_its_answer() -> None:
    stats = figures()
    medians = {row.start: row.median_answer for row in stats.weeks}
    assert medians[date(2025, 3, 10)] == timedelta(hours=2)
    assert medians[date(2025, 3, 3)] == timedelta(minutes=30)
    assert medians[date(2025, 2, 24)] is None
    assert stats.median_answer == timedelta(hours=1)  # of the three inside the weeks


def test_weeks_are_the_users_weeks_across_a_dst_change() -> None:
    # New York moved its clocks on Sunday 9 March 2025: late Sunday evening is still
    # last week there, though it is Monday in UTC.
    now = at(2025, 3, 12, 12, tz=NEW_YORK)
    sunday, monday = at(2025, 3, 9, 23, 30, tz=NEW_YORK), at(2025, 3, 10, 0, 30, tz=NEW_YORK)
    assert sunday.astimezone(UTC).date() == date(2025, 3, 10)
    half_hour = timedelta(minutes=30)  # a follow-up counts in the week its time ends
    stats = dashboard([], [followup(1, sunday - half_hour), followup(2, monday)],
                      [answer(sunday, 1), answer(monday, 3)], CADENCE, NEW_YORK, now)
    last, before = stats.weeks[-1], stats.weeks[-2]
    assert (last.start, last.missed, last.median_answer) == (
        date(2025, 3, 10), 1, timedelta(hours=3))
    assert (before.start, before.missed, before.median_answer) == (
        date(2025, 3, 3), 1, timedelta(hours=1))
    assert window_start(NEW_YORK, now) == at(2024, 12, 23, tz=NEW_YORK)
    assert week_starts(NEW_YORK, now)[0] == date(2024, 12, 23)


def test_no_history_gives_empty_figures_and_twelve_empty_weeks() -> None:
    stats = dashboard([], [], [], CADENCE, BERLIN, NOW)
    assert stats.closed == () and stats.open == ()
    assert stats.median_touches_won is None and stats.median_answer is None
    assert [(w.on_time, w.late, w.missed, w.median_answer) for w in stats.weeks] == [
        (0, 0, 0, None)] * WEEKS


def test_a_deal_closed_with_no_touch_left_still_shows() -> None:
    # Its touches were moved to another deal: the bars start where the data does.
    stats = dashboard([DealTouches(LOST, 0), DealTouches(WON, 2)], [], [], CADENCE, BERLIN, NOW)
    assert [(row.touches, row.won, row.lost) for row in stats.closed] == [
        (0, 0, 1), (1, 0, 0), (2, 1, 0)]
