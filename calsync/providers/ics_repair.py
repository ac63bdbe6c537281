"""Lenient reading of what real calendar producers write: repairs to the text before parsing,
and to each event before expansion, so a quirk no other parser chokes on costs no meetings.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, time, timedelta

import icalendar
from icalendar.error import BrokenCalendarProperty

from calsync.domain.text import calendar_text
from calsync.providers.ics_values import duration, moment

# Set on a RANGE=THISANDFUTURE override: how far it moved its occurrences, so that each later
# occurrence (a copy of the override) can be given back its own original date.
SHIFT = "X-CALSYNC-RANGE-SHIFT"

_NAME = r"[A-Za-z0-9-]+"
_PARAMS = r'(?:;(?:"[^"\r\n]*"|[^";:\r\n])*)*'
# Text repairs look at the few lines a cheap marker finds, not at every line (a regex
# anchored at each line start costs a large calendar tens of milliseconds per pass).
# A property with nothing after its colon.
_EMPTY_MARK = re.compile(r":[ \t]*\r?$", re.MULTILINE)
_EMPTY_VALUE = re.compile(rf"{_NAME}{_PARAMS}:[ \t]*\r?\n?")
# Rules and date lists, where spaces, empty items and trailing blanks break the value.
_LIST_MARK = re.compile(r"(?:RULE|DATE)[;:]")
_LIST_VALUE = re.compile(rf"(?P<head>(?:RRULE|EXRULE|RDATE|EXDATE){_PARAMS}:)(?P<value>[^\r\n]*)"
                         r"(?P<end>\r?\n?)", re.IGNORECASE)
_SEPARATOR = re.compile(r"\s*([;,=])\s*")
_EMPTY_ITEMS = re.compile(r"(?<=[=,]),+|,+(?=;|$)")
_LONE = re.compile(r"BEGIN:(VEVENT|VTIMEZONE|VTODO|VJOURNAL|VFREEBUSY)[ \t]*\r?$",
                   re.IGNORECASE | re.MULTILINE)
_BEGIN_END = re.compile(r"^(BEGIN|END):[ \t]*([A-Za-z0-9-]+)[ \t]*\r?$",
                        re.IGNORECASE | re.MULTILINE)
_CLOSED = re.compile(r"^END:[ \t]*VCALENDAR", re.IGNORECASE | re.MULTILINE)
_WRAPPER = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//calsync//lenient reading//EN\r\n"


def repair_text(text: str) -> tuple[str, list[str]]:
    """`text` with the producers' quirks undone, and warnings for what the user should know."""
    if text.lstrip()[:6].upper() == "BEGIN:":  # else it is refused, naming what it starts with
        # RFC 5545 allows no control character but TAB; icalendar drops a property holding
        # one, and PostgreSQL refuses to store NUL.
        text = calendar_text(text)
    text = _edit_lines(text, _EMPTY_MARK, _drop_empty)
    text = _edit_lines(text, _LIST_MARK, _tidy_list)
    text, lone = _open_lone_components(text)
    text, closed = _close_calendar(text)
    return text, [UNCLOSED] if closed and not lone else []


UNCLOSED = ("The calendar has no END:VCALENDAR line at its end; calsync read the complete "
            "events before it.")


def _edit_lines(text: str, mark: re.Pattern[str], edit: Callable[[str, str], str]) -> str:
    """`text` with `edit(line, next character)` applied to every line `mark` finds."""
    parts: list[str] = []
    done = 0
    for found in mark.finditer(text):
        start = text.rfind("\n", 0, found.start()) + 1
        if start < done:
            continue  # a line already edited
        end = text.find("\n", found.end())
        end = len(text) if end == -1 else end + 1
        parts += [text[done:start], edit(text[start:end], text[end:end + 1])]
        done = end
    return "".join([*parts, text[done:]]) if parts else text


def _drop_empty(line: str, following: str) -> str:
    """An empty `RRULE:` means no rule, `DTEND:` no end: the line goes, unless the value
    goes on in a folded next line."""
    return "" if following not in " \t" and _EMPTY_VALUE.fullmatch(line) else line


def _tidy_list(line: str, _following: str) -> str:
    """`BYDAY=MO, TU`, `EXDATE:a, b`, `BYDAY=MO,`: what the producer meant."""
    match = _LIST_VALUE.fullmatch(line)
    if match is None:
        return line
    value = _SEPARATOR.sub(r"\1", match["value"]).strip().rstrip(";")
    return match["head"] + _EMPTY_ITEMS.sub("", value) + match["end"]


def _open_lone_components(text: str) -> tuple[str, bool]:
    """A VEVENT saved on its own (Outlook's and Apple's "save event") is put in a VCALENDAR.

    Only the opening is added: `_close_calendar` closes it when the event is complete.
    """
    body = text.lstrip()
    if not _LONE.match(body):
        return text, False
    return _WRAPPER + body, True


def _close_calendar(text: str) -> tuple[str, bool]:
    """Add a forgotten last END:VCALENDAR when every other component is closed.

    A body that stops inside a component was cut off and stays refused. One that stops right
    after a complete component is read whole: producers that leave the line out do so on
    every export, and reading such a file as incomplete would never let its deleted meetings go.
    """
    # The line is nearly always near the end: look there first.
    if _CLOSED.search(text, max(len(text) - 4096, 0)) or _CLOSED.search(text):
        return text, False
    lines = _BEGIN_END.findall(text)
    if not lines or lines[0][1].upper() != "VCALENDAR":
        return text, False
    depth = 0
    for kind, _name in lines:
        depth += 1 if kind.upper() == "BEGIN" else -1
        if depth <= 0:
            return text, False  # broken in a way the parser reports
    last_line = text.rstrip().rsplit("\n", 1)[-1]
    if depth != 1 or not _BEGIN_END.fullmatch(last_line) or not last_line.upper().startswith("END"):
        return text, False  # it stops inside a component, or after a property: cut off
    return text.rstrip() + "\r\nEND:VCALENDAR\r\n", True


def top_level_calendars(components: list[icalendar.cal.Component]) -> list[icalendar.Calendar]:
    """The parsed top-level components as calendars: a component left outside any VCALENDAR
    (after a stray END line closed it early) is read as part of a calendar, not as one."""
    calendars: list[icalendar.Calendar] = []
    loose: icalendar.Calendar | None = None
    for component in components:
        if isinstance(component, icalendar.Calendar):  # the parser's class for VCALENDAR
            calendars.append(component)
            loose = None
            continue
        if loose is None:
            loose = icalendar.Calendar()
            calendars.append(loose)
        loose.add_component(component)
    return calendars


def drop_nested_events(calendar: icalendar.Calendar) -> list[str]:
    """Remove VEVENTs inside other components (a VTIMEZONE, another VEVENT), where RFC 5545
    has none and no calendar app shows them; a warning when there were any."""
    dropped = sum(_drop_events_below(component) for component in calendar.subcomponents)
    return [f"Skipped {dropped} event(s) placed inside another part of the calendar, where "
            "calendar apps don't show them."] if dropped else []


def _drop_events_below(component: icalendar.cal.Component) -> int:
    kept = [inner for inner in component.subcomponents if inner.name != "VEVENT"]
    dropped = len(component.subcomponents) - len(kept)
    component.subcomponents = kept
    return dropped + sum(_drop_events_below(inner) for inner in kept)


def repair_event(event: icalendar.cal.Component) -> list[str]:
    """Undo quirks of one VEVENT in place, before it is checked; what the user should know,
    as sentence ends. Values that can't be read are left for the check to refuse."""
    notes: list[str] = []
    event.pop(SHIFT, None)  # only calsync sets it
    _keep_first_of_single_properties(event)
    _drop_empty_rules(event)
    start = _when(event, "DTSTART")
    if start is None:
        return notes
    length = _value(event, "DURATION")
    if isinstance(length, timedelta) and length < timedelta():
        notes.append(_negative_note(length, start))
        del event["DURATION"]  # read like an event without an end (RFC 5545 3.6.1)
    elif isinstance(length, timedelta) and not isinstance(start, datetime) and (
            length < timedelta(days=1)):
        del event["DURATION"]  # hours on a date start: the all-day event lasts its day
    _match_end_to_start(event, start)
    _mark_range_shift(event, start)
    return notes


# Properties RFC 5545 allows once per event; a producer that repeats one meant the first.
_SINGLE = ("DTSTART", "DTEND", "DURATION", "RECURRENCE-ID", "UID", "SUMMARY", "DESCRIPTION",
           "LOCATION", "STATUS", "ORGANIZER", "SEQUENCE", "DTSTAMP", "CLASS", "TRANSP", "URL")


def _keep_first_of_single_properties(event: icalendar.cal.Component) -> None:
    for name in _SINGLE:
        value = event.get(name)
        if isinstance(value, list):
            event[name] = value[0]


def _value(event: icalendar.cal.Component, name: str) -> object:
    """The parsed value of `name`, or None when missing or unreadable (the check after the
    repairs refuses what can't be read)."""
    try:
        return getattr(event.get(name), "dt", None)
    except BrokenCalendarProperty:
        return None


def _when(event: icalendar.cal.Component, name: str) -> date | None:
    value = _value(event, name)
    return value if isinstance(value, date) else None


def _drop_empty_rules(event: icalendar.cal.Component) -> None:
    rules = event.get("RRULE")
    kept = [rule for rule in (rules if isinstance(rules, list) else [rules]) if rule]
    if not kept:
        event.pop("RRULE", None)
    elif isinstance(rules, list) and len(kept) < len(rules):
        event["RRULE"] = kept


def _negative_note(length: timedelta, start: date) -> str:
    shown = icalendar.vDDDTypes(length).to_ical().decode()
    lasting = "as ending when it starts" if isinstance(start, datetime) else "as lasting one day"
    return f"has a negative duration ({shown}); calsync read it {lasting}."


def _match_end_to_start(event: icalendar.cal.Component, start: date) -> None:
    """Give DTEND the kind of value DTSTART has, as RFC 5545 requires and producers meant."""
    end = _when(event, "DTEND")
    if end is None:
        return
    if not isinstance(start, datetime):
        if isinstance(end, datetime):
            # A date start makes an all-day event; the end time says which day it ends on.
            # It ends after that day unless it ends at midnight (the start of that day).
            end = end.date() + (timedelta(days=1) if end.time() != time() else timedelta())
        # An end not after the start: the one day RFC 5545 gives a date without an end.
        event["DTEND"] = icalendar.vDDDTypes(max(end, start + timedelta(days=1)))
    elif not isinstance(end, datetime):
        # A date end for a timed start: midnight of that day, in the start's zone.
        midnight = datetime.combine(end, time(), tzinfo=start.tzinfo)
        if midnight > start:
            event["DTEND"] = icalendar.vDDDTypes(midnight)
        else:
            del event["DTEND"]


def _mark_range_shift(event: icalendar.cal.Component, start: date) -> None:
    original, moved = event.get("RECURRENCE-ID"), _when(event, "RECURRENCE-ID")
    if moved is None or str(original.params.get("RANGE", "")).upper() != "THISANDFUTURE":
        return
    if _kind(start) != _kind(moved):
        return
    event[SHIFT] = icalendar.vDDDTypes(start - moved)


def _kind(value: date) -> str:
    """RFC 5545's three kinds of time: a date, a floating time, a time fixed to a zone."""
    if not isinstance(value, datetime):
        return "date"
    return "floating" if value.tzinfo is None else "fixed"


def original_start(component: icalendar.cal.Component) -> date:
    """The date an occurrence (recurring_ical_events' `as_component` output) had in its series.

    recurring_ical_events applies a RANGE=THISANDFUTURE override to every later occurrence
    (RFC 5545 3.8.4.4) but leaves the override's RECURRENCE-ID on each copy; each gets back
    its own, so that every occurrence keeps a key of its own.
    """
    if SHIFT in component:
        return moment(component, "DTSTART") - duration(component, SHIFT)
    return moment(component, "RECURRENCE-ID" if "RECURRENCE-ID" in component else "DTSTART")
