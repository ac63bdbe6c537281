"""Free slots: where a suggested touch lands so it runs into nothing the user has planned.

The cadence names the day and the usual time; this moves it to the first free half hour
from there on, within the working day, or to the next working day when that one is full.
Pure: the busy intervals (meetings, planned follow-ups) are given.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# Suggestions move in half hours: times a person would pick.
STEP = timedelta(minutes=30)
# Working days searched before giving up and keeping the cadence's own slot: a calendar
# full for three months is not one a suggestion can help.
SEARCH_DAYS = 60


@dataclass(frozen=True)
class Busy:
    """A time the user is taken: a meeting or a planned follow-up, named for a person."""

    start: datetime  # aware
    end: datetime  # aware, after start
    title: str


@dataclass(frozen=True)
class WorkingHours:
    """When a touch may be suggested: on `days` (Monday=0), from the usual time until
    `end` (local wall time; a touch must be over by then)."""

    days: frozenset[int] = frozenset({0, 1, 2, 3, 4})
    end: time = time(18, 0)


def clash(start: datetime, end: datetime, busy: Iterable[Busy]) -> Busy | None:
    """The earliest busy interval that overlaps [start, end), if any. Touching ends (one
    meeting ends at 10:00, the next starts at 10:00) don't clash."""
    _require_aware(start=start, end=end)
    overlapping = [b for b in busy if b.start < end and start < b.end]
    return min(overlapping, key=lambda b: (b.start, b.end, b.title), default=None)


def free_slot(wanted: datetime, duration: timedelta, busy: list[Busy], hours: WorkingHours,
              tz: ZoneInfo) -> datetime:
    """The first free start for a touch of `duration`: `wanted` itself, else the next free
    half hour after it that day (ending within working hours), else the same search from the
    usual time (`wanted`'s wall time) on the following working days. Aware, in `tz`. When
    nothing is free within SEARCH_DAYS working days, `wanted` as it was."""
    _require_aware(wanted=wanted)
    if duration <= timedelta(0):
        raise ValueError(f"duration must be positive, not {duration}")
    local = wanted.astimezone(tz)
    usual = local.time().replace(tzinfo=None)
    taken = _Taken(busy)
    for index, day in enumerate(_working_days(local.date(), hours)):
        if index >= SEARCH_DAYS:
            break
        first = local if index == 0 else _at(day, usual, tz)
        for start in _day_starts(first, day, duration, hours, tz):
            if not taken.overlaps(start, start + duration):
                return start
    return local


class _Taken:
    """Busy intervals merged into disjoint, sorted spans, so whether a candidate slot is
    free is one binary search, not a scan of every meeting (a page of suggestions tries
    hundreds of slots against a calendar of thousands)."""

    def __init__(self, busy: Iterable[Busy]) -> None:
        self.starts: list[datetime] = []
        self.ends: list[datetime] = []
        for b in sorted(busy, key=lambda b: b.start):
            if self.ends and b.start <= self.ends[-1]:
                self.ends[-1] = max(self.ends[-1], b.end)
            else:
                self.starts.append(b.start)
                self.ends.append(b.end)

    def overlaps(self, start: datetime, end: datetime) -> bool:
        """[start, end) overlaps a span; touching ends don't."""
        before = bisect_left(self.starts, end)  # spans starting before `end`
        return before > 0 and self.ends[before - 1] > start


def _working_days(first: date, hours: WorkingHours) -> Iterator[date]:
    """`first` (whatever day it is: the cadence picked it) and the working days after it."""
    yield first
    day = first
    while True:
        day += timedelta(days=1)
        if day.weekday() in hours.days:
            yield day


def _day_starts(first: datetime, day: date, duration: timedelta, hours: WorkingHours,
                tz: ZoneInfo) -> Iterator[datetime]:
    """`first`, then every half hour of wall time after it while the touch ends by the end
    of the working day. `first` is offered even when it ends later: it is the usual time."""
    yield first
    closing = _at(day, hours.end, tz)
    wall = first.replace(tzinfo=None)
    while True:
        wall += STEP
        if wall.date() != day:
            return
        start = _at(day, wall.time(), tz)
        if start + duration > closing:
            return
        if start > first:  # a wall time the clocks skip resolves to one already offered
            yield start


def _at(day: date, wall: time, tz: ZoneInfo) -> datetime:
    """`wall` on `day` in `tz`; a time the clocks skip (02:30 on spring-forward day) becomes
    the moment after the gap, a repeated one (fall back) its first occurrence."""
    return datetime.combine(day, wall, tzinfo=tz).astimezone(UTC).astimezone(tz)


def _require_aware(**moments: datetime) -> None:
    for name, moment in moments.items():
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError(f"{name} must be timezone-aware, got {moment!r}")
