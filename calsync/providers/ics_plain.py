"""Plain events read straight from their lines: a VEVENT with nothing to repair, repeat or
resolve by the calendar's own zones, read without icalendar (whose parse cost most of an import).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from icalendar.parser.content_line import NEWLINE, UFOLD
from icalendar.parser.property import unescape_backslash
from icalendar.prop import vDDDTypes

from calsync.domain.text import calendar_text
from calsync.providers.ics_repair import SHIFT
from calsync.providers.ics_zones import iana_zone

# Ours rather than icalendar's because it measured better: icalendar's content-line and
# component parse was ~70% of reading a 10,000-event feed; reading its plain events here
# took a full import from 1.33x to 0.66x of the bare icalendar parse (bench/import_cost.py).
# Anything outside the plain subset gives None and is read with icalendar as before, so the
# meetings and warnings are the same either way (tests/providers/test_ics_plain_differential.py).

# A parameter as icalendar reads it unchanged: no backslash, RFC 6868 caret or percent (its
# parameter parse rewrites those), no blank around an unquoted value (it strips those), no
# carriage return (it refuses the line), and one value (a comma would make a list).
_NAME = r"[A-Za-z0-9-]+"
_PARAM = rf';({_NAME})=(?:"([^"\\^%\r]*)"|([^";:,\\^%\s](?:[^";:,\\^%\t\r]*[^";:,\\^%\s])?))'
_PARAMS = re.compile(_PARAM)
_LINE = re.compile(rf"(?P<name>{_NAME})(?P<params>(?:{_PARAM})*):(?P<value>.*)")
# icalendar's unfolding (`UFOLD`) also drops blank lines before a fold, at five times the
# cost; without a blank line the two are the same.
_FOLD = re.compile(r"\r?\n[ \t]")
# A line with nothing after its colon: the text repairs drop it before icalendar reads it.
_EMPTY = re.compile(r":[ \t]*\r?$", re.MULTILINE)
_DATE_TIME_NAMES = frozenset({"DTSTART", "DTEND"})
_TEXT_NAMES = frozenset({"UID", "SUMMARY", "STATUS", "LOCATION", "DESCRIPTION"})
_ADDRESS_NAMES = frozenset({"ATTENDEE", "ORGANIZER"})
_READ = _DATE_TIME_NAMES | _TEXT_NAMES | _ADDRESS_NAMES | {"DURATION"}
# A series, an override, or calsync's own mark: the series machinery reads those.
_REPEATING = frozenset({"RRULE", "RDATE", "EXDATE", "EXRULE", "RECURRENCE-ID", SHIFT})
# An alarm's properties icalendar reads without failing (its alarms, unlike its events, fail
# the whole calendar on a broken value): text, and TRIGGER when it parses.
_ALARM_NAMES = frozenset({"ACTION", "DESCRIPTION", "SUMMARY", "UID", "TRIGGER"})


@dataclass
class PlainEvent:
    """What `to_meeting` reads of one event, as icalendar would have given it: values
    unescaped, times parsed, the end as `ics_parse` works it out."""

    uid: str = ""
    start: date | None = None
    end: date | None = None
    texts: dict[str, str] = field(default_factory=dict)  # SUMMARY, STATUS, LOCATION...
    organizer: str = ""
    attendees: list[tuple[str, str, str]] = field(default_factory=list)  # address, CN, PARTSTAT


class _NotPlain(Exception):
    """The block needs icalendar: the caller reads it the usual way."""


def read_plain(block: str, uid: str) -> PlainEvent | None:
    """The event in `block` (one top-level VEVENT, decoded) with UID `uid`, or None when it
    is not plain: anything to repair, repeat, or read by a zone the calendar defines."""
    if calendar_text(block) != block or _EMPTY.search(block):
        return None  # the text repairs would change it
    try:
        unfold = UFOLD if "\n\n" in block or "\n\r\n" in block else _FOLD
        return _read(NEWLINE.split(unfold.sub("", block)), uid)
    except (_NotPlain, ArithmeticError, ValueError, TypeError):  # icalendar's reading says why
        return None


def _read(lines: list[str], uid: str) -> PlainEvent:
    lines = [line for line in lines if line]
    if len(lines) < 2 or lines[0].upper() != "BEGIN:VEVENT" or lines[-1].upper() != "END:VEVENT":
        raise _NotPlain
    event = PlainEvent()
    values: dict[str, tuple[dict[str, str], str]] = {}
    alarm = False
    for line in lines[1:-1]:
        name, params, value = _parts(line)
        if name in ("BEGIN", "END"):
            alarm = _nest(name, value, alarm)
        elif alarm:
            _check_alarm_property(name, params, value)
        elif name in _REPEATING:
            raise _NotPlain
        elif name == "ATTENDEE":
            event.attendees.append(_address(params, value))
        elif name in _READ:
            if name in values:
                raise _NotPlain  # the repairs keep the first of a repeated property
            values[name] = (params, value)
    if alarm:
        raise _NotPlain
    return _fill(event, values, uid)


def _parts(line: str) -> tuple[str, dict[str, str], str]:
    """Name (upper case), parameters and unescaped value, as icalendar's parse gives them."""
    match = _LINE.fullmatch(line)
    if match is None:
        raise _NotPlain
    params: dict[str, str] = {}
    for found in _PARAMS.finditer(match["params"]):
        key = found[1].upper()
        if key in params:
            raise _NotPlain
        params[key] = found[2] if found[2] is not None else found[3]
    value = match["value"]
    # Most values have no escape: the same string without a pass over it.
    return match["name"].upper(), params, unescape_backslash(value) if "\\" in value else value


def _nest(name: str, value: str, alarm: bool) -> bool:
    """Whether the lines after this BEGIN or END belong to an alarm; other components,
    and an alarm in an alarm, are not plain."""
    if value.upper() != "VALARM" or alarm == (name == "BEGIN"):
        raise _NotPlain
    return name == "BEGIN"


def _check_alarm_property(name: str, params: dict[str, str], value: str) -> None:
    if name.startswith("X-"):
        return  # icalendar never fails on an X- property
    if name not in _ALARM_NAMES or (name != "TRIGGER" and "VALUE" in params):
        raise _NotPlain
    if name == "TRIGGER":
        if set(params) - {"RELATED", "VALUE"} or params.get("VALUE", "DURATION") not in (
                "DURATION", "DATE-TIME"):
            raise _NotPlain
        vDDDTypes.from_ical(value)  # ValueError as icalendar's alarm would fail


def _address(params: dict[str, str], value: str) -> tuple[str, str, str]:
    if "VALUE" in params or "\r" in value or "\n" in value:
        raise _NotPlain  # another kind of value, or one icalendar's address refuses
    return value, params.get("CN", ""), params.get("PARTSTAT", "")


def _fill(event: PlainEvent, values: dict[str, tuple[dict[str, str], str]], uid: str
          ) -> PlainEvent:
    for name in _TEXT_NAMES:
        if name in values:
            params, value = values[name]
            if "VALUE" in params:
                raise _NotPlain
            event.texts[name] = value
    if event.texts.get("UID") != uid:
        raise _NotPlain  # the split read the UID otherwise: let icalendar decide
    event.uid = uid
    if "ORGANIZER" in values:
        event.organizer = _address(*values["ORGANIZER"])[0]
    if "DTSTART" not in values:
        raise _NotPlain
    start = event.start = _moment(*values["DTSTART"])
    length = _length(values["DURATION"]) if "DURATION" in values else None
    if length is not None and not isinstance(start, datetime):
        raise _NotPlain  # the repairs may drop it (less than a day on a date)
    if "DTEND" in values:
        event.end = _end(start, _moment(*values["DTEND"]))
    elif length is not None:
        event.end = start + length
    else:
        event.end = start if isinstance(start, datetime) else start + timedelta(days=1)
    return event


def _moment(params: dict[str, str], value: str) -> date:
    """DTSTART or DTEND: a TZID must be a tzdata zone (a calendar's own zone is read by
    `ics_zones`, with its warnings); a date takes no zone, as `ics_zones` reads it."""
    if set(params) - {"TZID", "VALUE"} or params.get("VALUE", "DATE") not in ("DATE",
                                                                             "DATE-TIME"):
        raise _NotPlain
    zone = None
    if "TZID" in params and all("T" in part for part in value.upper().split(",")):
        zone = iana_zone(params["TZID"].strip().strip("/"))
        if zone is None or value.upper().endswith("Z"):
            raise _NotPlain
    found = vDDDTypes.from_ical(value, zone) if zone else vDDDTypes.from_ical(value)
    if not isinstance(found, date):
        raise _NotPlain
    return found


def _length(property_: tuple[dict[str, str], str]) -> timedelta:
    """DURATION, when the repairs would keep it as it is (not negative)."""
    params, value = property_
    if params:
        raise _NotPlain
    found = vDDDTypes.from_ical(value)
    if not isinstance(found, timedelta) or found < timedelta():
        raise _NotPlain
    return found


def _end(start: date, end: date) -> date:
    """DTEND as the repairs leave it: of the start's kind, and after a date start."""
    if isinstance(start, datetime) != isinstance(end, datetime):
        raise _NotPlain
    if not isinstance(start, datetime) and end <= start:
        raise _NotPlain
    return end
