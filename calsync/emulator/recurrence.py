"""Event times and recurring-event expansion, the way Calendar v3 presents instances.

An instance of a recurring event gets the id `<baseId>_<YYYYMMDDTHHMMSSZ>` (the original
start in UTC) or `<baseId>_<YYYYMMDD>` for an all-day series, plus `recurringEventId` and
`originalStartTime`. Rules are expanded in the event's own time zone, so a weekly 10:00
meeting stays at 10:00 across a DST change.
"""

from __future__ import annotations

import copy
import re
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import rruleset, rrulestr

# An open-ended series is expanded this far past now, and never beyond this many instances.
HORIZON = timedelta(days=2 * 366)
MAX_INSTANCES = 1000
_UNTIL = re.compile(r"UNTIL=([0-9T]+Z?)", re.IGNORECASE)


def zone(name: str | None) -> ZoneInfo | None:
    if not name or name.startswith(("/", ".")):
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def parse_rfc3339(value: str) -> datetime | None:
    """An RFC 3339 timestamp that carries an offset, or None."""
    try:
        parsed = datetime.fromisoformat(value.strip().upper().replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return None
    return parsed if parsed.tzinfo is not None else None


def is_all_day(event: dict[str, Any]) -> bool:
    return "date" in (event.get("start") or {})


def event_zone(event: dict[str, Any], calendar_tz: str) -> ZoneInfo:
    return zone((event.get("start") or {}).get("timeZone")) or zone(calendar_tz) or ZoneInfo("UTC")


def moment(when: dict[str, Any], calendar_tz: str) -> datetime:
    """The instant a validated `start`/`end` object stands for (all-day: local midnight)."""
    if "date" in when:
        return datetime.combine(date.fromisoformat(when["date"]), dtime(),
                                zone(calendar_tz) or UTC)
    value = datetime.fromisoformat(when["dateTime"].upper().replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone(when.get("timeZone")) or zone(calendar_tz) or UTC)
    return value


def span(event: dict[str, Any], calendar_tz: str) -> tuple[datetime, datetime]:
    return moment(event["start"], calendar_tz), moment(event["end"], calendar_tz)


def instance_suffix(original: datetime | date) -> str:
    if isinstance(original, datetime):
        return original.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return original.strftime("%Y%m%d")


def _when(value: datetime | date, tz_name: str | None) -> dict[str, str]:
    if not isinstance(value, datetime):
        return {"date": value.isoformat()}
    out = {"dateTime": value.isoformat()}
    if tz_name:
        out["timeZone"] = tz_name
    return out


def _date_values(line: str, tz: ZoneInfo, all_day: bool) -> list[datetime | date]:
    """The dates of an EXDATE or RDATE line (`;TZID=`, `;VALUE=DATE`, or UTC with `Z`)."""
    head, _, values = line.partition(":")
    params = dict(p.split("=", 1) for p in head.split(";")[1:] if "=" in p)
    local = zone(params.get("TZID")) or tz
    out: list[datetime | date] = []
    for raw in filter(None, values.split(",")):
        raw = raw.strip()
        if len(raw) == 8:
            day = datetime.strptime(raw, "%Y%m%d").date()
            out.append(day if all_day else datetime.combine(day, dtime(), local))
            continue
        parsed = datetime.strptime(raw.rstrip("Zz"), "%Y%m%dT%H%M%S")
        parsed = parsed.replace(tzinfo=UTC if raw[-1] in "Zz" else local)
        out.append(parsed.date() if all_day else parsed)
    return out


def _rule(line: str, start: datetime, tz: ZoneInfo, all_day: bool) -> Any:
    """dateutil's rule for an RRULE line, with UNTIL made to agree with DTSTART."""
    body = line.split(":", 1)[1]

    def fix(match: re.Match[str]) -> str:
        raw = match.group(1).upper()
        if all_day:
            return f"UNTIL={raw[:8]}T235959"
        if raw.endswith("Z"):
            return f"UNTIL={raw}"
        parsed = (datetime.strptime(raw, "%Y%m%d").replace(hour=23, minute=59, second=59)
                  if len(raw) == 8 else datetime.strptime(raw, "%Y%m%dT%H%M%S"))
        return "UNTIL=" + parsed.replace(tzinfo=tz).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")

    return rrulestr(_UNTIL.sub(fix, body), dtstart=start)


def valid_recurrence(lines: list[Any]) -> bool:
    try:
        probe = datetime(2024, 1, 1, tzinfo=UTC)
        for line in lines:
            kind = str(line).split(":", 1)[0].split(";", 1)[0].upper()
            if kind == "RRULE":
                _rule(str(line), probe, ZoneInfo("UTC"), all_day=False)
            elif kind in ("EXDATE", "RDATE"):
                _date_values(str(line), ZoneInfo("UTC"), all_day=False)
            else:
                return False
    except (ValueError, TypeError, IndexError):
        return False
    return True


def original_starts(master: dict[str, Any], calendar_tz: str,
                    until: datetime | None = None) -> list[datetime | date]:
    """The original start of every instance of `master`, in order, EXDATEs removed."""
    tz = event_zone(master, calendar_tz)
    all_day = is_all_day(master)
    first = (datetime.fromisoformat(master["start"]["date"]) if all_day
             else moment(master["start"], calendar_tz).astimezone(tz))
    limit = datetime.now(UTC) + HORIZON
    if until is not None:
        limit = min(limit, until)
    rules = rruleset()
    rules.rdate(first)
    for line in master.get("recurrence") or []:
        kind = line.split(":", 1)[0].split(";", 1)[0].upper()
        if kind == "RRULE":
            rules.rrule(_rule(line, first, tz, all_day))
        elif kind in ("EXDATE", "RDATE"):
            for value in _date_values(line, tz, all_day):
                # An all-day event's dates are midnights to dateutil, like its first one.
                when = value if isinstance(value, datetime) else datetime.combine(value, dtime())
                (rules.exdate if kind == "EXDATE" else rules.rdate)(when)
    out: list[datetime | date] = []
    bound = limit.replace(tzinfo=None) if all_day else limit
    for value in rules:
        if value > bound or len(out) >= MAX_INSTANCES:
            break
        out.append(value.date() if all_day else value)
    return out


def instance(master: dict[str, Any], original: datetime | date, calendar_tz: str) -> dict[str, Any]:
    """The generated instance of `master` that starts at `original`."""
    tz_name = master["start"].get("timeZone")
    out = copy.deepcopy(master)
    out.pop("recurrence", None)
    out["id"] = f"{master['id']}_{instance_suffix(original)}"
    out["recurringEventId"] = master["id"]
    out["originalStartTime"] = _when(original, tz_name)
    if isinstance(original, datetime):
        start, end = span(master, calendar_tz)
        out["start"] = _when(original, tz_name)
        end_at = (original.astimezone(UTC) + (end - start)).astimezone(original.tzinfo)
        out["end"] = _when(end_at, master["end"].get("timeZone"))
    else:
        days = (date.fromisoformat(master["end"]["date"])
                - date.fromisoformat(master["start"]["date"]))
        out["start"] = {"date": original.isoformat()}
        out["end"] = {"date": (original + days).isoformat()}
    return out


def original_of(instance_id: str, master: dict[str, Any],
                calendar_tz: str) -> datetime | date | None:
    """The original start an instance id names, if `master` really has that instance."""
    suffix = instance_id[len(master["id"]) + 1:]
    for original in original_starts(master, calendar_tz):
        if instance_suffix(original) == suffix:
            return original
    return None
