"""VTIMEZONE components that Outlook, Google and Apple all read: yearly RRULEs where they can.

Built from the POSIX rule that ends the zone's TZif file, checked against zoneinfo.
"""

from __future__ import annotations

import importlib.resources
import re
import zoneinfo
from calendar import monthrange
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from icalendar import Timezone, TimezoneDaylight, TimezoneStandard

# The POSIX TZ string at the end of a TZif file (RFC 8536 3.3), limited to what an RRULE
# can say: "CET-1CEST,M3.5.0,M10.5.0/3". Anything else falls back to exact RDATEs.
_OFFSET = r"[+-]?\d{1,2}(?::\d{2}){0,2}"
_NAME = r"[A-Za-z]{3,}|<[^>]+>"
_RULE = r"M(\d{1,2})\.([1-5])\.([0-6])(?:/(\d{1,2}(?::\d{2}){0,2}))?"
_POSIX_TZ = re.compile(
    rf"(?P<std>{_NAME})(?P<std_offset>{_OFFSET})"
    rf"(?:(?P<dst>{_NAME})(?P<dst_offset>{_OFFSET})?,(?P<start>{_RULE}),(?P<end>{_RULE}))?"
)
_WEEKDAYS = ("SU", "MO", "TU", "WE", "TH", "FR", "SA")  # POSIX counts from Sunday
_RULE_EPOCH = 1970  # observances start here, as Google's and Outlook's own feeds do


def vtimezone_for(tz: ZoneInfo, instants: Sequence[datetime]) -> Timezone:
    """RRULE observances when the zone's current rule fits every instant (Outlook ignores
    RDATE); otherwise icalendar's exact RDATE history for the whole years they span."""
    rule = _zone_rule(tz.key)
    if rule and all(rule.utcoffset(t) == t.astimezone(tz).utcoffset() for t in instants):
        return rule.vtimezone(tz.key)
    years = [t.astimezone(tz).year for t in instants]
    return Timezone.from_tzinfo(tz, tz.key, date(min(years), 1, 1), date(max(years) + 1, 1, 1))


@dataclass(frozen=True)
class _Transition:
    """A yearly change of offset on the week'th (5 = last) weekday of a month."""

    month: int
    week: int
    weekday: int  # 0 = Sunday, as in POSIX
    at: timedelta  # local wall time, before the change
    offset_from: timedelta
    offset_to: timedelta
    name: str  # TZNAME after the change

    def onset(self, year: int) -> datetime:
        first = date(year, self.month, 1)
        day = 1 + (self.weekday + 6 - first.weekday()) % 7 + 7 * (self.week - 1)
        while day > monthrange(year, self.month)[1]:
            day -= 7
        return datetime(year, self.month, day) + self.at

    def component(self) -> TimezoneStandard | TimezoneDaylight:
        kind = TimezoneDaylight if self.offset_to > self.offset_from else TimezoneStandard
        component = kind()
        component.add("DTSTART", self.onset(_RULE_EPOCH))
        week = -1 if self.week == 5 else self.week
        byday = f"{week}{_WEEKDAYS[self.weekday]}"
        component.add("RRULE", {"FREQ": "YEARLY", "BYMONTH": self.month, "BYDAY": byday})
        component.add("TZNAME", self.name)
        component.add("TZOFFSETFROM", self.offset_from)
        component.add("TZOFFSETTO", self.offset_to)
        return component


@dataclass(frozen=True)
class _ZoneRule:
    """A zone's current rule: a fixed offset, or two yearly transitions."""

    name: str
    offset: timedelta
    transitions: tuple[_Transition, ...]

    def utcoffset(self, instant: datetime) -> timedelta:
        """The offset a client reading our VTIMEZONE gives this instant."""
        year = instant.astimezone(UTC).year
        changes = sorted(
            ((t.onset(y) - t.offset_from).replace(tzinfo=UTC), t.offset_to)
            for t in self.transitions
            for y in (year - 1, year)
        )
        return max((c for c in changes if c[0] <= instant), default=(None, self.offset))[1]

    def vtimezone(self, tzid: str) -> Timezone:
        vtimezone = Timezone()
        vtimezone.add("TZID", tzid)
        for transition in self.transitions or (self._fixed(),):
            vtimezone.add_component(transition.component())
        return vtimezone

    def _fixed(self) -> _Transition:
        # A no-op yearly onset on Thursday 1970-01-01: Outlook wants RRULEs with BYDAY.
        return _Transition(1, 1, 4, timedelta(0), self.offset, self.offset, self.name)


@lru_cache(maxsize=64)
def _zone_rule(key: str) -> _ZoneRule | None:
    """Parse the POSIX TZ string that ends the zone's TZif file, if an RRULE can express it."""
    match = _POSIX_TZ.fullmatch(_tzif_footer(key))
    if not match:
        return None
    std_name, std = match["std"].strip("<>"), -_posix_offset(match["std_offset"])
    if not match["dst"]:
        return _ZoneRule(std_name, std, ())
    dst_name = match["dst"].strip("<>")
    dst = -_posix_offset(match["dst_offset"]) if match["dst_offset"] else std + timedelta(hours=1)
    start = _transition(match["start"], std, dst, dst_name)
    end = _transition(match["end"], dst, std, std_name)
    return _ZoneRule(std_name, std, (start, end)) if start and end else None


def _transition(
    rule: str, offset_from: timedelta, offset_to: timedelta, name: str
) -> _Transition | None:
    parts = re.fullmatch(_RULE, rule)
    if parts is None:
        return None
    month, week, weekday, at = parts.groups()
    time = _posix_offset(at or "2")
    if not 1 <= int(month) <= 12 or time >= timedelta(days=1):  # "/26" needs another weekday
        return None
    return _Transition(int(month), int(week), int(weekday), time, offset_from, offset_to, name)


def _posix_offset(text: str) -> timedelta:
    """Read "5:30" as 5h30m; POSIX offsets count west of UTC, so callers negate them."""
    hours, minutes, seconds = ([*map(int, text.lstrip("+-").split(":")), 0, 0])[:3]
    size = timedelta(hours=hours, minutes=minutes, seconds=seconds)
    return -size if text.startswith("-") else size


def _tzif_footer(key: str) -> str:
    """The last line of the zone's TZif file; version 1 files have none."""
    try:
        data = _tzif_bytes(key)
    except (ImportError, OSError):
        return ""
    if not data.startswith(b"TZif") or data[4:5] == b"\0":
        return ""
    return data.rstrip(b"\n").rsplit(b"\n", 1)[-1].decode("ascii", "replace")


def _tzif_bytes(key: str) -> bytes:
    """Read the zone where zoneinfo looks for it: TZPATH first, then the tzdata package."""
    for root in zoneinfo.TZPATH:
        if (path := Path(root, key)).is_file():
            return path.read_bytes()
    zones = importlib.resources.files("tzdata.zoneinfo")
    return zones.joinpath(*key.split("/")).read_bytes()
