"""Regression tests for the Microsoft 365 review (rev14): the account is the user (its own
meetings name the client's deal, internal ones are not prompted), and all-day events east and
west of UTC keep their date."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from calsync.config import Settings
from calsync.emulator.microsoft import MicrosoftEmulator
from calsync.jobs import sync
from calsync.models import Deal, Prompt, Source, User
from calsync.providers.base import ReadContext, SourceRef
from calsync.providers.microsoft import MicrosoftProvider
from calsync.providers.microsoft_events import to_meeting
from calsync.services import answers
from calsync.services.answers import Answer, NextStep
from tests.microsoft.mscal import hour, timed
from tests.servers.microsoft import EMAIL


def person(address: str, name: str = "") -> dict[str, object]:
    return {"type": "required", "status": {"response": "accepted"},
            "emailAddress": {"address": address, "name": name or address}}


def calendar(emulator: MicrosoftEmulator) -> str:
    return emulator.calendar_ids(EMAIL)[0]


def test_the_accounts_own_meetings_name_the_clients_deal_and_internal_ones_are_skipped(
        db_session: Session, settings: Settings, user: User, emulator: MicrosoftEmulator,
        microsoft_source: Source) -> None:
    # The user signed up as ana@acme-sales.com; the account read is ann@contoso.example,
    # who organised both meetings (Graph lists her in neither's attendees).
    assert user.email != EMAIL
    emulator.add_event(calendar(emulator), timed(
        hour(-1, at=9), subject="Contract questions: Umbrella",
        attendees=[person("a.wesker@umbrella.example", "Albert Wesker")]))
    emulator.add_event(calendar(emulator), timed(
        hour(-1, at=11), subject="Pipeline review", attendees=[person("sam.lee@contoso.example")]))
    report = sync.sync_source(db_session, settings, microsoft_source.id)
    assert report.result == "ok", report.error

    [prompt] = db_session.scalars(select(Prompt))
    assert prompt.meeting is not None and prompt.meeting.title == "Contract questions: Umbrella"
    step = NextStep("Send Umbrella the revised contract", hour(3, at=14), 30, "email")
    owner = db_session.get(User, user.id)
    assert owner is not None
    result = answers.answer_prompt(db_session, settings, owner, prompt,
                                   Answer("next_step", next_step=step))
    assert result.followup is not None
    assert [d.name for d in db_session.scalars(select(Deal))] == ["Umbrella"]


def test_an_invitation_from_someone_else_keeps_them_as_organizer(
        provider: MicrosoftProvider, make_ref: Callable[..., SourceRef],
        emulator: MicrosoftEmulator, context: ReadContext) -> None:
    emulator.add_event(calendar(emulator), timed(
        hour(2), subject="Their demo", organizer=person("buyer@prospect.example"),
        attendees=[person(EMAIL, "Ann Example")]))
    [meeting] = provider.read(make_ref(), {}, context).meetings
    assert meeting.organizer == "buyer@prospect.example"
    assert [(a.email, a.is_self) for a in meeting.attendees] == [(EMAIL, True)]


@pytest.mark.parametrize("zone", ["W. Europe Standard Time", "Tokyo Standard Time",
                                  "Eastern Standard Time", "Pacific Standard Time"])
def test_an_all_day_event_keeps_its_date_in_any_zone(
        provider: MicrosoftProvider, make_ref: Callable[..., SourceRef],
        emulator: MicrosoftEmulator, context: ReadContext, zone: str) -> None:
    day = datetime.now(UTC).date() + timedelta(days=5)
    emulator.add_event(calendar(emulator), {
        "subject": "Trade show", "isAllDay": True,
        "start": {"dateTime": f"{day.isoformat()}T00:00:00", "timeZone": zone},
        "end": {"dateTime": f"{(day + timedelta(days=1)).isoformat()}T00:00:00",
                "timeZone": zone}})
    [meeting] = provider.read(make_ref(), {}, context).meetings
    assert meeting.all_day
    assert (meeting.start_date, meeting.end_date) == (day, day + timedelta(days=1))
    assert meeting.start.date() == day and meeting.start.tzinfo == context.timezone


@pytest.mark.parametrize(("start", "end", "zone"), [
    # Graph's own answer: midnight of the date, labelled with the zone asked for.
    ("2026-12-04T00:00:00.0000000", "2026-12-06T00:00:00.0000000", "UTC"),
    # An instant converted anyway: back to the zone the event was made in.
    ("2026-12-03T23:00:00.0000000", "2026-12-05T23:00:00.0000000", "UTC"),
    ("2026-12-04T14:00:00.0000000", "2026-12-06T14:00:00.0000000", "Tokyo Standard Time"),
])
def test_an_all_day_events_dates_from_either_shape_of_answer(start: str, end: str,
                                                             zone: str) -> None:
    item = {"id": "AAMk1", "subject": "Offsite", "isAllDay": True,
            "originalStartTimeZone": "W. Europe Standard Time",
            "originalEndTimeZone": "W. Europe Standard Time",
            "start": {"dateTime": start, "timeZone": zone},
            "end": {"dateTime": end, "timeZone": zone}}
    meeting = to_meeting(item, ZoneInfo("America/Chicago"), EMAIL)
    assert (meeting.start_date, meeting.end_date) == (date(2026, 12, 4), date(2026, 12, 6))
    assert meeting.start == datetime(2026, 12, 4, tzinfo=ZoneInfo("America/Chicago"))
