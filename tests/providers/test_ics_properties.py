"""Properties of ICS import, on generated calendars (events with random times, ends, rules,
overrides and zones, then mangled line by line) and on arbitrary bytes: it never raises
anything but a SourceError with a sentence, never loses what the user answered, and
importing the same bytes twice changes nothing."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from calsync.config import Settings
from calsync.errors import SourceError
from calsync.jobs import sync
from calsync.models import Meeting, Prompt, Source, User
from calsync.providers import ics_parse
from calsync.providers.base import ReadContext, SourceRef
from calsync.providers.ics import IcsProvider
from calsync.providers.ics_parse import Limits, parse_ics
from calsync.services import accounts, answers

NOW = datetime(2025, 3, 20, 12, 0, tzinfo=UTC)
ZONES = ("Europe/Berlin", "America/New_York", "Asia/Kolkata", "Customized Time Zone")
CUSTOM_ZONE = ("BEGIN:VTIMEZONE", "TZID:Customized Time Zone", "BEGIN:STANDARD",
               "DTSTART:16010101T030000", "TZOFFSETFROM:+0200", "TZOFFSETTO:+0100",
               "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10", "END:STANDARD", "BEGIN:DAYLIGHT",
               "DTSTART:16010101T020000", "TZOFFSETFROM:+0100", "TZOFFSETTO:+0200",
               "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3", "END:DAYLIGHT", "END:VTIMEZONE")
# Small bounds keep each example fast; the bounds themselves are tested elsewhere.
SMALL = Limits(max_occurrences_per_series=60, max_meetings=300)
DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
FAST = settings(max_examples=60, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])
WITH_DB = settings(max_examples=15, deadline=None, derandomize=True,
                   suppress_health_check=[HealthCheck.function_scoped_fixture,
                                          HealthCheck.too_slow])


@st.composite
def moments(draw: st.DrawFn) -> str:
    """`;params:value` of a date, a UTC time, a floating time, or a time in a zone."""
    day = NOW.date() + timedelta(days=draw(st.integers(-40, 60)))
    kind = draw(st.sampled_from(("date", "utc", "floating", "zone")))
    if kind == "date":
        return f";VALUE=DATE:{day:%Y%m%d}"
    at = f"{day:%Y%m%d}T{draw(st.integers(0, 23)):02}{draw(st.sampled_from((0, 15, 30))):02}00"
    if kind == "zone":
        return f";TZID={draw(st.sampled_from(ZONES))}:{at}"
    return f":{at}Z" if kind == "utc" else f":{at}"


@st.composite
def durations(draw: st.DrawFn) -> str:
    sign = draw(st.sampled_from(("", "-", "+")))
    hours, minutes = draw(st.integers(0, 30)), draw(st.integers(0, 59))
    return f"{sign}P{draw(st.integers(0, 3))}DT{hours}H{minutes}M"


@st.composite
def rules(draw: st.DrawFn) -> str:
    freq = draw(st.sampled_from(("DAILY", "WEEKLY", "MONTHLY", "YEARLY", "HOURLY", "MINUTELY")))
    parts = [f"FREQ={freq}"]
    if draw(st.booleans()):
        parts.append(f"INTERVAL={draw(st.integers(1, 4))}")
    end = draw(st.sampled_from(("count", "until", "none")))
    if end == "count":
        parts.append(f"COUNT={draw(st.integers(1, 30))}")
    elif end == "until":
        parts.append(f"UNTIL={NOW.date() + timedelta(days=draw(st.integers(-20, 90))):%Y%m%d}")
    if draw(st.booleans()):
        sep = draw(st.sampled_from((",", ", ")))
        parts.append("BYDAY=" + sep.join(draw(st.lists(st.sampled_from(DAYS), min_size=1,
                                                        max_size=3, unique=True))))
    if draw(st.booleans()):
        parts.append(f"BYMONTHDAY={draw(st.sampled_from((1, 15, 31, -1)))}")
    text = draw(st.sampled_from((";", "; "))).join(parts)
    return text.lower() if draw(st.integers(0, 9)) == 0 else text


texts = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"),
                max_size=25)


@st.composite
def events(draw: st.DrawFn, uids: list[str]) -> list[str]:
    lines = [f"UID:{draw(st.sampled_from(uids))}" if draw(st.integers(0, 9)) else "UID:",
             f"SUMMARY:{draw(texts)}"]
    if draw(st.integers(0, 9)):
        lines.append(f"DTSTART{draw(moments())}")
    end = draw(st.sampled_from(("dtend", "duration", "none", "empty")))
    if end == "dtend":
        lines.append(f"DTEND{draw(moments())}")
    elif end == "duration":
        lines.append(f"DURATION:{draw(durations())}")
    elif end == "empty":
        lines.append("DTEND:")
    if draw(st.booleans()):
        lines.append(f"RRULE:{draw(rules())}" if draw(st.integers(0, 5)) else "RRULE:")
        if draw(st.booleans()):
            lines.append(f"EXDATE{draw(moments())}")
    if draw(st.integers(0, 3)) == 0:
        scope = draw(st.sampled_from(("", ";RANGE=THISANDFUTURE")))
        lines.append(f"RECURRENCE-ID{scope}{draw(moments())}")
    lines.append(f"STATUS:{draw(st.sampled_from(('CONFIRMED', 'CANCELLED', 'TENTATIVE')))}")
    for name in draw(st.lists(st.sampled_from(("pat", "lee", "kim")), max_size=2)):
        lines.append(f"ATTENDEE;CN={name};PARTSTAT=ACCEPTED:mailto:{name}@prospect.example")
    return ["BEGIN:VEVENT", *lines, "END:VEVENT"]


@st.composite
def calendars(draw: st.DrawFn, extra: tuple[str, ...] = ()) -> list[str]:
    """The lines of a calendar; `extra` is one more event, always there."""
    uids = [f"{name}@acme-sales.com" for name in ("a", "b", "c")]
    body: list[str] = []
    if draw(st.booleans()):
        body += CUSTOM_ZONE
    for event in draw(st.lists(events(uids), max_size=5)):
        body += event
    body += extra
    if draw(st.integers(0, 5)) == 0:
        return body  # a lone component
    head = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//calsync properties//EN"]
    if draw(st.integers(0, 4)) == 0:
        head.append(f"X-WR-TIMEZONE:{draw(st.sampled_from((*ZONES, 'Mars/Olympus')))}")
    return head + body + ([] if draw(st.integers(0, 6)) == 0 else ["END:VCALENDAR"])


@st.composite
def mangled(draw: st.DrawFn, lines: list[str]) -> list[str]:
    """`lines` with a few lines dropped, doubled, emptied, swapped, cut or replaced."""
    lines = list(lines)
    for _ in range(draw(st.integers(0, 3))):
        if not lines:
            break
        at = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(("drop", "double", "empty", "swap", "cut", "junk")))
        if action == "drop":
            del lines[at]
        elif action == "double":
            lines.insert(at, lines[at])
        elif action == "empty":
            lines[at] = lines[at].split(":", 1)[0] + ":"
        elif action == "swap":
            other = draw(st.integers(0, len(lines) - 1))
            lines[at], lines[other] = lines[other], lines[at]
        elif action == "cut":
            lines[at] = lines[at][:draw(st.integers(0, len(lines[at])))]
        else:
            lines.insert(at, draw(texts))
    return lines


def encode(lines: list[str], newline: str = "\r\n") -> bytes:
    return (newline.join(lines) + newline).encode()


@st.composite
def calendar_bytes(draw: st.DrawFn) -> bytes:
    lines = draw(calendars())
    if draw(st.booleans()):
        lines = draw(mangled(lines))
    return encode(lines, draw(st.sampled_from(("\r\n", "\n"))))


def context(zone: str = "Europe/Berlin") -> ReadContext:
    return ReadContext(NOW - timedelta(days=30), NOW + timedelta(days=120), ZoneInfo(zone))


def check_read(body: bytes) -> None:
    """The property: meetings (each sane), or a SourceError saying why in a sentence."""
    try:
        parsed = parse_ics(body, context(), SMALL)
    except SourceError as error:
        assert error.message.strip().endswith(".") and "Traceback" not in str(error)
        return
    for meeting in parsed.meetings:
        assert meeting.start.tzinfo is not None and meeting.start <= meeting.end
        assert meeting.uid
        assert not meeting.all_day or (meeting.start_date is not None
                                       and meeting.end_date is not None
                                       and meeting.start_date < meeting.end_date)
    assert all(isinstance(w, str) and w for w in parsed.warnings)


@FAST
@given(calendar_bytes())
def test_any_generated_calendar_gives_meetings_or_a_sentence(body: bytes) -> None:
    note(f"body: {body!r}")
    check_read(body)


@FAST
@given(calendar_bytes())
def test_series_read_from_their_first_occurrence_read_as_each_alone(body: bytes) -> None:
    def read() -> list[Any] | str:
        try:  # in the order of their keys: series with overrides come out in any order
            return sorted(parse_ics(body, context(), SMALL).meetings,
                          key=lambda m: (m.uid, m.recurrence_id, m.start))
        except SourceError as error:
            return str(error)

    fast = read()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ics_parse, "occurrence_meetings", lambda occurrences, recurring, tz,
                      people=None, **_: (ics_parse.to_meeting(o.as_component(False), recurring,
                                                              tz, people) for o in occurrences))
        assert fast == read()


@FAST
@given(st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_any_bytes_give_meetings_or_a_sentence(tail: bytes) -> None:
    check_read(tail)
    check_read(b"BEGIN:VCALENDAR\r\n" + tail)
    check_read(b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n" + tail + b"\r\nEND:VEVENT\r\nEND:VCALENDAR")


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> IcsProvider:
    return IcsProvider(Settings.from_env(
        {}, instance_path=tmp_path_factory.mktemp("ics"),
        max_occurrences_per_series=SMALL.max_occurrences_per_series,
        max_meetings_per_source=SMALL.max_meetings))


@FAST
@given(body=calendar_bytes())
def test_the_provider_never_needs_its_safety_net(body: bytes, provider: IcsProvider) -> None:
    # The provider turns an unexpected error into "a problem in calsync": none may happen.
    try:
        provider.read(SourceRef(id=1, data=body), {}, context())
    except SourceError as error:
        assert "a problem in calsync" not in error.message


# The meeting every calendar below holds: ended two hours before NOW, with a prospect.
DEMO = ("BEGIN:VEVENT", "UID:demo@acme-sales.com", "SUMMARY:Demo with the prospect",
        "DTSTART:20250320T090000Z", "DTEND:20250320T100000Z",
        "ORGANIZER:mailto:{user}", "ATTENDEE;CN=Buyer:mailto:buyer@{domain}", "END:VEVENT")
_counter = itertools.count()


def small(settings: Settings) -> Settings:
    return replace(settings, max_occurrences_per_series=SMALL.max_occurrences_per_series,
                   max_meetings_per_source=SMALL.max_meetings)


def fresh_source(session: Session, body: bytes) -> tuple[User, Source]:
    """A user of their own (and a prospect's domain of their own) with `body` uploaded."""
    n = next(_counter)
    user = accounts.create_user(session, f"seller{n}@acme-sales.com", None, "Europe/Berlin")
    session.flush()
    source = Source(user_id=user.id, kind="ics", name="upload", url="", upload=body,
                    options={}, cursor={}, warnings=[], next_sync_at=NOW)
    session.add(source)
    session.commit()
    return user, source


def demo(user: User, n: int) -> tuple[str, ...]:
    return tuple(line.format(user=user.email, domain=f"prospect{n}.example") for line in DEMO)


def snapshot(session: Session, source_id: int) -> dict[Any, tuple[Any, ...]]:
    session.expire_all()
    rows = session.execute(select(Meeting.uid, Meeting.recurrence_id, Meeting.id,
                                  Meeting.content_hash, Meeting.status, Meeting.updated_at)
                           .where(Meeting.source_id == source_id))
    return {(row[0], row[1]): tuple(row[2:]) for row in rows}


def prompts(session: Session, user_id: int) -> list[tuple[Any, ...]]:
    return list(session.execute(select(Prompt.id, Prompt.meeting_id, Prompt.status,
                                       Prompt.outcome, Prompt.note)
                                .where(Prompt.user_id == user_id).order_by(Prompt.id)))


@WITH_DB
@given(data=st.data())
def test_an_answer_survives_any_new_version_of_the_calendar(
        data: st.DataObject, db_session: Session, settings: Settings) -> None:
    settings = small(settings)
    user, source = fresh_source(db_session, b"")
    n = next(_counter)
    lines = data.draw(calendars(extra=demo(user, n)), "calendar")
    if lines[0] != "BEGIN:VCALENDAR" or lines[-1] != "END:VCALENDAR":
        lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//calsync//EN",
                 *[line for line in lines if "VCALENDAR" not in line], "END:VCALENDAR"]
    source.upload = encode(lines)
    db_session.commit()
    first = sync.sync_source(db_session, settings, source.id, now=NOW)
    assert first.result == "ok", first.error
    prompt = db_session.scalar(select(Prompt).join(Meeting, Prompt.meeting_id == Meeting.id)
                               .where(Meeting.source_id == source.id,
                                      Meeting.uid == "demo@acme-sales.com"))
    assert prompt is not None
    answers.answer_prompt(db_session, settings, user, prompt,
                          answers.Answer("yes", note="Signed — “pilot”, 20 seats"), now=NOW)
    before_rows, before = snapshot(db_session, source.id), prompts(db_session, user.id)

    source = db_session.get(Source, source.id)
    source.upload = encode(data.draw(mangled(lines), "new version"))
    db_session.commit()
    sync.sync_source(db_session, settings, source.id, now=NOW + timedelta(minutes=15))

    after = {p[0]: p for p in prompts(db_session, user.id)}
    answered = [p for p in before if p[2] == "answered"]
    assert answered and all(after[p[0]] == p for p in answered)  # answer and note intact
    assert set(snapshot(db_session, source.id)) >= set(before_rows)  # no meeting row lost


@WITH_DB
@given(body=calendar_bytes())
def test_importing_the_same_bytes_twice_changes_nothing(
        body: bytes, db_session: Session, settings: Settings) -> None:
    note(f"body: {body!r}")
    settings = small(settings)
    assert parse_or_error(body) == parse_or_error(body)
    user, source = fresh_source(db_session, body)
    sync.sync_source(db_session, settings, source.id, now=NOW)
    rows, asked = snapshot(db_session, source.id), prompts(db_session, user.id)

    source = db_session.get(Source, source.id)
    source.cursor = {}  # make the second import parse the bytes again, not skip them
    db_session.commit()
    again = sync.sync_source(db_session, settings, source.id, now=NOW)
    assert (again.added, again.updated, again.cancelled) == (0, 0, 0)
    assert snapshot(db_session, source.id) == rows
    assert prompts(db_session, user.id) == asked


def parse_or_error(body: bytes) -> Any:
    try:
        parsed = parse_ics(body, context(), SMALL)
    except SourceError as error:
        return str(error)
    return sorted(parsed.meetings, key=repr), parsed.warnings


def calendar(*lines: str) -> bytes:
    return encode(["BEGIN:VCALENDAR", *lines, "END:VCALENDAR"])


# Cases these properties found (each raised or gave a meeting ending before it starts).
@pytest.mark.parametrize("body", [
    pytest.param(calendar("BEGIN:VEVENT", "UID:a", "DTSTART:20250310T090000Z", "RRULE:",
                          "END:VEVENT"), id="empty rule"),
    pytest.param(calendar("BEGIN:VTIMEZONE", "TZID:X", "BEGIN:VEVENT", "RRULE:FREQ=DAILY",
                          "END:VEVENT", "END:VTIMEZONE"), id="an event inside a zone"),
    pytest.param(calendar("BEGIN:VEVENT", "UID:b", "DTSTART:20250320T100000Z",
                          "DTSTART:20250321T100000Z", "DURATION:PT1H", "DURATION:PT2H",
                          "END:VEVENT"), id="a start and a duration twice"),
    pytest.param(calendar("BEGIN:VEVENT", "UID:b", "DTSTART:20250320T100000Z", "Ø",
                          "END:VEVENT"), id="a line without a name"),
    pytest.param(calendar("BEGIN:VEVENT", "UID:b", "DTSTART;VALUE=DATE:20250320",
                          "DTEND;VALUE=DATE:20250320", "END:VEVENT"), id="ends when it starts"),
    pytest.param(calendar("BEGIN:VEVENT", "UID:b", "DTSTART;VALUE=DATE:20250420",
                          "DTEND;VALUE=DATE:20250224", "RRULE:freq=hourly", "END:VEVENT",
                          "BEGIN:VEVENT", "UID:b", "DTSTART;TZID=Asia/Kolkata:20250515T131500",
                          "DURATION:P0DT22H42M",
                          "RECURRENCE-ID;RANGE=THISANDFUTURE:20250427T220000Z", "END:VEVENT"),
                 id="an all-day series moved by a timed override"),
    pytest.param(calendar("BEGIN:VEVENT", "UID:b", "DTSTART:20250320T100000Z",
                          "RECURRENCE-ID;RANGE=THISANDFUTURE", "END:VEVENT"),
                 id="an override without a date"),
    pytest.param(encode(["BEGIN:VCALENDAR", "BEGIN:VEVENT", "UID:x", "DTSTART:20250320T100000Z",
                         "END:VEVENT", "END:VEVENT", "BEGIN:VEVENT", "UID:a",
                         "RRULE:FREQ=DAILY", "END:VCALENDAR"]),
                 id="an event left outside the calendar by a stray END"),
])
def test_found_examples(body: bytes) -> None:
    check_read(body)
