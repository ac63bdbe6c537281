"""Time zones in ICS calendars: each calendar's own VTIMEZONEs, never another user's, and
hostile zones bounded in time and memory (issue 7)."""

from __future__ import annotations

import copy
import json
import pickle
import sys
import tempfile
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest
from sqlalchemy import select

from calsync.config import Settings
from calsync.db import get_db
from calsync.feed.vtimezone import vtimezone_for
from calsync.jobs import sync
from calsync.models import Meeting, User
from calsync.providers.base import ReadContext, SourceRef
from calsync.providers.ics import IcsProvider
from calsync.providers.ics_parse import Limits, parse_ics
from calsync.providers.ics_zone_rules import zone_from_component
from calsync.providers.ics_zones import MAX_ZONES, read_calendars
from calsync.services import sources
from tests.bounded import run_bounded

DATA = Path(__file__).resolve().parent.parent / "data"
CUSTOM = "Customized Time Zone"
FIXTURE_DAY = "20250310"  # the day of the fixtures' meetings, at 10:00 in their zone


def utc_starts(data: bytes, context: ReadContext, limits: Limits | None = None
               ) -> tuple[dict[str, datetime], list[str]]:
    parsed = parse_ics(data, context, limits)
    return {m.uid: m.start.astimezone(UTC) for m in parsed.meetings}, parsed.warnings


def at(day: int, hour: int) -> datetime:
    return datetime(2025, 3, day, hour, tzinfo=UTC)


# ---- one user's zone never changes another user's meetings ---------------------------------

@pytest.mark.parametrize("order", [("minus11", "plus2"), ("plus2", "minus11")])
def test_the_same_custom_tzid_in_two_calendars_reads_each_ones_own(ics, context, order):
    wanted = {"minus11": ("west@zones.example", at(10, 21)),
              "plus2": ("east@zones.example", at(10, 8))}
    for name in (*order, *order):  # and again, after both were read once
        uid, start = wanted[name]
        starts, warnings = utc_starts(ics(f"ics_zone_custom_{name}"), context)
        assert starts == {uid: start} and warnings == []


def test_icalendars_process_wide_zone_cache_is_never_consulted(ics, context):
    # Anything else in the process that parses with plain icalendar fills its cache by name.
    icalendar.Calendar.from_ical(ics("ics_zone_custom_minus11"))
    try:
        starts, _ = utc_starts(ics("ics_zone_custom_plus2"), context)
        assert starts == {"east@zones.example": at(10, 8)}
    finally:
        icalendar.timezone.tzp.use_default()  # empties that cache for the tests after this


def test_two_calendars_in_one_file_each_read_their_own_zone(ics, context):
    both = ics("ics_zone_custom_minus11") + ics("ics_zone_custom_plus2")
    starts, _ = utc_starts(both, context)
    assert starts == {"west@zones.example": at(10, 21), "east@zones.example": at(10, 8)}


@pytest.mark.parametrize("order", [("minus11", "plus2"), ("plus2", "minus11")])
def test_two_users_same_custom_tzid_through_sync(app, settings, make_user, http_files, ics,
                                                  order):
    """One worker process syncs an upload and a feed that define the TZID differently."""
    soon = (datetime.now(UTC) + timedelta(days=3)).replace(hour=10, minute=0, second=0,
                                                           microsecond=0)
    hours = {"minus11": 11, "plus2": -2}
    for name in order:
        body = ics(f"ics_zone_custom_{name}").replace(FIXTURE_DAY.encode(),
                                                       soon.strftime("%Y%m%d").encode())
        user = make_user(f"{name}@acme.example")
        with app.app_context(), get_db().session() as session:
            owner = session.get(User, user.id)
            if name == "plus2":
                source = sources.add_source(session, owner, kind="ics", upload=body,
                                            max_bytes=settings.fetch_max_bytes)
            else:
                source = sources.add_source(session, owner, kind="ics",
                                            url=http_files.serve(f"/{name}.ics", body),
                                            max_bytes=settings.fetch_max_bytes)
            session.commit()
            report = sync.sync_source(session, settings, source.id, now=datetime.now(UTC))
            assert report.result == "ok"
    with app.app_context(), get_db().session() as session:
        starts = dict(session.execute(select(User.email, Meeting.start).join(
            Meeting, Meeting.user_id == User.id)).all())
    assert starts == {f"{name}@acme.example": soon + timedelta(hours=hours[name])
                      for name in order}


# ---- reading zones right ------------------------------------------------------------------

def test_a_custom_zone_with_daylight_saving(ics, context):
    starts, warnings = utc_starts(ics("ics_zone_custom_dst"), context)
    assert starts == {"before-dst@zones.example": at(5, 15), "after-dst@zones.example": at(10, 14)}
    assert warnings == []


def test_a_weekly_series_in_a_custom_zone_keeps_its_local_time_and_exdate(ics, context):
    parsed = parse_ics(ics("ics_zone_custom_series"), context)
    assert sorted(m.start.astimezone(UTC) for m in parsed.meetings) == [
        at(3, 15), at(10, 14), at(24, 14)]  # 10:00 local across the change; the 17th excluded
    assert parsed.warnings == []


def test_a_zone_defined_after_the_event_that_uses_it(ics, context):
    starts, _ = utc_starts(ics("ics_zone_forward_reference"), context)
    assert starts == {"forward@zones.example": datetime(2025, 3, 10, 4, 30, tzinfo=UTC)}


@pytest.mark.parametrize("key", ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe",
                                 "Asia/Kolkata"])
def test_a_zone_read_from_its_vtimezone_agrees_with_tzdata(key):
    tz = ZoneInfo(key)
    instants = [datetime(2019, 1, 1, tzinfo=UTC) + timedelta(hours=7 * n) for n in range(2000)]
    component = vtimezone_for(tz, [instants[0], instants[-1]])
    zone = zone_from_component(component, deadline=float("inf"))
    for instant in instants:
        local = instant.astimezone(zone)
        assert local.utcoffset() == instant.astimezone(tz).utcoffset(), instant
        assert local.replace(tzinfo=None) == instant.astimezone(tz).replace(tzinfo=None)
        assert local.fold == instant.astimezone(tz).fold
        wall = instant.astimezone(tz).replace(tzinfo=None)
        for fold in (0, 1):  # skipped and repeated hours resolve as zoneinfo resolves them
            assert (wall.replace(tzinfo=zone, fold=fold).utcoffset()
                    == wall.replace(tzinfo=tz, fold=fold).utcoffset()), (wall, fold)


def test_a_calendars_zone_can_be_copied_and_pickled(ics):
    calendar = read_calendars(ics("ics_zone_custom_dst").decode(), float("inf"), print)[0]
    start = calendar.walk("VEVENT")[0]["DTSTART"].dt
    copied = pickle.loads(pickle.dumps(start))  # noqa: S301 - our own bytes
    assert copy.deepcopy(start) == start == copied and copied.utcoffset() == start.utcoffset()
    assert start.tzinfo.key == CUSTOM and str(start.utcoffset()) == "-1 day, 19:00:00"


def test_a_tzid_the_calendar_does_not_define_is_read_in_the_users_zone(context):
    body = (DATA / "ics_zone_custom_plus2.ics").read_text()
    body = body[:body.index("BEGIN:VTIMEZONE")] + body[body.index("BEGIN:VEVENT"):]
    starts, warnings = utc_starts(body.encode(), context)
    assert starts == {"east@zones.example": at(10, 9)}  # 10:00 in Berlin
    assert warnings == ["Some times name the time zone “Customized Time Zone”, which the "
                        "calendar does not define; calsync read them in your time zone."]


# ---- hostile zones are bounded -------------------------------------------------------------

def test_a_windows_name_with_a_hostile_definition_is_read_as_that_zone(ics, context):
    starts, warnings = utc_starts(ics("ics_zone_windows_hostile"), context)
    assert starts == {"windows@zones.example": at(10, 9)}  # Europe/Berlin in winter
    assert len(warnings) == 1 and "“W. Europe Standard Time”" in warnings[0]
    assert "repeats minutely" in warnings[0] and "as Europe/Berlin" in warnings[0]


def test_the_parse_deadline_interrupts_zone_reading(ics, context):
    starts, warnings = utc_starts(ics("ics_zone_custom_dst"), context,
                                  Limits(deadline_seconds=0))
    assert starts["after-dst@zones.example"] == at(10, 15)  # its standard offset, UTC-5
    assert any("could not be read before the calendar's time limit; calsync read its times "
               "as a fixed UTC-05:00" in w for w in warnings)


def test_zones_past_the_limit_are_read_as_fixed_offsets(context):
    starts, warnings = utc_starts(many_zones(MAX_ZONES + 5), context)
    summer, standard = datetime(2025, 4, 10, 8, tzinfo=UTC), datetime(2025, 4, 10, 9, tzinfo=UTC)
    assert Counter(starts.values()) == {summer: MAX_ZONES, standard: 5}
    assert sum(f"comes after the first {MAX_ZONES} zones" in w for w in warnings) == 1


HOSTILE = {
    "hourly": lambda: (DATA / "ics_zone_hourly.ics").read_bytes(),
    "secondly": lambda: (DATA / "ics_zone_secondly.ics").read_bytes(),
    "observances": lambda: many_observances(5000),
    "zones": lambda: many_zones(1000),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_zones_end_quickly_with_a_warning_and_sane_meetings(case):
    run = run_bounded("tests.providers.test_ics_zones:read_hostile", case, memory_mb=600,
                      timeout=60)
    assert run.returncode == 0, run.stderr[-2000:]
    result = run.result
    assert isinstance(result, dict)
    assert len(result["starts"]) == (1000 if case == "zones" else 1)
    # Each meeting at 10:00 local lands within a sane offset of 10:00 UTC, with a warning.
    starts = [datetime.fromisoformat(start) for start in result["starts"]]
    assert all(abs(s - s.replace(hour=10)) <= timedelta(hours=2) for s in starts), starts
    assert any("time zone" in warning for warning in result["warnings"]), result["warnings"]


def read_hostile(case: str) -> None:
    """In the bounded child: read one hostile case through the provider, print the result."""
    context = ReadContext(datetime(2025, 3, 1, tzinfo=UTC), datetime(2025, 5, 1, tzinfo=UTC),
                          ZoneInfo("Europe/Berlin"))
    changes = IcsProvider(_settings()).read(SourceRef(1, data=HOSTILE[case]()), {}, context)
    json.dump({"starts": [m.start.astimezone(UTC).isoformat() for m in changes.meetings],
               "warnings": changes.warnings}, sys.stdout)
    print()


def _settings() -> Settings:
    return Settings.from_env({}, instance_path=Path(tempfile.mkdtemp(prefix="calsync-zones-")))


def _calendar(lines: list[str]) -> bytes:
    head = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//calsync tests//zones//EN"]
    return ("\r\n".join([*head, *lines, "END:VCALENDAR"]) + "\r\n").encode()


def _event(uid: str, tzid: str, day: str = FIXTURE_DAY) -> list[str]:
    return ["BEGIN:VEVENT", f"UID:{uid}", f"DTSTART;TZID={tzid}:{day}T100000",
            f"DTEND;TZID={tzid}:{day}T110000", f"SUMMARY:{uid}", "END:VEVENT"]


def many_observances(count: int) -> bytes:
    """One zone of `count` dated parts, alternating UTC+0 and UTC+1 weekly from 1900."""
    lines = ["BEGIN:VTIMEZONE", "TZID:Crowded"]
    for n in range(count):
        kind, offset = ("DAYLIGHT", "+0100") if n % 2 else ("STANDARD", "+0000")
        onset = datetime(1900, 1, 1) + timedelta(weeks=n)
        lines += [f"BEGIN:{kind}", f"DTSTART:{onset:%Y%m%dT%H%M%S}",
                  f"TZOFFSETFROM:{'+0000' if n % 2 else '+0100'}", f"TZOFFSETTO:{offset}",
                  f"END:{kind}"]
    return _calendar([*lines, "END:VTIMEZONE", *_event("crowded", "Crowded")])


def many_zones(count: int) -> bytes:
    """`count` ordinary Central European zones, each used by one meeting in summer time."""
    lines = []
    for n in range(count):
        lines += ["BEGIN:VTIMEZONE", f"TZID:Zone {n}",
                  "BEGIN:STANDARD", "DTSTART:19701025T030000",
                  "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU", "TZOFFSETFROM:+0200",
                  "TZOFFSETTO:+0100", "END:STANDARD",
                  "BEGIN:DAYLIGHT", "DTSTART:19700329T020000",
                  "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU", "TZOFFSETFROM:+0100",
                  "TZOFFSETTO:+0200", "END:DAYLIGHT", "END:VTIMEZONE"]
    for n in range(count):
        lines += _event(f"zone-{n}", f"Zone {n}", day="20250410")
    return _calendar(lines)
