"""Keeps hostile repeat rules bounded before recurring-ical-events expands them.

A rule no date can match is dropped; a dense one starts near the window or gets an UNTIL.
"""

from __future__ import annotations

import calendar as gregorian
import re
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

import icalendar
from dateutil.relativedelta import relativedelta

from calsync.providers.base import ReadContext
from calsync.providers.ics_values import as_list, moment, parsed

# Bounding repeat rules. dateutil (under recurring_ical_events) steps through every
# candidate date from DTSTART, builds a list of the window's dates, and for a rule no
# date can match searches until the year 9999; so each rule is checked before expansion.

_STEP_SECONDS = {"SECONDLY": 1, "MINUTELY": 60, "HOURLY": 3600, "DAILY": 86400,
                 "WEEKLY": 7 * 86400, "MONTHLY": 28 * 86400, "YEARLY": 365 * 86400}
_FREQS = tuple(_STEP_SECONDS)
_WEEKDAYS = {"MO": 0, "TU": 1, "WE": 2, "TH": 3, "FR": 4, "SA": 5, "SU": 6}
_DAY_FILTERS = ("BYMONTH", "BYMONTHDAY", "BYYEARDAY", "BYWEEKNO")
_BY_PARTS = ("BYSECOND", "BYMINUTE", "BYHOUR", "BYDAY", "BYSETPOS", *_DAY_FILTERS)


def bound_rule(event: icalendar.cal.Component, context: ReadContext, max_steps: int) -> str:
    """Make `event`'s RRULE cheap to expand over the window; a warning when dates are lost.

    A rule too costly from its DTSTART is moved forward by whole periods to just before
    the window (the same dates in the window), and then cut with an UNTIL if it is still
    too dense there.
    """
    rules = as_list(event.get("RRULE"))
    if any(_never_matches(rule) for rule in rules):
        del event["RRULE"]
        return "has a repeat rule that no date matches; only its first date was read."
    tz = context.timezone
    start = moment(event, "DTSTART")
    first, window_end = _naive(start, tz), _naive(context.window_end, tz)
    if sum(_steps(rule, first, window_end, tz) for rule in rules) <= max_steps:
        return ""
    rule = rules[0]
    freq = str(rule["FREQ"][0]).upper()
    has_parts = any(rule.get(part) for part in _BY_PARTS)
    if len(rules) > 1 or (rule.get("COUNT") and has_parts) or freq not in _FREQS:
        del event["RRULE"]
        return "repeats too often for calsync to expand; only its first date was read."
    target = _naive(context.window_start, tz) - _duration(event, tz) - _advance(freq, rule, 1)
    periods = _periods_before(freq, rule, first, target)
    if periods > 0:
        delta = _advance(freq, rule, periods)
        for name in ("DTSTART", "DTEND"):
            if name in event:
                event[name] = icalendar.vDDDTypes(moment(event, name) + delta)
        if rule.get("COUNT"):
            remaining = int(rule["COUNT"][0]) - periods
            if remaining <= 0:
                del event["RRULE"]  # every date of the rule lies before the window
                return ""
            rule["COUNT"] = [remaining]
        start, first = moment(event, "DTSTART"), first + delta
    if _steps(rule, first, window_end, tz) <= max_steps:
        return ""
    allowed = max(max_steps // _per_period(rule, freq), 1)
    until = start + _advance(freq, rule, allowed)
    if isinstance(until, datetime) and until.tzinfo is not None:
        until = until.astimezone(UTC)
    rule["UNTIL"] = [until]
    rule.pop("COUNT", None)
    shown = until.strftime("%Y-%m-%d %H:%M") if isinstance(until, datetime) else str(until)
    return (f"repeats too often (FREQ={freq}); calsync read its dates only up to {shown}.")


def _naive(value: date, tz: tzinfo) -> datetime:
    """Wall time in `tz`, for estimating how many periods lie between two moments."""
    if not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day)
    return value.astimezone(tz).replace(tzinfo=None) if value.tzinfo else value


def _duration(event: icalendar.cal.Component, tz: tzinfo) -> timedelta:
    if "DTEND" in event:
        return max(_naive(moment(event, "DTEND"), tz) - _naive(moment(event, "DTSTART"), tz),
                   timedelta())
    length = parsed(event, "DURATION") if "DURATION" in event else None
    return max(length, timedelta()) if isinstance(length, timedelta) else timedelta(days=1)


def _interval(rule: Any) -> int:
    return max(int(as_list(rule.get("INTERVAL"))[0]) if rule.get("INTERVAL") else 1, 1)


def _advance(freq: str, rule: Any, periods: int) -> timedelta | relativedelta:
    if freq in ("MONTHLY", "YEARLY"):
        return relativedelta(months=periods * _interval(rule) * (12 if freq == "YEARLY" else 1))
    return timedelta(seconds=_STEP_SECONDS[freq] * _interval(rule) * periods)


def _periods_before(freq: str, rule: Any, first: datetime, target: datetime) -> int:
    """Whole periods from `first` that still end up before `target`, keeping the day of month."""
    if target <= first:
        return 0
    if freq not in ("MONTHLY", "YEARLY"):
        return int((target - first).total_seconds() // (_STEP_SECONDS[freq] * _interval(rule)))
    step = _interval(rule) * (12 if freq == "YEARLY" else 1)
    months = (target.year - first.year) * 12 + target.month - first.month
    periods = max(months // step - 1, 0)
    while periods > 0 and (first + _advance(freq, rule, periods)).day != first.day:
        periods -= 1  # the 31st or 29 February: go back to a period that keeps the day
    return periods


def _per_period(rule: Any, freq: str) -> int:
    """Upper bound on the dates one period of the rule can produce."""
    rank, count = _FREQS.index(freq), 1
    for part, finer_than in (("BYSECOND", 0), ("BYMINUTE", 1), ("BYHOUR", 2)):
        if rank > finer_than and rule.get(part):
            count *= len(as_list(rule[part]))
    if rank > 3 and any(rule.get(part) for part in ("BYDAY", "BYMONTHDAY", "BYYEARDAY",
                                                     "BYWEEKNO")):
        count *= {4: 7, 5: 31, 6: 366}[rank]
    elif rank == 6 and rule.get("BYMONTH"):
        count *= len(as_list(rule["BYMONTH"]))
    return count


def _steps(rule: Any, first: datetime, stop: datetime, tz: tzinfo) -> float:
    """Upper bound on the candidate dates dateutil steps through from `first` to `stop`."""
    freq = str(rule["FREQ"][0]).upper()
    if freq not in _FREQS:
        return 0
    for until in as_list(rule.get("UNTIL"))[:1]:
        stop = min(stop, _naive(until, tz))
    span = max((stop - first).total_seconds(), 0)
    steps = (span / (_STEP_SECONDS[freq] * _interval(rule)) + 1) * _per_period(rule, freq)
    if rule.get("COUNT") and not any(rule.get(part) for part in _BY_PARTS):
        steps = min(steps, int(as_list(rule["COUNT"])[0]))
    return steps


def _never_matches(rule: Any) -> bool:
    """Whether no day can pass the rule's day filters (dateutil would search to year 9999)."""
    freq = str(rule["FREQ"][0]).upper()
    byday = [str(day).upper() for day in as_list(rule.get("BYDAY"))]
    ordinals = [int(match.group()) for day in byday if (match := re.match(r"[+-]?\d+", day))]
    most = 5 if freq == "MONTHLY" or rule.get("BYMONTH") else 53
    if byday and len(ordinals) == len(byday) and all(abs(n) > most for n in ordinals):
        return True
    if not any(rule.get(part) for part in _DAY_FILTERS):
        return False
    months = {int(m) for m in as_list(rule.get("BYMONTH"))}
    monthdays = {int(d) for d in as_list(rule.get("BYMONTHDAY"))}
    yeardays = {int(d) for d in as_list(rule.get("BYYEARDAY"))}
    weeknos = {int(w) for w in as_list(rule.get("BYWEEKNO"))}
    if str(as_list(rule.get("WKST")) or "MO").upper().strip("[]'\"") != "MO":
        weeknos = set()  # ISO weeks only; other week starts are not ruled out here
    weekdays = {_WEEKDAYS[day[-2:]] for day in byday if day[-2:] in _WEEKDAYS}
    day = date(2001, 1, 1)  # 2001-2028 holds every kind of year (leap, first weekday)
    while day.year < 2029:
        length = gregorian.monthrange(day.year, day.month)[1]
        year_length = 366 if gregorian.isleap(day.year) else 365
        yearday = day.timetuple().tm_yday
        weeks = date(day.year, 12, 28).isocalendar()[1]
        if ((not months or day.month in months)
                and (not monthdays or day.day in monthdays or day.day - length - 1 in monthdays)
                and (not yeardays or yearday in yeardays
                     or yearday - year_length - 1 in yeardays)
                and (not weeknos or day.isocalendar()[1] in weeknos
                     or day.isocalendar()[1] - weeks - 1 in weeknos)
                and (not weekdays or day.weekday() in weekdays)):
            return False
        day += timedelta(days=1)
    return True
