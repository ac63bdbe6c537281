"""Render a user's follow-ups as an RFC 5545 subscription feed: pure, no Flask, no database.

The same follow-ups always give the same bytes, so the ETag changes exactly when they do.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event
from icalendar.prop import vText

from calsync.domain.promises import answer_ask, event_lines, event_prefix
from calsync.domain.text import calendar_text
from calsync.domain.vocabulary import Channel, FollowUpKind, FollowUpStatus
from calsync.feed.vtimezone import vtimezone_for

PRODID = "-//calsync//calsync follow-ups//EN"
CANCELLED_KEEP_DAYS = 30
ASK = "How did it go?"  # before the follow-up's answer link in its description

# RFC 5545 3.8.1.11: a done follow-up still happened, so it stays CONFIRMED.
EVENT_STATUS = {FollowUpStatus.PLANNED: "CONFIRMED", FollowUpStatus.DONE: "CONFIRMED",
                FollowUpStatus.CANCELLED: "CANCELLED"}

_CHANNELS = frozenset(Channel)
_TEXT_SPECIALS = re.compile(r"[\\;,\n]")
_TEXT_ESCAPES = {"\\": "\\\\", ";": "\\;", ",": "\\,", "\n": "\\n"}


@dataclass(frozen=True)
class FeedEvent:
    """One follow-up as the feed shows it; all datetimes are timezone-aware."""

    uid: str  # never changes for a follow-up
    summary: str  # the follow-up's summary ("what")
    start: datetime
    end: datetime
    channel: str  # a Channel; any other text is shown as written
    note: str
    status: FollowUpStatus
    sequence: int  # bumped on each change
    changed_at: datetime  # UTC; the follow-up's last change
    cancelled_at: datetime | None
    deal_name: str
    deal_url: str  # absolute link back to the deal page
    # "How did it go?": the follow-up's answer link (calsync.services.links); empty for none.
    answer_url: str = ""
    kind: FollowUpKind = FollowUpKind.FOLLOW_UP
    promise_due: datetime | None = None  # the deadline promised to the client, if any
    value_note: str = ""  # "what will you bring them?"
    delivered_at: datetime | None = None  # a promise's delivery: no longer work to do


class _Text(vText):
    """TEXT escaped in one pass; vText reads a typed backslash-N as a line break and loses it.
    Control characters (RFC 5545 allows none but TAB) are dropped."""

    __slots__ = ()
    encoding: str  # set by vText.__new__; icalendar declares it in __slots__ alone

    def to_ical(self) -> bytes:
        text = calendar_text(self.replace("\r\n", "\n").replace("\r", "\n"))
        return _TEXT_SPECIALS.sub(lambda m: _TEXT_ESCAPES[m[0]], text).encode(self.encoding)


def feed_events(events: Iterable[FeedEvent], now: datetime) -> list[FeedEvent]:
    """Drop follow-ups cancelled more than CANCELLED_KEEP_DAYS ago; order by start, then uid."""
    _require_aware("now", now)
    return sorted((e for e in events if not _expired(e, now)), key=_order)


def next_expiry(events: Iterable[FeedEvent]) -> datetime | None:
    """The last moment the feed of these events stays the same: after it, the first of their
    cancellations to go is dropped by feed_events. None when none is cancelled."""
    return min(filter(None, map(_kept_until, events)), default=None)


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
        instants = [t for event in ordered for t in (event.start, event.end)]
        cal.subcomponents.insert(0, vtimezone_for(tz, instants))
    body: bytes = cal.to_ical()  # icalendar leaves Component.to_ical unannotated
    return body


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
    label = calendar_text(_channel_label(event.channel))
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
    vevent.add("DESCRIPTION", _Text(_description(label, event, tz)))
    if event.deal_url:
        vevent.add("URL", event.deal_url)
    vevent.add("CATEGORIES", [label])
    vevent.add("STATUS", EVENT_STATUS[event.status])
    vevent.add("TRANSP", "OPAQUE")
    return vevent


def _summary(label: str, event: FeedEvent) -> str:
    """E.g. "Call: Acme — send pricing", or "Promise · Call: Acme — send pricing" for a
    follow-up that is not a plain next touch; empty parts are left out."""
    what = " — ".join(part for part in (event.deal_name.strip(), event.summary.strip()) if part)
    summary = f"{label}: {what}" if what else label
    return event_prefix(event.kind, event.delivered_at is not None) + summary


def _description(label: str, event: FeedEvent, tz: ZoneInfo) -> str:
    facts = [*event_lines(event.kind, event.promise_due, event.value_note, tz,
                          event.delivered_at),
             f"Channel: {label}"]
    if event.deal_name.strip():
        facts.append(f"Deal: {event.deal_name.strip()}")
    if event.deal_url:
        facts.append(event.deal_url)
    note = event.note.strip()
    asked = answer_ask(event.kind, event.delivered_at is not None)
    ask = f"{asked} {event.answer_url}" if event.answer_url else ""
    return "\n\n".join(part for part in (note, "\n".join(facts), ask) if part)


def _channel_label(channel: str) -> str:
    if channel in _CHANNELS:
        return Channel(channel).event_label
    return channel.strip().capitalize() or Channel.OTHER.event_label


def _kept_until(event: FeedEvent) -> datetime | None:
    if event.status != FollowUpStatus.CANCELLED:
        return None
    # Without a cancellation time the last change is the best evidence of when it happened.
    cancelled_at = event.cancelled_at or event.changed_at
    return cancelled_at + timedelta(days=CANCELLED_KEEP_DAYS)


def _expired(event: FeedEvent, now: datetime) -> bool:
    kept_until = _kept_until(event)
    return kept_until is not None and kept_until < now


def _order(event: FeedEvent) -> tuple[datetime, str]:
    return (event.start, event.uid)


def _require_aware(name: str, value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value.isoformat()}")
