"""Plain events read directly (ics_plain) give exactly what icalendar's reading gives: the same
meetings in the same order, the same warnings, errors, limits and incremental state."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bench import hostile_inputs
from bench.import_cost import feed
from calsync.errors import SourceError
from calsync.providers import ics_parse
from calsync.providers.base import ReadContext
from calsync.providers.ics_parse import Limits, parse_ics
from calsync.providers.ics_plain import read_plain
from calsync.providers.ics_split import Previous
from tests.conftest import DATA

BERLIN_ZONE = """BEGIN:VTIMEZONE
TZID:Europe/Berlin
BEGIN:STANDARD
DTSTART:19701025T030000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:19700329T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
END:DAYLIGHT
END:VTIMEZONE"""
CUSTOM_ZONE = BERLIN_ZONE.replace("TZID:Europe/Berlin", "TZID:Office Zone")
LONG = "Agenda\\, notes\\; more\\n" * 900  # past MAX_DESCRIPTION once unescaped

# Each a VEVENT's lines (without BEGIN and END) that real or hostile producers write.
TRICKY = [
    "SUMMARY:Pricing\\, rollout\\; next\\nsteps\\N done \\\\ back \\\\n not a break",
    "SUMMARY:Folded in a wo\r\n rd and\r\n\tby tab",
    "SUMMARY:Café folded between charact\r\n ers: ünï",
    "SUMMARY:Blank lines\r\n\r\n before a fold\r\n\r\nLOCATION:after a blank line",
    "SUMMARY:Bare\n line ends\n\n \r\r\n folded",
    "SUMMARY:Bare\n folded\r\r\n after a carriage return\n\tand a tab",
    'ATTENDEE;CN="Doe: John; Jr";PARTSTAT=ACCEPTED:mailto:John@X.example\r\n'
    "ATTENDEE;CN=Ann Lee;PARTSTAT=tentative:MAILTO:ann@x.example\r\n"
    'ATTENDEE;CN="";PARTSTAT=DECLINED:mailto:nobody@x.example\r\n'
    "ATTENDEE:bare@x.example\r\nATTENDEE;CN=Nomail:\r\n"
    'ORGANIZER;CN="Boss, The":mailto:BOSS@X.example',
    'ATTENDEE;CN="a^nb":mailto:caret@x.example',
    "ATTENDEE;CN = Spaced ; PARTSTAT= ACCEPTED:mailto:spaced@x.example",
    "ATTENDEE;CN=Two,Values:mailto:two@x.example",
    "ATTENDEE;CN=Back\\slash:mailto:back@x.example",
    "ATTENDEE;CN=Pct%2C:mailto:pct@x.example",
    'ATTENDEE;CN="Carriage\rreturn":mailto:cr@x.example',
    "ATTENDEE;CN=Carriage\rreturn:mailto:cr@x.example",
    'ATTENDEE;CN="Tab\there":mailto:tab@x.example',
    "ATTENDEE:mailto:line\\nbreak@x.example",
    "ORGANIZER:mailto:first@x.example\r\nORGANIZER:mailto:second@x.example",
    "DTSTART;VALUE=DATE:20250310\r\nDTEND;VALUE=DATE:20250312",
    "DTSTART;VALUE=DATE:20250311",
    "DTSTART:20250312",
    "DTSTART;VALUE=DATE:20250313\r\nDTEND;VALUE=DATE:20250313",
    "DTSTART;VALUE=DATE:20250314\r\nDTEND;VALUE=DATE:20250312",
    "DTSTART;VALUE=DATE:20250315\r\nDTEND:20250316T100000Z",
    "DTSTART:20250316T100000Z\r\nDTEND;VALUE=DATE:20250318",
    "DTSTART;TZID=Europe/Berlin;VALUE=DATE:20250317",
    "DTSTART;TZID=Europe/Berlin:20250318T090000\r\nDTEND;TZID=Europe/Berlin:20250318T100000",
    "DTSTART;TZID=America/New_York:20250318T090000\r\nDTEND;TZID=America/New_York:20250318T100000",
    'DTSTART;TZID="Europe/Berlin":20250319T090000',
    "DTSTART;TZID=/example.com/Europe/Berlin:20250319T110000",
    "DTSTART;TZID=Office Zone:20250319T120000",
    "DTSTART;TZID=W. Europe Standard Time:20250319T130000",
    "DTSTART;TZID=Nowhere/Else:20250319T140000",
    "DTSTART;TZID=Europe/Berlin:20250319T150000Z",
    "DTSTART:20250320T090000\r\nDTEND:20250320T100000",
    "DTSTART:20250320T090000\r\nDTEND:20250320T100000Z",
    "DTSTART;TZID=Europe/Berlin:20250330T023000\r\nDTEND;TZID=Europe/Berlin:20250330T033000",
    "DTSTART;TZID=Europe/Berlin:20250330T013000\r\nDURATION:PT2H",
    "DTSTART:20250321T090000Z\r\nDURATION:PT1H30M",
    "DTSTART:20250321T110000Z\r\nDURATION:P1DT2H",
    "DTSTART:20250321T120000Z\r\nDURATION:-PT1H",
    "DTSTART:20250321T130000Z\r\nDURATION:PT1H\r\nDTEND:20250321T150000Z",
    "DTSTART:20250321T140000Z\r\nDURATION:soon",
    "DTSTART;VALUE=DATE:20250322\r\nDURATION:PT3H",
    "DTSTART;VALUE=DATE:20250322\r\nDURATION:P2D",
    "DTSTART:20250322T090000Z",
    "DTSTART:20250323T100000Z\r\nDTEND:20250323T090000Z",
    "DTSTART:20250324T100000Z\r\nSTATUS:CANCELLED\r\nTRANSP:TRANSPARENT",
    "DTSTART:20250324T110000Z\r\nSTATUS:cancelled",
    "DTSTART:20250324T120000Z\r\nSTATUS;X-P=1: CANCELLED ",
    f"DESCRIPTION:{LONG}",
    "SUMMARY;LANGUAGE=de:Besprechung\r\nLOCATION;ALTREP=\"http://x.example/a;b:c\":Room 1",
    "SUMMARY;VALUE=DATE:20250325",
    "SUMMARY:First\r\nSUMMARY:Second",
    "summary:lower case names\r\nlocation:here",
    "SUMMARY:Control\x01char",
    "SUMMARY:Lone\rcarriage return",
    "LOCATION:\r\nDESCRIPTION:",
    "SUMMARY:ends with colon:",
    "DTEND:",
    "CREATED:garbage\r\nSEQUENCE:abc\r\nX-ODD;VALUE=DATE:nope\r\nCLASS:PRIVATE",
    "DTSTART:20250230T100000Z",
    "DTSTART:20250325T1000",
    "EXDATE:20250325T100000Z",
    "RECURRENCE-ID:20250325T100000Z",
    "RRULE:",
    "BEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:Reminder\r\nTRIGGER:-PT15M\r\nEND:VALARM",
    "BEGIN:VALARM\r\nACTION:NONE\r\nTRIGGER;VALUE=DATE-TIME:19760401T005545Z\r\n"
    "X-APPLE-DEFAULT-ALARM:TRUE\r\nEND:VALARM",
    "BEGIN:VALARM\r\nACTION:AUDIO\r\nTRIGGER;RELATED=END:PT5M\r\nATTACH:Basso\r\nEND:VALARM",
    "BEGIN:VALARM\r\nTRIGGER:whenever\r\nEND:VALARM",
    "BEGIN:VTODO\r\nSUMMARY:inner\r\nEND:VTODO",
    "BEGIN:VEVENT\r\nUID:nested\r\nDTSTART:20250326T100000Z\r\nEND:VEVENT",
    "DTSTART:99991231T230000Z\r\nDURATION:PT2H",
    "DTSTART;VALUE=DATE:99991231",
    "UID:second-uid-line",
    "DTSTART;X-A=1;X-A=2:20250327T100000Z",
    "X-GARBAGE-WITHOUT-VALUE\r\nDTSTART:20250327T110000Z",
    "DTSTART;FOO=:20250327T120000Z",
]


def tricky_event(n: int, lines: str) -> str:
    day, hour = 10 + n % 18, n % 9
    start = "" if "DTSTART" in lines.upper() else f"DTSTART:202503{day:02}T0{hour}3000Z\r\n"
    return f"BEGIN:VEVENT\r\nUID:tricky-{n}@x.example\r\n{start}{lines}\r\nEND:VEVENT\r\n"


def calendar(*events: str, head: str = "") -> bytes:
    top = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//calsync tests//EN\r\n"
    return f"{top}{head}{''.join(events)}END:VCALENDAR\r\n".encode()


def outcome(data: bytes, context: ReadContext, **options: Any) -> tuple[object, ...]:
    """Everything a parse says, `repr` too: a time's zone object counts, not just its instant."""
    try:
        parsed = parse_ics(data, context, **options)
    except SourceError as exc:
        return ("refused", exc.reason, exc.hint)
    return (parsed.meetings, repr(parsed.meetings), parsed.warnings, parsed.truncated,
            parsed.selection, parsed.state)


def read_both(data: bytes, context: ReadContext, monkeypatch: pytest.MonkeyPatch,
              **options: Any) -> int:
    """Assert the plain reading changes nothing; how many events it read."""
    plain = []

    def counted(block: str, uid: str) -> object:
        event = read_plain(block, uid)
        plain.append(event is not None)
        return event

    with monkeypatch.context() as patched:
        patched.setattr(ics_parse, "read_plain", counted)
        fast = outcome(data, context, **options)
    with monkeypatch.context() as patched:
        patched.setattr(ics_parse, "read_plain", lambda _block, _uid: None)
        slow = outcome(data, context, **options)
    assert fast == slow
    return sum(plain)


FIXTURES = sorted(DATA.glob("*.ics"))


@pytest.mark.parametrize("path", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_every_fixture_reads_the_same(path, context, monkeypatch):
    read_both(path.read_bytes(), context, monkeypatch)


def test_the_fixtures_hold_plain_events(context, monkeypatch):
    """The comparison above is not empty: the fixtures' plain events are read plainly."""
    assert sum(read_both(path.read_bytes(), context, monkeypatch) for path in FIXTURES) >= 8


@pytest.mark.parametrize("head", ["", BERLIN_ZONE + "\n", CUSTOM_ZONE + "\n",
                                  "X-WR-TIMEZONE:America/New_York\n"],
                         ids=["no zones", "tzdata zone", "custom zone", "x-wr-timezone"])
@pytest.mark.parametrize("zone", ["Europe/Berlin", "UTC", "America/Los_Angeles"])
def test_tricky_events_read_the_same_together(head, zone, monkeypatch):
    context = ReadContext(datetime(2025, 3, 1, tzinfo=UTC), datetime(2025, 5, 1, tzinfo=UTC),
                          ZoneInfo(zone))
    events = [tricky_event(n, lines) for n, lines in enumerate(TRICKY)]
    read = read_both(calendar(*events, head=head.replace("\n", "\r\n")), context, monkeypatch)
    assert read == 0 if "X-WR" in head else read > len(TRICKY) // 3


@pytest.mark.parametrize("n", range(len(TRICKY)))
def test_each_tricky_event_reads_the_same_alone(n, context, monkeypatch):
    """Alone, an event that breaks the whole calendar (a broken alarm) breaks it either way."""
    read_both(calendar(tricky_event(n, TRICKY[n]), head=BERLIN_ZONE.replace("\n", "\r\n")
                       + "\r\n"), context, monkeypatch)


def test_a_fold_inside_a_utf8_character_reads_the_same(context, monkeypatch):
    body = calendar(tricky_event(0, "SUMMARY:Caf\u00e9 au lait"))
    cut = body.replace("\u00e9".encode(), b"\xc3\r\n \xa9")
    assert read_both(cut, context, monkeypatch) == 1


def test_the_bench_feed_reads_the_same_in_many_parts(monkeypatch):
    now = datetime.now(UTC)
    context = ReadContext(now - timedelta(days=30), now + timedelta(days=180), ZoneInfo("UTC"))
    data = feed(1000)
    assert read_both(data, context, monkeypatch) == 950  # every event but the series
    first = parse_ics(data, context)
    assert first.state is not None
    read_both(feed(1000, version=1), context, monkeypatch, previous=first.state)
    moved = Previous(first.state.head, first.state.events, (now + timedelta(days=170)).date())
    read_both(data, context, monkeypatch, previous=moved)
    read_both(data, context, monkeypatch, limits=Limits(max_meetings=333))


@pytest.mark.parametrize("data", [
    hostile_inputs.plain(), hostile_inputs.attendee_storm(300), hostile_inputs.many_zones(120),
    hostile_inputs.custom_zone("+0200"), hostile_inputs.minutely_flood(5)],
    ids=["plain", "attendee storm", "many zones", "custom zone", "minutely flood"])
def test_hostile_inputs_read_the_same(data, monkeypatch):
    now = datetime.now(UTC)
    context = ReadContext(now - timedelta(days=30), now + timedelta(days=180), ZoneInfo("UTC"))
    read_both(data, context, monkeypatch)


def folded_anywhere(data: bytes, seed: int) -> bytes:
    """`data` with some lines folded at random bytes, mid-character and mid-name too."""
    chance = random.Random(seed)  # noqa: S311 - a repeatable test input, not a secret
    lines = data.split(b"\r\n")
    for n in range(1, len(lines) - 1):
        if len(lines[n]) > 2 and not lines[n].startswith((b"BEGIN", b"END")) and (
                chance.random() < 0.3):
            at = chance.randrange(1, len(lines[n]))
            lines[n] = lines[n][:at] + b"\r\n" + chance.choice([b" ", b"\t"]) + lines[n][at:]
    return b"\r\n".join(lines)


@pytest.mark.parametrize("seed", range(40))
def test_events_folded_anywhere_read_the_same(seed, context, monkeypatch):
    events = [tricky_event(n, lines) for n, lines in enumerate(TRICKY)]
    assert read_both(folded_anywhere(calendar(*events), seed), context, monkeypatch) > 5
