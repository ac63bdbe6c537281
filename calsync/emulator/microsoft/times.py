"""Graph's times: `dateTimeTimeZone` values in Windows or IANA zones, the `Prefer:
outlook.timezone` header, timestamps with seven decimals, and recurrence patterns as RRULEs.

Graph answers in UTC unless `Prefer: outlook.timezone="<zone>"` asks for another zone (a
Windows name such as "W. Europe Standard Time", or an IANA name); it writes local times
without an offset and names the zone beside them.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

from calsync.emulator import recurrence
from calsync.emulator.microsoft import errors

_PREFER_ZONE = re.compile(r'outlook\.timezone\s*=\s*"?([^";,]+)"?', re.IGNORECASE)
_PAGE_SIZE = re.compile(r"odata\.maxpagesize\s*=\s*(\d+)", re.IGNORECASE)
_DAYS = {"sunday": "SU", "monday": "MO", "tuesday": "TU", "wednesday": "WE", "thursday": "TH",
         "friday": "FR", "saturday": "SA"}
_INDEX = {"first": 1, "second": 2, "third": 3, "fourth": 4, "last": -1}


def zone(name: str | None) -> ZoneInfo | None:
    """The zone a Windows or IANA name stands for, or None for a name Graph would refuse."""
    if not name:
        return None
    if name in WINDOWS_TO_OLSON:
        return ZoneInfo(WINDOWS_TO_OLSON[name])
    return recurrence.zone(name)


def preferred_zone(prefer_headers: list[str]) -> tuple[str, ZoneInfo]:
    """The zone `Prefer: outlook.timezone` asks for (its name as asked), UTC by default."""
    for header in prefer_headers:
        found = _PREFER_ZONE.search(header)
        if found:
            name = found.group(1).strip()
            tz = zone(name)
            if tz is None:
                raise errors.time_zone_not_supported(name)
            return name, tz
    return "UTC", ZoneInfo("UTC")


def preferred_page_size(prefer_headers: list[str]) -> int | None:
    for header in prefer_headers:
        found = _PAGE_SIZE.search(header)
        if found:
            return max(1, int(found.group(1)))
    return None


def timestamp(moment: datetime) -> str:
    """A UTC instant as Graph writes `createdDateTime`: seven decimals and a Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


def offset_timestamp(moment: datetime) -> str:
    """A UTC instant as Graph writes a DateTimeOffset such as `originalStart`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def local(moment: datetime, name: str, tz: ZoneInfo) -> dict[str, str]:
    """A `dateTimeTimeZone` for `moment` in `tz`, which the caller calls `name`."""
    return {"dateTime": moment.astimezone(tz).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0",
            "timeZone": name}


def parse_local(value: Any, which: str) -> tuple[datetime, str]:
    """The instant a request's `dateTimeTimeZone` names, and the zone name it gave."""
    if not isinstance(value, dict) or not isinstance(value.get("dateTime"), str):
        raise errors.invalid_request(f"The {which} time is missing or malformed.")
    name = value.get("timeZone") or "UTC"
    tz = zone(name)
    if tz is None:
        raise errors.time_zone_not_supported(name)
    try:
        parsed = datetime.fromisoformat(value["dateTime"].replace("Z", "+00:00"))
    except ValueError:
        raise errors.invalid_request(
            f"Cannot convert the literal '{value['dateTime']}' to the expected type "
            "'Edm.DateTimeOffset'.") from None
    if parsed.tzinfo is not None:
        return parsed, name
    return parsed.replace(tzinfo=tz), name


def parse_query_time(raw: str | None, name: str) -> datetime:
    """A `startDateTime` / `endDateTime` query value (an offset or Z, else UTC)."""
    if not raw:
        raise errors.missing_parameter(name)
    try:
        parsed = datetime.fromisoformat(raw.strip().replace(" ", "+").replace("Z", "+00:00"))
    except ValueError:
        raise errors.invalid_request(f"The parameter '{name}' is not a valid date.") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def rrule(pattern: dict[str, Any], range_: dict[str, Any]) -> str:
    """The RRULE a Graph `patternedRecurrence` stands for."""
    kind = pattern.get("type")
    parts = [f"INTERVAL={int(pattern.get('interval') or 1)}"]
    days = ",".join(_DAYS[d.lower()] for d in pattern.get("daysOfWeek") or [])
    position = _INDEX.get(str(pattern.get("index") or "first").lower(), 1)
    if kind == "daily":
        parts.insert(0, "FREQ=DAILY")
    elif kind == "weekly":
        first = _DAYS.get(str(pattern.get("firstDayOfWeek") or "sunday").lower(), "SU")
        parts[:0] = ["FREQ=WEEKLY"]
        parts += [f"BYDAY={days}", f"WKST={first}"] if days else [f"WKST={first}"]
    elif kind == "absoluteMonthly":
        parts[:0] = ["FREQ=MONTHLY"]
        parts.append(f"BYMONTHDAY={int(pattern['dayOfMonth'])}")
    elif kind == "relativeMonthly":
        parts[:0] = ["FREQ=MONTHLY"]
        parts += [f"BYDAY={days}", f"BYSETPOS={position}"]
    elif kind == "absoluteYearly":
        parts[:0] = ["FREQ=YEARLY"]
        parts += [f"BYMONTH={int(pattern['month'])}", f"BYMONTHDAY={int(pattern['dayOfMonth'])}"]
    elif kind == "relativeYearly":
        parts[:0] = ["FREQ=YEARLY"]
        parts += [f"BYMONTH={int(pattern['month'])}", f"BYDAY={days}", f"BYSETPOS={position}"]
    else:
        raise errors.invalid_request(f"Invalid recurrence pattern type: {kind}")
    if range_.get("type") == "endDate":
        parts.append("UNTIL=" + date.fromisoformat(range_["endDate"]).strftime("%Y%m%d"))
    elif range_.get("type") == "numbered":
        parts.append(f"COUNT={int(range_['numberOfOccurrences'])}")
    return "RRULE:" + ";".join(parts)


def original_starts(start: datetime, tz: ZoneInfo, rule: str,
                    until: datetime) -> list[datetime]:
    """The original start of every occurrence of a series up to `until`, expanded in the
    series' own zone (so a weekly 10:00 stays at 10:00 across a DST change)."""
    local_start = start.astimezone(tz).replace(tzinfo=None).isoformat()
    shim = {"start": {"dateTime": local_start, "timeZone": tz.key}, "recurrence": [rule]}
    found = recurrence.original_starts(shim, tz.key, until=until + timedelta(seconds=1))
    return [value for value in found if isinstance(value, datetime)]
