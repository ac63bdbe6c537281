"""Turn iCalendar bytes into meetings: shape checks, per-event repairs, bounded expansion.

Pure (bytes in, `MeetingData` and warnings out), so feeds and uploaded files share it.
"""

from __future__ import annotations

import codecs
import hashlib
import itertools
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

import icalendar
import recurring_ical_events
import x_wr_timezone
from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON
from recurring_ical_events import Occurrence

from calsync.config import Settings
from calsync.domain.meeting import Attendee, MeetingData
from calsync.domain.vocabulary import MeetingStatus
from calsync.errors import SourceError
from calsync.providers.base import ReadContext
from calsync.providers.ics_plain import PlainEvent, read_plain
from calsync.providers.ics_repair import (
    drop_nested_events,
    original_start,
    repair_event,
    repair_text,
    top_level_calendars,
)
from calsync.providers.ics_rules import bound_rule
from calsync.providers.ics_split import (
    ASCII_BASED,
    END,
    Previous,
    Selection,
    Split,
    codec_name,
    entry,
    select,
    split,
)
from calsync.providers.ics_values import as_list, duration, moment, parsed
from calsync.providers.ics_zones import read_calendars

MAX_LINE_CHARS = 1 << 20  # no real calendar has a 1 MiB line; a hostile one might
MAX_DESCRIPTION = 10_000
MAX_WARNINGS = 50
MORE = "More problems were found; only the first ones are listed."
# Candidate dates the rule engine may step through for one series: about 0.1 s of work.
MAX_RULE_STEPS = 50_000
# The meetings `Limits.deadline_seconds` is meant for (the default meeting limit).
DEADLINE_MEETINGS = 20_000
# Bytes of events parsed at a time (about 200 ordinary events): a large calendar never
# holds all its parsed events at once.
CHUNK_BYTES = 128 * 1024
_END = re.compile(r"^END:VCALENDAR[ \t\r]*$", re.MULTILINE | re.IGNORECASE)
# Broken values here make an event meaningless; broken values elsewhere are dropped.
_ESSENTIAL = {"DTSTART", "DTEND", "DURATION", "RRULE", "RECURRENCE-ID"}
# Google's calendar-wide zone, which moves every event's times (see `_standardize`).
_CALENDAR_ZONE = re.compile(rb"X-WR-TIMEZONE", re.IGNORECASE)
_UNFOLD = re.compile(rb"\r?\n[ \t]")


@dataclass(frozen=True)
class Limits:
    """How much one calendar may cost to expand."""

    max_occurrences_per_series: int = 5000
    max_meetings: int = 100_000
    # Candidate dates the rule engine may step through for one series, from its first date.
    max_rule_steps: int = MAX_RULE_STEPS
    deadline_seconds: float = 30.0

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        # The time allowed grows with the meetings allowed: an instance that admits larger
        # calendars gives them the time to read them (30 s at the default 20,000).
        scale = max(settings.max_meetings_per_source / DEADLINE_MEETINGS, 1.0)
        return cls(max_occurrences_per_series=settings.max_occurrences_per_series,
                   max_meetings=settings.max_meetings_per_source,
                   deadline_seconds=cls.deadline_seconds * scale)


@dataclass
class ParsedCalendar:
    meetings: list[MeetingData] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    truncated: bool = False
    selection: Selection | None = None  # None: the calendar was read whole
    state: Previous | None = None

    def stop(self) -> None:
        """A limit was reached: the meetings are the first ones only."""
        self.truncated = True
        self.warn(FULL.format(len(self.meetings)))

    def warn(self, message: str) -> None:
        if len(self.warnings) < MAX_WARNINGS:
            self.warnings.append(message)
        elif len(self.warnings) == MAX_WARNINGS:
            self.warnings.append(MORE)


def decode(data: bytes, charset: str = "") -> tuple[str, list[str]]:
    """Text of `data`: the declared charset if it works, else UTF-8, else cp1252 (warned)."""
    text, _codec, warnings = _decoded(data, charset)
    return text, warnings


def _decoded(data: bytes, charset: str) -> tuple[str, str, list[str]]:
    """`decode`, and the codec it used (so parts of `data` can be decoded alike)."""
    if data.startswith(codecs.BOM_UTF8):
        return data.decode("utf-8-sig", errors="replace"), "utf-8-sig", []
    for candidate in (charset, "utf-8"):
        if not candidate:
            continue
        try:
            return data.decode(candidate), candidate, []
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode("cp1252", errors="replace"), "cp1252", [
        "The calendar is not valid UTF-8 and declares no usable character set; "
        "it was read as Windows-1252, so some accented letters may look wrong."]


def parse_ics(data: bytes, context: ReadContext, limits: Limits | None = None,
              charset: str = "", previous: Previous | None = None) -> ParsedCalendar:
    """Every meeting in `context`'s window; raises SourceError when nothing is usable.

    The events are parsed a part at a time by UID (see `ics_split`), so a large calendar
    never holds all of them parsed at once. With `previous`, only the UIDs `select` names
    are parsed and `result.selection` says which; `result.state` is what the next read
    takes as its `previous` (None when the calendar could not be split, or a limit cut it).
    """
    limits = limits or Limits()
    text, codec, warnings = _decoded(data, charset)
    result = ParsedCalendar(warnings=warnings)
    deadline = time.monotonic() + limits.deadline_seconds  # zone reading counts too
    parts = None
    if codec_name(codec) in ASCII_BASED:
        # The scan reads the bytes, and each part is decoded and repaired on its own: the
        # calendar's text is never held whole (a large one is twice its bytes or more).
        del text
        parts = split(data, codec, MAX_LINE_CHARS)
        if parts is None:
            text = data.decode(codec, errors="replace")
    if parts is None:  # not a plain calendar of UIDs: repaired and read whole
        text, repaired = repair_text(text)
        result.warnings += repaired
        check_shape(text)
        _parse_text(text, context, limits, result, deadline)
        return result
    # The split checked the shape: one whole calendar, no line too long.
    result.selection = chosen = select(parts, previous, context.window_end.date())
    again = set(chosen.uids)
    parts.starts.clear()  # only `select` needs them: a large calendar's parse is tight on memory
    if previous is not None and not chosen.complete:  # the UIDs not read again still count
        kept = previous.kept(uid for uid in parts.blocks if uid not in again)
        limits = replace(limits, max_meetings=max(limits.max_meetings - kept, 0))
    # A calendar without events is still read, so a broken one says so as it always did.
    if chosen.complete and not chosen.uids:
        text, _repaired = repair_text((parts.head + END).decode(codec, errors="replace"))
        _parse_text(text, context, limits, result, deadline)
    plain = bool(chosen.uids) and _plain_head(parts.head, codec, context, limits, deadline)
    for uids in parts.groups(chosen.uids, CHUNK_BYTES):
        _parse_part(parts, uids, codec, plain, context, limits, result, deadline)
        if result.truncated:
            return result  # the rest would be cut off too: the next read reads it all again
    made = Counter(meeting.uid for meeting in result.meetings)
    old = previous.events if previous is not None and not chosen.complete else {}
    result.state = Previous(parts.head_digest(), {
        uid: entry(digest, made[uid]) if uid in again else old[uid]
        for uid, digest in parts.digests.items()})
    return result


@dataclass(frozen=True)
class _Plain:
    """A part's events read plainly (`ics_plain`), by UID, and the order of all its UIDs."""

    order: list[str]
    meetings: dict[str, MeetingData]


def _plain_head(head: bytes, codec: str, context: ReadContext, limits: Limits,
                deadline: float) -> bool:
    """Whether the events under `head` may be read plainly: no X-WR-TIMEZONE moves their
    times, and the head read alone says nothing (a broken head, or an event nested in it,
    is then said once per part as it always was)."""
    if _CALENDAR_ZONE.search(_UNFOLD.sub(b"", head)):
        return False
    alone = ParsedCalendar()
    try:
        text, _repaired = repair_text((head + END).decode(codec, errors="replace"))
        _parse_text(text, context, limits, alone, deadline)
    except SourceError:
        return False
    return not alone.warnings and not alone.meetings


def _parse_part(parts: Split, uids: list[str], codec: str, plain: bool, context: ReadContext,
                limits: Limits, result: ParsedCalendar, deadline: float) -> None:
    """Add the meetings of `uids`: plain single events read directly, the rest with
    icalendar, in the order and with the warnings a parse of them all would give."""
    made = {uid: meeting for uid in (uids if plain else []) if uid not in parts.recurring
            and (meeting := _plain_meeting(parts.block(uid), uid, codec, context.timezone))}
    rest = [uid for uid in uids if uid not in made]
    if not rest:
        tz = context.timezone
        _add_single_events(list(made.values()), context.window_start.astimezone(tz),
                           context.window_end.astimezone(tz), tz, limits, result)
        return
    text, _repaired = repair_text(parts.calendar(rest).decode(codec, errors="replace"))
    _parse_text(text, context, limits, result, deadline, _Plain(uids, made))


def _plain_meeting(block: bytes | None, uid: str, codec: str, tz: tzinfo) -> MeetingData | None:
    """The meeting of a plain event's block, or None to read it with icalendar."""
    event = None if block is None else read_plain(block.decode(codec, errors="replace"), uid)
    if event is None:
        return None
    try:
        return plain_meeting(event, tz)
    except Exception:  # icalendar's reading says what is wrong (a date past year 9999...)
        return None


def _parse_text(text: str, context: ReadContext, limits: Limits, result: ParsedCalendar,
                deadline: float, plain: _Plain | None = None) -> None:
    """Add the meetings of `text` (a whole calendar, or a part of one) to `result`, with
    the `plain` meetings of its part in their place among its single events."""
    try:
        calendars = read_calendars(text, deadline, result.warn)
    except Exception as exc:  # icalendar raises many kinds; none of them is the user's bug
        raise SourceError(f"calsync could not read this calendar: {_short(exc)}.",
                          "Check that the address or file is an iCalendar (.ics) calendar.",
                          ) from exc
    if not calendars:  # icalendar returns nothing when BEGIN and END lines do not pair up
        raise SourceError("calsync could not read this calendar: its BEGIN and END lines do "
                          "not match.", "Check that the file is a complete iCalendar calendar.")
    for calendar in top_level_calendars(calendars):
        _expand(_prepare(calendar, context, limits, result), context, limits, result, deadline,
                plain)
        plain = None


def check_shape(text: str) -> None:
    """Refuse text that is plainly not a whole calendar, with a sentence saying why."""
    body = text.lstrip()
    if not body:
        raise SourceError("The calendar is empty.", "Check the address or file.")
    if not body[:15].upper().startswith("BEGIN:VCALENDAR"):
        first = body.split("\n", 1)[0][:40].strip()
        if first.lower().startswith(("<!doctype", "<html")):
            raise SourceError(f"This is a web page, not a calendar: it starts with “{first}”.",
                              "Use the calendar's iCal (ICS) address, often found under "
                              "its sharing or export settings.")
        shown = "binary data" if _binary(body[:64]) else f"“{first}”"
        raise SourceError(
            f"This isn't an iCalendar calendar: it starts with {shown}, not BEGIN:VCALENDAR.",
            "Check that the address or file is an iCalendar (.ics) calendar.")
    # The line is nearly always at the end: look there first.
    if not (_END.search(body, max(len(body) - 4096, 0)) or _END.search(body)):
        raise SourceError("The calendar stops part-way (no END:VCALENDAR): the download may "
                          "have been cut off.",
                          "Check that the address or file is a whole iCalendar calendar.")
    # Each step goes to the last line end within reach, so the lines before it were short
    # enough, and a large calendar takes a few steps instead of one per line.
    start = 0
    while len(body) - start > MAX_LINE_CHARS:
        start = body.rfind("\n", start, start + MAX_LINE_CHARS + 1) + 1
        if not start:
            raise SourceError("The calendar has a line longer than 1 MB, which no real "
                              "calendar needs; calsync did not read it.",
                              "Ask the calendar's owner to check the feed.")


def _binary(snippet: str) -> bool:
    return any((ord(c) < 32 and c not in "\t\r\n") or c == "\ufffd" for c in snippet)


def _short(exc: Exception) -> str:
    message = " ".join(str(exc).split()) or type(exc).__name__
    return message[:200].rstrip(".")


def label(event: icalendar.cal.Component) -> str:
    summary = " ".join(str(event.get("SUMMARY", "")).split())[:80]
    uid = str(event.get("UID", ""))[:80]
    named = f"“{summary}”" if summary else "an untitled event"
    return f"{named} (UID {uid})" if uid else named


def _prepare(calendar: icalendar.Calendar, context: ReadContext, limits: Limits,
             result: ParsedCalendar) -> icalendar.Calendar:
    """Drop broken events (warned), apply X-WR-TIMEZONE, bound every repeat rule."""
    for warning in drop_nested_events(calendar):
        result.warn(warning)
    keep = []
    for component in calendar.subcomponents:
        if component.name == "VEVENT":
            notes = repair_event(component)
            problem = _repair(component)
            if problem:
                result.warn(f"Skipped {label(component)}: {problem}.")
                continue
            for note in notes:
                result.warn(f"{label(component)[0].upper()}{label(component)[1:]} {note}")
        keep.append(component)
    calendar.subcomponents = keep
    calendar = _standardize(calendar, result)
    for event in calendar.walk("VEVENT"):
        if "RRULE" in event and "RECURRENCE-ID" not in event:
            warning = bound_rule(event, context, limits.max_rule_steps)
            if warning:
                result.warn(f"{label(event)[0].upper()}{label(event)[1:]} {warning}")
    return calendar


def _repair(event: icalendar.cal.Component) -> str:
    """Why `event` cannot be used ("" if it can), dropping properties that can be lost."""
    for name, message in list(getattr(event, "errors", [])):
        if name in _ESSENTIAL:
            return f"its {name} could not be read ({_short(Exception(message))})"
        if name and name in event:  # no name: a line that isn't a property at all
            del event[name]  # an unreadable EXDATE, ATTENDEE...: keep the event without it
    if problem := _time_problem(event):
        return problem
    if not str(event.get("UID", "")).strip():
        digest = hashlib.sha256(event.to_ical()).hexdigest()[:32]
        event["UID"] = f"calsync-{digest}"  # stable across syncs while the event is unchanged
    rules = event.get("RRULE")
    for rule in rules if isinstance(rules, list) else [rules] if rules else []:
        if not rule.get("FREQ"):
            return "its repeat rule (RRULE) has no FREQ"
        if rule.get("UNTIL") and rule.get("COUNT"):
            del rule["COUNT"]  # RFC 5545 forbids both; UNTIL is the safer reading
    return ""


def _time_problem(event: icalendar.cal.Component) -> str:
    """Why `event`'s times can't place it ("" if they can)."""
    if "DTSTART" not in event:
        return "it has no start time (DTSTART)"
    for name in ("DTSTART", "DTEND", "RECURRENCE-ID"):
        if name in event and not isinstance(parsed(event, name), date):
            return f"its {name} is not a date or time"
    # DURATION counts only without a DTEND (the end wins); recurring_ical_events adds it to
    # the start unchecked, so a date there would fail the whole calendar.
    if ("DURATION" in event and "DTEND" not in event
            and not isinstance(parsed(event, "DURATION"), timedelta)):
        return "its DURATION is not a length of time"
    return ""


def _standardize(calendar: icalendar.Calendar, result: ParsedCalendar) -> icalendar.Calendar:
    """Google's X-WR-TIMEZONE (with Windows names mapped) made into standard time zones."""
    name = str(calendar.get("X-WR-TIMEZONE", "")).strip()
    if not name:
        return calendar
    try:
        zone: tzinfo | str = WINDOWS_TO_OLSON.get(name, name)
        standard: icalendar.Calendar = x_wr_timezone.to_standard(calendar, timezone=zone)
        return standard
    except Exception:  # an unknown zone name: keep the times as written
        result.warn(f"The calendar's time zone {name[:60]!r} is unknown; its times were "
                    "read as written.")
        return calendar


def _expand(calendar: icalendar.Calendar, context: ReadContext, limits: Limits,
            result: ParsedCalendar, deadline: float, plain: _Plain | None = None) -> None:
    tz = context.timezone
    start, end = context.window_start.astimezone(tz), context.window_end.astimezone(tz)
    events = calendar.walk("VEVENT")
    recurring = {str(e.get("UID")) for e in events
                 if any(p in e for p in ("RRULE", "RDATE", "RECURRENCE-ID"))}
    # Most events happen once: converting them directly skips the series machinery,
    # which costs several times the parse itself on a large calendar (bench/sync_cost.py).
    _add_single_events(_in_order([e for e in events if str(e.get("UID")) not in recurring],
                                 plain), start, end, tz, limits, result)
    query = recurring_ical_events.of(_only(calendar, recurring), skip_bad_series=True)
    for lost in sorted(recurring - {str(s.uid) for s in query.series})[:MAX_WARNINGS]:
        result.warn(f"Skipped the event with UID {lost[:80]}: its times or repeat rule "
                    "could not be used.")
    people: AttendeeMemo = {}
    for series in query.series:
        room = limits.max_meetings - len(result.meetings)
        if room <= 0 or time.monotonic() > deadline:
            result.stop()
            return
        wanted = min(limits.max_occurrences_per_series, room)
        uid = str(series.uid)
        try:
            occurrences = list(itertools.islice(series.between(start, end), wanted + 1))
            result.meetings.extend(occurrence_meetings(
                occurrences[:wanted], uid in recurring, tz, people,
                overridden=len(series.components) > 1))
        except Exception as exc:  # one broken series must not cost the others
            result.warn(f"Skipped the event with UID {uid[:80]}: {_short(exc)}.")
            continue
        if len(occurrences) > wanted and wanted < limits.max_occurrences_per_series:
            result.stop()
            return
        if len(occurrences) > wanted:
            result.warn(f"The repeating event with UID {uid[:80]} has more than {wanted} "
                        "occurrences in the window; calsync kept the first ones.")


FULL = ("The calendar has more meetings than calsync reads from one calendar; "
        "it kept the first {}.")


def _only(calendar: icalendar.Calendar, uids: set[str]) -> icalendar.Calendar:
    """The calendar with its time zones and just the events of `uids`."""
    subset = icalendar.Calendar()
    for component in calendar.subcomponents:
        if component.name != "VEVENT" or str(component.get("UID")) in uids:
            subset.add_component(component)
    return subset


Single = icalendar.cal.Component | MeetingData  # read by icalendar, or read plainly


def _in_order(events: list[icalendar.cal.Component], plain: _Plain | None) -> list[Single]:
    """`events` with the `plain` meetings of their part, in the part's order of UIDs."""
    if plain is None or not plain.meetings:
        return list(events)
    by_uid: dict[str, list[Single]] = {}
    for event in events:
        by_uid.setdefault(str(event.get("UID")), []).append(event)
    ordered: list[Single] = []
    for uid in plain.order:
        ordered += [plain.meetings[uid]] if uid in plain.meetings else by_uid.pop(uid, [])
    return ordered + [event for left in by_uid.values() for event in left]


def _add_single_events(events: list[Single], start: datetime, end: datetime,
                       tz: tzinfo, limits: Limits, result: ParsedCalendar) -> None:
    for event in events:
        if isinstance(event, MeetingData):
            meeting = event
        else:
            try:
                meeting = to_meeting(event, False, tz)
            except Exception as exc:  # one broken event must not cost the others
                result.warn(f"Skipped the event with UID {str(event.get('UID'))[:80]}: "
                            f"{_short(exc)}.")
                continue
        if not (meeting.start < end and (meeting.end > start or meeting.start >= start)):
            continue  # outside the window
        if len(result.meetings) >= limits.max_meetings:
            result.stop()
            return
        result.meetings.append(meeting)


def _end_of(component: icalendar.cal.Component) -> date | datetime:
    """DTEND, else DTSTART + DURATION, else a day for a date and no time for a time."""
    if "DTEND" in component:
        return moment(component, "DTEND")
    begins = moment(component, "DTSTART")
    if "DURATION" in component:
        return begins + duration(component, "DURATION")
    return begins if isinstance(begins, datetime) else begins + timedelta(days=1)


def occurrence_meetings(occurrences: list[Occurrence], recurring: bool, tz: tzinfo,
                        people: AttendeeMemo | None = None, *,
                        overridden: bool = True) -> Iterator[MeetingData]:
    """The meetings of one series' occurrences, as `to_meeting` reads each one's component.

    In a series without overrides (`overridden` False) every occurrence is the rule's and
    differs from the first only in its times, so only the first is copied out as a
    component and read: copying the component for every occurrence cost more than the rest
    of reading a recurring calendar (bench/hostile.py). Overridden series are read one
    occurrence at a time, their overrides' own recurrence ids and shifts included.
    """
    first: MeetingData | None = None
    # The occurrences' texts are equal but copied out of each component: one copy each for
    # the series (a 50,000-event feed's overridden series held 20 MB of copies).
    texts: TextMemo = {}
    for occurrence in occurrences:
        if first is not None:
            yield replace(first, recurrence_id=_recurrence_id(occurrence.start, tz),
                          **_times(occurrence.start, occurrence.end, tz))
            continue
        component = occurrence.as_component(False)
        meeting = to_meeting(component, recurring, tz, people, texts)
        # With an explicit DTEND, `as_component` writes each occurrence's times verbatim.
        if recurring and not overridden and "DTEND" in component:
            first = meeting
        yield meeting


def _times(raw_start: date, raw_end: date, tz: tzinfo) -> dict[str, Any]:
    """A meeting's start, end and all-day fields from DTSTART and the end (DTEND, or
    DTSTART + DURATION)."""
    all_day = not isinstance(raw_start, datetime)
    if all_day and _as_date(raw_end, tz) <= raw_start:
        raw_end = raw_start + timedelta(days=1)  # an all-day event lasts at least its day
    start, end = _aware(raw_start, tz), _aware(raw_end, tz)
    if end < start:
        start, end = end, start
    return {"start": start, "end": end, "all_day": all_day,
            "start_date": raw_start if all_day else None,
            "end_date": _as_date(raw_end, tz) if all_day else None}


# Texts already held by meetings of one series, each by its value, so equal texts are one.
TextMemo = dict[str, str]


def to_meeting(component: icalendar.cal.Component, recurring: bool, tz: tzinfo,
               people: AttendeeMemo | None = None, texts: TextMemo | None = None
               ) -> MeetingData:
    """One event or expanded occurrence (`as_component` output) as MeetingData."""
    share = (lambda text: text) if texts is None else (lambda text: texts.setdefault(text, text))
    uid = share(_uid(str(component.get("UID", ""))))
    recurrence_id = ""
    if recurring:
        recurrence_id = _recurrence_id(original_start(component), tz)
    return _meeting(uid, recurrence_id, lambda name: share(_text(component.get(name))), _times(
        moment(component, "DTSTART"), _end_of(component), tz),
        _attendees(component.get("ATTENDEE"), people), component.get("ORGANIZER"),
        series_uid=uid if recurring else "")


def plain_meeting(event: PlainEvent, tz: tzinfo) -> MeetingData:
    """A plain event (`ics_plain`) as MeetingData: what `to_meeting` makes of it."""
    assert event.start is not None and event.end is not None  # `read_plain` sets both
    attendees = tuple(a for a in (_person(*found) for found in event.attendees) if a.email)
    return _meeting(_uid(event.uid), "", lambda name: _text(event.texts.get(name)),
                    _times(event.start, event.end, tz), attendees, event.organizer, series_uid="")


def _meeting(uid: str, recurrence_id: str, text: Callable[[str], str], times: dict[str, Any],
             attendees: tuple[Attendee, ...], organizer: Any, *, series_uid: str
             ) -> MeetingData:
    """The meeting of one event's values; `text(name)` reads a text property (stripped)."""
    return MeetingData(
        uid=uid,
        recurrence_id=recurrence_id,
        title=text("SUMMARY")[:1000],
        **times,
        status=(MeetingStatus.CANCELLED if text("STATUS").upper() == "CANCELLED"
                else MeetingStatus.CONFIRMED),
        attendees=attendees,
        organizer=sys.intern(_email(organizer)[:320]),
        location=text("LOCATION")[:1000],
        description=text("DESCRIPTION")[:MAX_DESCRIPTION],
        series_uid=series_uid,
    )


def _uid(uid: str) -> str:
    return uid if len(uid) <= 1000 else "sha256-" + hashlib.sha256(uid.encode()).hexdigest()


def _aware(value: date, tz: tzinfo) -> datetime:
    if not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day, tzinfo=tz)
    return value if value.tzinfo is not None else value.replace(tzinfo=tz)  # floating time


def _as_date(value: date, tz: tzinfo) -> date:
    return value.astimezone(tz).date() if isinstance(value, datetime) and value.tzinfo else (
        value.date() if isinstance(value, datetime) else value)


def _recurrence_id(original: date, tz: tzinfo) -> str:
    if not isinstance(original, datetime):
        return original.isoformat()
    return _aware(original, tz).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _text(value: Any) -> str:
    if isinstance(value, list):
        value = value[0] if value else ""
    return str(value or "").strip()


def _email(address: Any) -> str:
    text = _text(address)
    return (text[7:] if text.lower().startswith("mailto:") else text).strip().lower()


# Parsed attendees by the identity of the ATTENDEE value they came from, for one parse:
# occurrences of a series share that value, so they share one tuple (5,000 dates of a
# 1,000-person series would otherwise hold five million). The value is kept alongside,
# so its id can't be reused while the memo lives.
AttendeeMemo = dict[int, tuple[Any, tuple[Attendee, ...]]]


def _attendees(value: Any, memo: AttendeeMemo | None) -> tuple[Attendee, ...]:
    if memo is not None and id(value) in memo:
        return memo[id(value)][1]
    found = tuple(a for a in (_attendee(x) for x in as_list(value)) if a.email)
    if memo is not None and value is not None:
        memo[id(value)] = (value, found)
    return found


def _attendee(address: Any) -> Attendee:
    params = getattr(address, "params", {})
    return _person(address, params.get("CN", ""), params.get("PARTSTAT", ""))


def _person(address: Any, name: Any, response: Any) -> Attendee:
    # The same people and answers recur through a calendar: one string each, not one per
    # meeting (a 50,000-event calendar holds a few hundred thousand of them).
    return Attendee(email=sys.intern(_email(address)[:320]),
                    name=sys.intern(str(name).strip()),
                    response=sys.intern(str(response).strip().lower()))
