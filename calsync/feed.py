"""Render a user's follow-ups as an RFC 5545 subscription feed: pure, no Flask, no database.

The same follow-ups always give the same bytes, so the ETag changes exactly when they do.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import re
import zoneinfo
from calendar import monthrange
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, Timezone, TimezoneDaylight, TimezoneStandard
from icalendar.prop import vText

PRODID = "-//calsync//calsync follow-ups//EN"
CANCELLED_KEEP_DAYS = 30

CHANNEL_LABELS = {
    "call": "Call",
    "email": "Email",
    "meeting": "Meeting",
    "visit": "Visit",
    "other": "Follow-up",
}
# RFC 5545 3.8.1.11: a done follow-up still happened, so it stays CONFIRMED.
EVENT_STATUS = {"planned": "CONFIRMED", "done": "CONFIRMED", "cancelled": "CANCELLED"}

_TEXT_SPECIALS = re.compile(r"[\\;,\n]")
_TEXT_ESCAPES = {"\\": "\\\\", ";": "\\;", ",": "\\,", "\n": "\\n"}
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


@dataclass(frozen=True)
class FeedEvent:
    """One follow-up as the feed shows it; all datetimes are timezone-aware."""

    uid: str  # never changes for a follow-up
    summary: str  # the follow-up's summary ("what")
    start: datetime
    end: datetime
    channel: str  # call | email | meeting | visit | other
    note: str
    status: str  # planned | done | cancelled
    sequence: int  # bumped on each change
    changed_at: datetime  # UTC; the follow-up's last change
    cancelled_at: datetime | None
    deal_name: str
    deal_url: str  # absolute link back to the deal page


class _Text(vText):
    """TEXT escaped in one pass; vText reads a typed backslash-N as a line break and loses it."""

    __slots__ = ()

    def to_ical(self) -> bytes:
        text = self.replace("\r\n", "\n").replace("\r", "\n")
        return _TEXT_SPECIALS.sub(lambda m: _TEXT_ESCAPES[m[0]], text).encode(self.encoding)


def feed_events(events: Iterable[FeedEvent], now: datetime) -> list[FeedEvent]:
    """Drop follow-ups cancelled more than CANCELLED_KEEP_DAYS ago; order by start, then uid."""
    _require_aware("now", now)
    cutoff = now - timedelta(days=CANCELLED_KEEP_DAYS)
    return sorted((e for e in events if not _expired(e, cutoff)), key=_order)


def render_feed(
    events: Sequence[FeedEvent],
    *,
    calendar_name: str,
    tz: ZoneInfo,
    refresh_minutes: int = 60,
) -> bytes:
    """Return the feed as iCalendar bytes (CRLF, folded); events are sorted, so order is moot."""
    if tz.key is None:
        raise ValueError("tz must be a ZoneInfo made from a key such as 'Europe/Berlin'")
    if refresh_minutes < 1:
        raise ValueError(f"refresh_minutes must be at least 1, got {refresh_minutes}")
    cal = _calendar(calendar_name, tz, refresh_minutes)
    ordered = sorted(events, key=_order)
    for event in ordered:
        cal.add_component(_vevent(event, tz))
    if ordered and cal.get_missing_tzids():  # a UTC zone is written as "Z" and needs none
        cal.subcomponents.insert(0, _vtimezone(ordered, tz))
    return cal.to_ical()


def strong_etag(body: bytes) -> str:
    """A quoted strong ETag (RFC 9110 8.8.3): the SHA-256 of the exact bytes."""
    return f'"{hashlib.sha256(body).hexdigest()}"'


def _calendar(name: str, tz: ZoneInfo, refresh_minutes: int) -> Calendar:
    cal = Calendar()
    cal.add("PRODID", PRODID)
    cal.add("VERSION", "2.0")
    cal.add("CALSCALE", "GREGORIAN")
    cal.add("METHOD", "PUBLISH")
    cal.add("NAME", _Text(name))
    cal.add("X-WR-CALNAME", _Text(name))
    cal.add("X-WR-TIMEZONE", tz.key)
    # icalendar would write PT1H; clients and the issue expect the minutes spelled out.
    interval = f"PT{refresh_minutes}M"
    cal.add("REFRESH-INTERVAL", vText(interval, params={"VALUE": "DURATION"}))
    cal.add("X-PUBLISHED-TTL", interval)
    return cal


def _vevent(event: FeedEvent, tz: ZoneInfo) -> Event:
    for name in ("start", "end", "changed_at"):
        _require_aware(name, getattr(event, name))
    if event.status not in EVENT_STATUS:
        raise ValueError(f"follow-up {event.uid}: unknown status {event.status!r}")
    label = _channel_label(event.channel)
    vevent = Event()
    vevent.add("UID", event.uid)
    vevent.add("SEQUENCE", event.sequence)
    # The last change, never "now": re-rendering unchanged data must give the same bytes.
    changed = event.changed_at.astimezone(UTC)
    vevent.add("DTSTAMP", changed)
    vevent.add("LAST-MODIFIED", changed)
    vevent.add("DTSTART", event.start.astimezone(tz))
    vevent.add("DTEND", event.end.astimezone(tz))
    vevent.add("SUMMARY", _Text(_summary(label, event)))
    vevent.add("DESCRIPTION", _Text(_description(label, event)))
    if event.deal_url:
        vevent.add("URL", event.deal_url)
    vevent.add("CATEGORIES", [label])
    vevent.add("STATUS", EVENT_STATUS[event.status])
    vevent.add("TRANSP", "OPAQUE")
    return vevent


def _vtimezone(events: Sequence[FeedEvent], tz: ZoneInfo) -> Timezone:
    """RRULE observances when the zone's current rule fits every event (Outlook ignores
    RDATE); otherwise icalendar's exact RDATE history for the whole years the events span."""
    instants = [t for e in events for t in (e.start, e.end)]
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
    month, week, weekday, at = re.fullmatch(_RULE, rule).groups()  # type: ignore[union-attr]
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


def _summary(label: str, event: FeedEvent) -> str:
    """E.g. "Call: Acme — send pricing"; empty parts are left out."""
    what = " — ".join(part for part in (event.deal_name.strip(), event.summary.strip()) if part)
    return f"{label}: {what}" if what else label


def _description(label: str, event: FeedEvent) -> str:
    facts = [f"Channel: {label}"]
    if event.deal_name.strip():
        facts.append(f"Deal: {event.deal_name.strip()}")
    if event.deal_url:
        facts.append(event.deal_url)
    note = event.note.strip()
    return "\n\n".join(part for part in (note, "\n".join(facts)) if part)


def _channel_label(channel: str) -> str:
    return CHANNEL_LABELS.get(channel, channel.strip().capitalize() or CHANNEL_LABELS["other"])


def _expired(event: FeedEvent, cutoff: datetime) -> bool:
    if event.status != "cancelled":
        return False
    # Without a cancellation time the last change is the best evidence of when it happened.
    cancelled_at = event.cancelled_at or event.changed_at
    return cancelled_at < cutoff


def _order(event: FeedEvent) -> tuple[datetime, str]:
    return (event.start, event.uid)


def _require_aware(name: str, value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value.isoformat()}")
