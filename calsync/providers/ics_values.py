"""Typed reads of icalendar property values: the one place calsync steps from icalendar's
untyped property classes to dates, durations and offsets it can check.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from icalendar.cal import Component


def as_list(value: Any) -> list[Any]:
    """icalendar gives one value or a list for repeatable properties; always a list."""
    return value if isinstance(value, list) else [] if value is None else [value]


def _property(component: Component, name: str) -> Any:
    """`component[name]`, as the untyped value it is to calsync.

    icalendar declares the union of its thirty property classes, and the class a name gets
    depends on the file (DTSTART;VALUE=TEXT is a vText), so callers read an attribute and
    check the type of what it holds; reading it fails as icalendar's attribute does.
    """
    return component[name]


def parsed(component: Component, name: str) -> object:
    """What icalendar read `name` into (its `.dt`): a date, date-time, time, duration or period;
    None when it holds no kind of time (DTSTART;VALUE=TEXT is read as text, with no `.dt`).

    KeyError when `name` is missing, and icalendar's BrokenCalendarProperty when its value
    could not be read.
    """
    # None rather than AttributeError, so that every caller's type check refuses text too.
    return getattr(_property(component, name), "dt", None)


def moment(component: Component, name: str) -> date:
    """The date or date-time `name` holds (DTSTART, DTEND, RECURRENCE-ID), as `parsed` reads
    it; TypeError when it holds another kind of value."""
    value = parsed(component, name)
    if not isinstance(value, date):
        raise TypeError(f"its {name} is not a date or time")
    return value


def duration(component: Component, name: str) -> timedelta:
    """The length of time `name` holds (DURATION), as `parsed` reads it; TypeError when it
    holds another kind of value."""
    return _timedelta(parsed(component, name), f"its {name} is not a length of time")


def utc_offsets(component: Component, *names: str) -> list[timedelta]:
    """The offsets `names` hold (TZOFFSETFROM, TZOFFSETTO: their `.td`).

    Every value is read before any is checked, so a missing or unreadable one fails as
    reading it does (KeyError, AttributeError for text...) even when another holds a date
    instead (TypeError).
    """
    values: list[object] = [_property(component, name).td for name in names]
    return [_timedelta(value, f"its {name} is not a UTC offset")
            for name, value in zip(names, values, strict=True)]


def _timedelta(value: object, problem: str) -> timedelta:
    if not isinstance(value, timedelta):
        raise TypeError(problem)
    return value
