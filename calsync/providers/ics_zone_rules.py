"""A VTIMEZONE read into a tzinfo of UTC transitions, at a bounded cost.

Only yearly rules are expanded, and only between FIRST_YEAR and LAST_YEAR.
"""

from __future__ import annotations

import calendar as gregorian
import time
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

import icalendar

from calsync.providers.ics_values import as_list, moment, utc_offsets

# Meetings are read in a window of months around today, so earlier changes only matter for
# the offset they leave in force, and later ones are past any window.
FIRST_YEAR, LAST_YEAR = 1970, 2100
# Real zones change offset once or twice a year; every producer we know writes FREQ=YEARLY.
# A finer rule (HOURLY from 1601 is 3.7 million changes) is read as a fixed offset instead.
ZONE_FREQUENCIES = ("YEARLY",)
# libical's and tzurl.org's full-history zones have a few hundred STANDARD/DAYLIGHT parts.
MAX_ZONE_PARTS = 1000
# Candidate dates looked at for one zone: a two-rule zone from 1601 takes about 1,000.
MAX_ZONE_STEPS = 20_000
# Changes kept between FIRST_YEAR and LAST_YEAR: a two-rule zone has 262.
MAX_ZONE_TRANSITIONS = 2000
_RULE_PARTS = {"FREQ", "INTERVAL", "UNTIL", "COUNT", "BYMONTH", "BYDAY", "BYMONTHDAY",
               "BYSETPOS", "WKST", "BYHOUR", "BYMINUTE", "BYSECOND"}
_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


class ZoneBeyondBounds(Exception):
    """The zone costs more than calsync spends on one, or cannot be read; `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Observance:
    """What a STANDARD or DAYLIGHT part puts in force."""

    offset: timedelta
    dst: timedelta
    name: str


class CalendarZone(tzinfo):
    """A calendar's own zone: the observance in force between UTC transition instants."""

    def __init__(self, key: str, first: Observance,
                 changes: Sequence[tuple[datetime, Observance]]) -> None:
        self.key = key  # icalendar names a zone by its `key`, as it does ZoneInfo's
        self._first, self._changes = first, tuple(changes)
        self._utc = [when for when, _ in self._changes]
        self._in_force = [first, *(observance for _, observance in self._changes)]
        # Wall-clock thresholds as zoneinfo builds them: with fold=0 a repeated or skipped
        # hour takes the offset before the change, with fold=1 the one after it.
        self._wall: tuple[list[datetime], list[datetime]] = ([], [])
        for (when, after), before in zip(self._changes, self._in_force, strict=False):
            self._wall[0].append(when + max(before.offset, after.offset))
            self._wall[1].append(when + min(before.offset, after.offset))

    def _at(self, dt: datetime) -> Observance:
        return self._in_force[bisect_right(self._wall[dt.fold], dt.replace(tzinfo=None))]

    def utcoffset(self, dt: datetime | None) -> timedelta | None:
        return None if dt is None else self._at(dt).offset

    def dst(self, dt: datetime | None) -> timedelta | None:
        return None if dt is None else self._at(dt).dst

    def tzname(self, dt: datetime | None) -> str | None:
        return None if dt is None else self._at(dt).name

    def fromutc(self, dt: datetime) -> datetime:
        moment = dt.replace(tzinfo=None)
        index = bisect_right(self._utc, moment)
        local = moment + self._in_force[index].offset
        before = self._in_force[index - 1].offset if index else None
        repeated = (before is not None and before > self._in_force[index].offset
                    and local < self._utc[index - 1] + before)
        return local.replace(tzinfo=self, fold=int(repeated))

    def __reduce__(self) -> tuple[Any, ...]:  # copy and pickle like any tzinfo
        return (CalendarZone, (self.key, self._first, self._changes))

    def __repr__(self) -> str:
        return f"CalendarZone({self.key!r}, {len(self._changes)} changes)"

    def __str__(self) -> str:
        return self.key


def zone_from_component(component: icalendar.cal.Component, deadline: float) -> CalendarZone:
    """The zone `component` (a VTIMEZONE) defines; ZoneBeyondBounds if too costly or unreadable.

    Checks `deadline` (time.monotonic()) as it goes, so a parse deadline interrupts it.
    """
    parts = [p for p in component.subcomponents if p.name in ("STANDARD", "DAYLIGHT")]
    if not parts:
        raise ZoneBeyondBounds("has no STANDARD or DAYLIGHT part")
    if len(parts) > MAX_ZONE_PARTS:
        raise ZoneBeyondBounds(f"has {len(parts):,} parts (calsync reads up to "
                               f"{MAX_ZONE_PARTS:,})")
    budget = _Budget(deadline)
    earlier: tuple[datetime, timedelta, Observance] | None = None  # last change before the years
    changes: list[tuple[datetime, timedelta, Observance]] = []
    for part in parts:
        budget.spend(1)
        offset_from, observance = _observance(part)
        for onset in _onsets(part, offset_from, budget):
            change = (onset - offset_from, offset_from, observance)
            if onset.year < FIRST_YEAR:
                earlier = max(earlier, change, key=lambda c: c[0]) if earlier else change
            elif onset.year <= LAST_YEAR:
                changes.append(change)
                if len(changes) > MAX_ZONE_TRANSITIONS:
                    raise ZoneBeyondBounds(f"changes offset more than {MAX_ZONE_TRANSITIONS:,} "
                                           f"times between {FIRST_YEAR} and {LAST_YEAR}")
    ordered = sorted([earlier, *changes] if earlier else changes, key=lambda c: c[0])
    first = Observance(ordered[0][1], timedelta(0), ordered[0][2].name)
    kept: list[tuple[datetime, Observance]] = []
    for when, _, observance in ordered:
        if kept and kept[-1][0] == when:
            kept.pop()  # two parts start at the same instant: the later one listed wins
        if (kept[-1][1] if kept else first) != observance:
            kept.append((when, observance))
    return CalendarZone(str(component.get("TZID", "")), first, kept)


class _Budget:
    """Counts candidate dates against MAX_ZONE_STEPS and watches the parse deadline."""

    def __init__(self, deadline: float) -> None:
        self.deadline, self.left = deadline, MAX_ZONE_STEPS

    def spend(self, steps: int) -> None:
        self.left -= steps
        if self.left < 0:
            raise ZoneBeyondBounds("has rules that produce too many dates to read")
        if time.monotonic() > self.deadline:
            raise ZoneBeyondBounds("could not be read before the calendar's time limit")


def _observance(part: icalendar.cal.Component) -> tuple[timedelta, Observance]:
    try:
        offset_from, offset_to = utc_offsets(part, "TZOFFSETFROM", "TZOFFSETTO")
    except (KeyError, AttributeError) as exc:
        raise ZoneBeyondBounds("has a part without a readable TZOFFSETFROM and TZOFFSETTO"
                               ) from exc
    if not all(abs(o) < timedelta(hours=24) for o in (offset_from, offset_to)):
        raise ZoneBeyondBounds("has an offset of a day or more")
    dst = timedelta(0)
    if part.name == "DAYLIGHT":  # how far ahead of standard time; an hour when it can't tell
        dst = max(offset_to - offset_from, timedelta(0)) or timedelta(hours=1)
    return offset_from, Observance(offset_to, dst, str(part.get("TZNAME", ""))[:40])


def _onsets(part: icalendar.cal.Component, offset_from: timedelta,
            budget: _Budget) -> Iterator[datetime]:
    """Local wall times at which `part` comes into force: DTSTART, its RDATEs and RRULEs."""
    if "DTSTART" not in part:
        raise ZoneBeyondBounds("has a part without a DTSTART")
    start = _local(moment(part, "DTSTART"), offset_from)
    yield start
    for dates in as_list(part.get("RDATE")):
        budget.spend(len(dates.dts))
        for value in dates.dts:
            onset = value.dt[0] if isinstance(value.dt, tuple) else value.dt
            yield _local(onset, offset_from)
    for rule in as_list(part.get("RRULE")):
        yield from _yearly(rule, start, offset_from, budget)


def _local(value: date, offset: timedelta) -> datetime:
    """A zone's own wall time: UTC values moved by `offset`, dates at midnight."""
    if not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day)
    if value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None) + offset
    return value


@dataclass(frozen=True)
class _YearlyRule:
    """The day parts of a yearly rule, read once (icalendar's lookups cost more than the dates)."""

    months: tuple[int, ...]
    weekdays: tuple[tuple[int, int], ...]  # (nth or 0 for every, weekday 0 = Monday)
    monthdays: tuple[int, ...]
    positions: tuple[int, ...]

    @classmethod
    def read(cls, rule: Any, start: datetime) -> _YearlyRule:
        weekdays = []
        for entry in (str(d).upper() for d in as_list(rule.get("BYDAY"))):
            if entry[-2:] not in _WEEKDAYS:
                raise ZoneBeyondBounds(f"has a rule with the weekday {entry[:10]!r}")
            weekdays.append((int(entry[:-2] or 0), _WEEKDAYS.index(entry[-2:])))
        monthdays = tuple(int(d) for d in as_list(rule.get("BYMONTHDAY")))
        months = tuple(int(m) for m in as_list(rule.get("BYMONTH")) if 1 <= int(m) <= 12)
        if not months:
            if any(nth for nth, _ in weekdays):
                raise ZoneBeyondBounds("has a rule counting weekdays across a year, which "
                                       "time zones do not use")
            months = tuple(range(1, 13)) if weekdays or monthdays else (start.month,)
        if not weekdays and not monthdays:
            monthdays = (start.day,)
        return cls(months, tuple(weekdays), monthdays,
                   tuple(int(p) for p in as_list(rule.get("BYSETPOS"))))

    def days(self, year: int) -> list[date]:
        days = [date(year, month, day) for month in self.months
                for day in self._days_of_month(year, month)]
        if self.positions:
            days = sorted({days[p - 1 if p > 0 else p] for p in self.positions
                           if 0 < abs(p) <= len(days)})
        return days

    def _days_of_month(self, year: int, month: int) -> list[int]:
        length = gregorian.monthrange(year, month)[1]
        chosen = {d if d > 0 else length + 1 + d for d in self.monthdays}
        if self.weekdays:
            first_weekday = date(year, month, 1).weekday()
            matching: set[int] = set()
            for nth, weekday in self.weekdays:
                every = range(1 + (weekday - first_weekday) % 7, length + 1, 7)
                if not nth:
                    matching.update(every)
                elif -len(every) <= nth <= len(every):
                    matching.add(every[nth - 1 if nth > 0 else nth])
            chosen = chosen & matching if self.monthdays else matching
        return sorted(d for d in chosen if 1 <= d <= length)


def _yearly(rule: Any, start: datetime, offset: timedelta, budget: _Budget
            ) -> Iterator[datetime]:
    """The onsets of a yearly `rule` from `start` (RFC 5545 3.3.10, the parts zones use)."""
    freq = str(_first(rule, "FREQ", "")).upper()
    if freq not in ZONE_FREQUENCIES:
        raise ZoneBeyondBounds(f"has a rule that repeats {freq.lower() or 'without FREQ'}, "
                               "where time zones repeat yearly")
    unknown = sorted(set(rule) - _RULE_PARTS)
    if unknown or any(len(as_list(rule.get(p))) > 1 for p in ("BYHOUR", "BYMINUTE", "BYSECOND")):
        raise ZoneBeyondBounds(f"has a rule with {', '.join(unknown) or 'several times a day'}, "
                               "which time zones do not use")
    interval = max(int(_first(rule, "INTERVAL", 1)), 1)
    count = int(_first(rule, "COUNT", 0)) or None
    until = _first(rule, "UNTIL", None)
    last = datetime(LAST_YEAR, 12, 31, 23, 59, 59)
    if until is not None:
        last = min(last, _local(until, offset) if isinstance(until, datetime)
                   else datetime(until.year, until.month, until.day, 23, 59, 59))
    clock = start.replace(hour=int(_first(rule, "BYHOUR", start.hour)),
                          minute=int(_first(rule, "BYMINUTE", start.minute)),
                          second=min(int(_first(rule, "BYSECOND", start.second)), 59)).time()
    yearly = _YearlyRule.read(rule, start)
    year, skip_to = start.year, min(FIRST_YEAR, last.year) - 2
    if count is None and year < skip_to:  # whole periods before anyone looks: only the last
        year += (skip_to - year) // interval * interval  # two decide the offset in force
    while year <= last.year:
        days = yearly.days(year)
        budget.spend(len(days) + 1)
        for day in days:
            onset = datetime.combine(day, clock)
            if onset < start:
                continue
            if onset > last:
                return
            yield onset
            if count is not None:
                count -= 1
                if count <= 0:
                    return
        year += interval


def _first(rule: Any, part: str, default: Any) -> Any:
    values = as_list(rule.get(part))
    return values[0] if values else default
