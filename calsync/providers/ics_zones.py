"""Parse iCalendar text with each calendar's TZIDs read from that calendar's own VTIMEZONEs.

icalendar keeps custom zones process-wide by name; this parser never uses that cache.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta, timezone, tzinfo
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

import icalendar
from icalendar.cal.component_factory import ComponentFactory
from icalendar.parser.content_line import Contentline, Contentlines
from icalendar.parser.ical.calendar import CalendarIcalParser
from icalendar.parser.parameter import Parameters
from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

from calsync.providers.ics_zone_rules import ZoneBeyondBounds, zone_from_component

# Outlook and Google define one zone per zone their events use; no real calendar needs
# more than a few dozen. Zones past this many are read by name or as a fixed offset.
MAX_ZONES = 100
_COMPONENTS = ComponentFactory()
Resolve = Callable[[str, int], tzinfo | None]


def read_calendars(text: str, deadline: float, warn: Callable[[str], None]
                   ) -> list[icalendar.cal.Component]:
    """`icalendar.Calendar.from_ical(text, multiple=True)`, with zones scoped to each calendar.

    A TZID zoneinfo knows is that zone; any other is the calendar's own definition of it,
    read within the bounds of `ics_zone_rules` and `deadline`, else the nearest sane
    reading (a Windows name's zone, or a fixed offset) with a warning through `warn`.
    """
    lines = Contentlines.from_ical(text)
    found = [[_parse_zone(block) for block in blocks] for blocks in _zone_blocks(lines)]
    zones = CalendarZones([_by_tzid(components) for components in found], deadline, warn)
    return _Parser(lines, zones.resolve, [c for components in found for c in components]
                   ).parse()


class _Parser(CalendarIcalParser):
    """icalendar's calendar parser, but a TZID names a zone of the calendar being parsed."""

    def __init__(self, lines: list[Contentline], resolve: Resolve,
                 zones: list[icalendar.cal.Component | None]) -> None:
        super().__init__(lines, _COMPONENTS, icalendar.Calendar.types_factory)
        self._resolve, self._zones = resolve, iter(zones)

    def handle_begin_component(self, vals: str) -> None:
        # Each VTIMEZONE was parsed before this parse began (for TZIDs used before their
        # zone); its lines are skipped here instead of being parsed a second time.
        if len(self._stack) != 1 or vals.strip().upper() != "VTIMEZONE":
            return super().handle_begin_component(vals)
        zone = next(self._zones, None)
        if zone is None:  # it did not parse on its own: parse it here, failing as icalendar does
            return super().handle_begin_component(vals)
        depth = 1
        for line in self._content_lines_iterator:
            depth += _nesting(line)
            if depth == 0:
                break
        self._stack[-1].add_component(zone)
        return None

    def handle_end_component(self, vals: str) -> None:
        # icalendar's own, minus caching each VTIMEZONE process-wide by TZID, where the
        # first definition of a name would win for every later calendar of every user.
        if not self._stack:
            raise ValueError("END encountered without an accompanying BEGIN!")
        component = self._stack.pop()
        if self._stack:
            self._stack[-1].add_component(component)
        else:
            self._components.append(component)

    def prepare_components(self) -> None:
        """Nothing to redo: icalendar parses twice for zones defined after their use, but
        here every zone is known before parsing starts."""

    def parse_and_add_property(self, name: str, params: Parameters, val: str,
                               tzid: str | None, line: Contentline) -> None:
        # A tzinfo in place of the name keeps icalendar's name lookup out: the value parsers
        # take either, though this method declares a name (hence the ignore below). Dates take
        # no zone (RFC 5545 3.2.19), and icalendar would look a tzinfo up as a name for them.
        timed = all("T" in value for value in val.upper().split(","))
        zone = self._resolve(tzid, len(self._components)) if tzid and timed else None
        super().parse_and_add_property(name, params, val, zone, line)  # type: ignore[arg-type]


def _nesting(line: Contentline) -> int:
    """+1 for a BEGIN line, -1 for an END line, as icalendar's parser counts them."""
    head = line[:6].upper()
    return 1 if head.startswith("BEGIN:") else -1 if head.startswith("END:") else 0


def _zone_blocks(lines: list[Contentline]) -> list[list[list[Contentline]]]:
    """Per top-level component, in order: the lines of each VTIMEZONE in it."""
    calendars: list[list[list[Contentline]]] = [[]]
    depth = 0
    block: list[Contentline] | None = None  # the lines of the VTIMEZONE being read
    for line in lines:
        step = _nesting(line)
        depth += step
        if step > 0 and depth == 2 and line[6:].strip().upper() == "VTIMEZONE":
            block = []
        if block is not None:
            block.append(line)
            if depth <= 1:
                calendars[-1].append(block)
                block = None
        if step < 0 and depth <= 0:  # the parser counts top-level components the same way
            depth = 0
            calendars.append([])
    return calendars


def _parse_zone(block: list[Contentline]) -> icalendar.cal.Component | None:
    try:
        parsed = _Parser(block, lambda _tzid, _calendar: None, []).parse()
    except Exception:  # icalendar raises many kinds: the main parse meets it again and says so
        return None
    return parsed[0] if len(parsed) == 1 and parsed[0].name == "VTIMEZONE" else None


def _by_tzid(components: list[icalendar.cal.Component | None]
             ) -> dict[str, icalendar.cal.Component]:
    zones: dict[str, icalendar.cal.Component] = {}
    for component in components:
        if component is not None:
            zones.setdefault(str(component.get("TZID", "")).strip(), component)  # first wins
    return zones


class CalendarZones:
    """The zones a text defines, read on first use, each within bounds or replaced (warned)."""

    def __init__(self, defined: list[dict[str, icalendar.cal.Component]], deadline: float,
                 warn: Callable[[str], None]) -> None:
        self._defined_in, self._deadline, self._warn = defined, deadline, warn
        self._read: dict[tuple[int, str], tzinfo | None] = {}
        self._defined = 0

    def resolve(self, tzid: str, calendar: int) -> tzinfo | None:
        """The zone `tzid` names in top-level component number `calendar`; None: floating."""
        key = (calendar, tzid)
        if key not in self._read:
            defined = self._defined_in[calendar] if calendar < len(self._defined_in) else {}
            self._read[key] = self._resolve(str(tzid).strip(), defined.get(str(tzid).strip()))
        return self._read[key]

    def _resolve(self, tzid: str, component: icalendar.cal.Component | None) -> tzinfo | None:
        if (known := iana_zone(tzid.strip("/"))) is not None:
            return known  # the calendar's copy of a tzdata zone is at best as good
        if component is None:
            if (named := named_zone(tzid)) is None:
                self._warn(f"Some times name the time zone “{_shown(tzid)}”, which the "
                           "calendar does not define; calsync read them in your time zone.")
            return named
        self._defined += 1
        if self._defined > MAX_ZONES:
            reason = (f"comes after the first {MAX_ZONES} zones the calendar defines "
                      "(so do any later ones)")
            return self._fallback(tzid, component, reason, loud=self._defined == MAX_ZONES + 1)
        try:
            return zone_from_component(component, self._deadline)
        except ZoneBeyondBounds as exc:
            return self._fallback(tzid, component, exc.reason)
        except Exception:  # odd values icalendar let through (a 25th hour...): not the user's bug
            return self._fallback(tzid, component, "could not be read")

    def _fallback(self, tzid: str, component: icalendar.cal.Component, reason: str,
                  loud: bool = True) -> tzinfo | None:
        """The zone's Windows or tzdata name, else its first offset, else floating."""
        zone = named_zone(tzid) or fixed_offset(component, tzid)
        if loud:
            reading = ("in your time zone" if zone is None else f"as {_described(zone)}")
            self._warn(f"The time zone “{_shown(tzid)}” in this calendar {reason}; calsync "
                       f"read its times {reading}.")
        return zone


@cache
def _tzdata_names() -> frozenset[str]:
    return frozenset(available_timezones())


def iana_zone(name: str) -> ZoneInfo | None:
    """The tzdata zone of that exact name, if there is one."""
    return ZoneInfo(name) if name in _tzdata_names() else None


def named_zone(tzid: str) -> ZoneInfo | None:
    """The tzdata zone a TZID means by name: itself, a Windows name, or a "globally unique"
    `/vendor/Region/City` (RFC 5545 3.2.19) whose tail is a tzdata name."""
    cleaned = tzid.strip().strip("/")
    candidates = [cleaned, WINDOWS_TO_OLSON.get(cleaned, "")]
    parts = cleaned.split("/")
    candidates += ["/".join(parts[n:]) for n in range(1, len(parts))] if tzid.startswith("/") \
        else []
    return next((zone for name in candidates if (zone := iana_zone(name))), None)


def fixed_offset(component: icalendar.cal.Component, tzid: str) -> timezone | None:
    """The zone's first standard offset (else its first daylight one) as a fixed offset."""
    for part in [*component.walk("STANDARD"), *component.walk("DAYLIGHT")]:
        offset = getattr(part.get("TZOFFSETTO"), "td", None)
        if isinstance(offset, timedelta) and abs(offset) < timedelta(hours=24):
            return timezone(offset, _shown(tzid))
    return None


def _described(zone: tzinfo) -> str:
    if isinstance(zone, ZoneInfo):
        return zone.key
    offset = zone.utcoffset(None) or timedelta(0)
    sign, size = ("-" if offset < timedelta(0) else "+"), abs(offset)
    hours, minutes = divmod(int(size.total_seconds()) // 60, 60)
    return f"a fixed UTC{sign}{hours:02}:{minutes:02}"


def _shown(tzid: str) -> str:
    return " ".join(tzid.split())[:60]
