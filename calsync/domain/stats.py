"""The dashboard's figures: win rate and touches at close, open deals by touches, follow-ups
on time, late and missed per week, how soon a meeting gets its answer, and how promises to
clients were kept.

Pure: plain facts in, plain rows out; weeks run Monday to Sunday in the user's zone.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from calsync.domain.cadence import Cadence
from calsync.domain.coaching import FollowUpFact, kept, timeliness
from calsync.domain.promises import PromisesKept
from calsync.domain.vocabulary import DealStatus, Timeliness

WEEKS = 12
# Deals with this many touches or more share one bar ("10+"): a few long threads would
# otherwise stretch the chart past what a phone shows.
TOUCH_CAP = 10


@dataclass(frozen=True)
class DealTouches:
    status: DealStatus
    touches: int  # answered touches


@dataclass(frozen=True)
class MeetingAnswer:
    ended: datetime  # the meeting's end
    answered: datetime  # when its prompt was answered


@dataclass(frozen=True)
class ClosedRow:
    """Closed deals whose last touch was touch number `touches` (TOUCH_CAP: that or more)."""

    touches: int
    won: int
    lost: int

    @property
    def label(self) -> str:
        return touches_label(self.touches)

    @property
    def closed(self) -> int:
        return self.won + self.lost

    @property
    def win_rate(self) -> float | None:
        return self.won / self.closed if self.closed else None


@dataclass(frozen=True)
class OpenRow:
    touches: int
    deals: int

    @property
    def label(self) -> str:
        return touches_label(self.touches)


@dataclass(frozen=True)
class WeekRow:
    start: date  # its Monday
    on_time: int  # follow-ups whose time ended this week, answered within one working day
    late: int
    missed: int
    median_answer: timedelta | None  # from the end of this week's meetings to their answers


@dataclass(frozen=True)
class Stats:
    closed: tuple[ClosedRow, ...]  # by touches at close, lowest first, no gaps
    median_touches_won: float | None
    median_touches_lost: float | None
    open: tuple[OpenRow, ...]  # open deals by touches so far, lowest first, no gaps
    weeks: tuple[WeekRow, ...]  # the last WEEKS weeks, this one last
    median_answer: timedelta | None  # over those weeks' meetings
    # Promises delivered in those weeks: early, on time, late.
    promises: PromisesKept = PromisesKept()

    @property
    def since(self) -> date:
        return self.weeks[0].start


def touches_label(touches: int) -> str:
    return f"{TOUCH_CAP}+" if touches >= TOUCH_CAP else str(touches)


def dashboard(deals: Iterable[DealTouches], followups: Iterable[FollowUpFact],
              answers: Iterable[MeetingAnswer], cadence: Cadence, tz: ZoneInfo,
              now: datetime) -> Stats:
    """Every figure of the dashboard at `now`, for one user in zone `tz`."""
    deals, answers, followups = list(deals), list(answers), list(followups)
    starts = week_starts(tz, now)
    won = [d.touches for d in deals if d.status is DealStatus.WON]
    lost = [d.touches for d in deals if d.status is DealStatus.LOST]
    return Stats(
        closed=closed_rows(won, lost),
        median_touches_won=_median(won),
        median_touches_lost=_median(lost),
        open=open_rows(d.touches for d in deals if d.status is DealStatus.OPEN),
        weeks=week_rows(followups, answers, cadence, tz, now),
        median_answer=_median_delay(a for a in answers
                                    if _week_index(starts, a.ended, tz) is not None),
        promises=kept(followups, tz, window_start(tz, now)),
    )


def closed_rows(won: Sequence[int], lost: Sequence[int]) -> tuple[ClosedRow, ...]:
    """Won and lost deals counted by the touch at which they closed."""
    won_at, lost_at = Counter(map(_capped, won)), Counter(map(_capped, lost))
    return tuple(ClosedRow(n, won_at[n], lost_at[n])
                 for n in _touch_range([*won_at, *lost_at], first=1))


def open_rows(touches: Iterable[int]) -> tuple[OpenRow, ...]:
    counts = Counter(map(_capped, touches))
    return tuple(OpenRow(n, counts[n]) for n in _touch_range(list(counts), first=0))


def week_starts(tz: ZoneInfo, now: datetime) -> tuple[date, ...]:
    """The Mondays of the last WEEKS weeks in the user's zone, this week's last."""
    today = now.astimezone(tz).date()
    monday = today - timedelta(days=today.weekday())
    return tuple(monday - timedelta(weeks=WEEKS - 1 - n) for n in range(WEEKS))


def window_start(tz: ZoneInfo, now: datetime) -> datetime:
    """Midnight, in the user's zone, at the start of the first week shown."""
    first = week_starts(tz, now)[0]
    return datetime.combine(first, time(), tzinfo=tz).astimezone(UTC)


def week_rows(followups: Iterable[FollowUpFact], answers: Iterable[MeetingAnswer],
              cadence: Cadence, tz: ZoneInfo, now: datetime) -> tuple[WeekRow, ...]:
    """Each week's follow-ups by timeliness (the coach's rule), by the week their time
    ended in; and the median delay of the answers to the meetings that ended in it."""
    starts = week_starts(tz, now)
    done: list[Counter[Timeliness]] = [Counter() for _ in starts]
    for followup in followups:
        kind = timeliness(followup, cadence, tz, now)
        week = _week_index(starts, followup.end, tz)
        if kind is not None and week is not None:
            done[week][kind] += 1
    delays: list[list[MeetingAnswer]] = [[] for _ in starts]
    for answer in answers:
        week = _week_index(starts, answer.ended, tz)
        if week is not None:
            delays[week].append(answer)
    return tuple(WeekRow(start, counts[Timeliness.ON_TIME], counts[Timeliness.LATE],
                         counts[Timeliness.MISSED], _median_delay(delays[n]))
                 for n, (start, counts) in enumerate(zip(starts, done, strict=True)))


def _week_index(starts: Sequence[date], moment: datetime, tz: ZoneInfo) -> int | None:
    index = (moment.astimezone(tz).date() - starts[0]).days // 7
    return index if 0 <= index < len(starts) else None


def _capped(touches: int) -> int:
    return min(touches, TOUCH_CAP)


def _touch_range(seen: Sequence[int], first: int) -> range:
    """From `first` (or lower, if seen) to the highest seen, so the bars leave no gaps."""
    if not seen:
        return range(0)
    return range(min(first, *seen), max(seen) + 1)


def _median(values: Sequence[int]) -> float | None:
    return statistics.median(values) if values else None


def _median_delay(answers: Iterable[MeetingAnswer]) -> timedelta | None:
    seconds = [(a.answered - a.ended).total_seconds() for a in answers]
    return timedelta(seconds=statistics.median(seconds)) if seconds else None
