"""Regression tests for the Microsoft 365 review (rev14): the account is the user (its own
meetings name the client's deal, internal ones are not prompted), all-day events east and
west of UTC keep their date, a Retry-After longer than calsync's backoff is honoured (Graph's
and Google's), and the combined CA bundle is the instance's own file, checked by content."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from calsync.config import Settings
from calsync.emulator.microsoft import MicrosoftEmulator
from calsync.errors import SourceError
from calsync.jobs import sync
from calsync.models import Deal, Prompt, Source, User
from calsync.providers import google_client
from calsync.providers.base import ReadContext, SourceRef
from calsync.providers.microsoft import MicrosoftProvider
from calsync.providers.microsoft_events import to_meeting
from calsync.providers.microsoft_graph import http_session, tls_verify
from calsync.services import answers
from calsync.services.answers import Answer, NextStep
from calsync.services.google import channels
from tests.microsoft.mscal import graph_calls, hour, timed, tokens
from tests.servers.http_files import FileServer
from tests.servers.microsoft import EMAIL

THROTTLED = (b'{"error": {"code": 429, "message": "Rate Limit Exceeded", '
             b'"errors": [{"reason": "rateLimitExceeded", "message": "Rate Limit Exceeded"}]}}')


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


def test_a_long_retry_after_is_honoured_and_pushes_meanwhile_do_not_call_graph(
        db_session: Session, settings: Settings, emulator: MicrosoftEmulator,
        microsoft_source: Source) -> None:
    emulator.fail_next(1, 429, path_contains="calendarView/delta", retry_after=300)
    before = datetime.now(UTC)
    report = sync.sync_source(db_session, settings, microsoft_source.id, before)
    assert report.result == "error" and "300 seconds" in report.error
    db_session.refresh(microsoft_source)
    assert microsoft_source.next_sync_at is not None
    assert microsoft_source.next_sync_at >= before + timedelta(seconds=300)
    assert sync.due_source_ids(db_session, before + timedelta(seconds=299)) == []

    asked = len(graph_calls(emulator))
    for _ in range(3):  # change notifications arriving during the wait
        channels.request_sync(db_session, microsoft_source.id)
    assert sync.sync_source(db_session, settings, microsoft_source.id).result == "skipped"
    assert len(graph_calls(emulator)) == asked

    later = before + timedelta(seconds=301)
    assert sync.due_source_ids(db_session, later) == [microsoft_source.id]
    assert sync.sync_source(db_session, settings, microsoft_source.id, later).result == "ok"
    assert len(graph_calls(emulator)) == asked + 1



def test_googles_retry_after_on_its_last_answer_goes_with_the_error(
        ms_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    waited: list[float] = []
    monkeypatch.setattr(google_client, "sleep", waited.append)
    expiry = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    with FileServer() as server:
        server.serve("/calendar/v3/calendars/primary/events?alt=json", THROTTLED, status=429,
                     content_type="application/json", headers={"Retry-After": "600"})
        settings = dataclasses.replace(ms_settings,
                                       google_api_endpoint=server.url("/calendar/v3/"))
        with google_client.calendar_service(settings, {"token": "t", "expiry": expiry}) as api, \
                pytest.raises(SourceError) as failed:
            google_client.execute(api.events().list(calendarId="primary"))
        assert len(server.requests) == google_client.MAX_TRIES
    assert failed.value.transient and failed.value.retry_in == timedelta(seconds=600)
    assert "in about 600 seconds" in str(failed.value)
    assert max(waited) <= google_client.MAX_DELAY


def test_the_combined_ca_bundle_is_the_instances_own_and_checked_by_content(
        ms_settings: Settings, emulator: MicrosoftEmulator, tmp_path: Path) -> None:
    path = Path(str(tls_verify(ms_settings)))
    assert path.parent == ms_settings.instance_path
    good = path.read_bytes()
    assert emulator.ca_path.read_bytes().strip() in good
    # A file already there is trusted only with the right content.
    path.write_bytes(good + b"-----BEGIN CERTIFICATE-----\nplanted\n-----END CERTIFICATE-----\n")
    assert tls_verify(ms_settings) == str(path) and path.read_bytes() == good
    # Another bundle (the demo's emulator makes a CA at each start) replaces it: one file,
    # and Graph is reached through it.
    other = tmp_path / "next-ca.pem"
    other.write_bytes(emulator.ca_path.read_bytes() + b"\n")
    settings = dataclasses.replace(ms_settings, microsoft_ca_bundle=str(other))
    with http_session(settings) as session:
        assert session.verify == str(path) and path.read_bytes().endswith(other.read_bytes())
        assert session.get(emulator.graph_endpoint + "me", timeout=10, headers={
            "Authorization": f"Bearer {tokens(emulator)['token']}"}).status_code == 200
    assert [p.name for p in ms_settings.instance_path.iterdir()] == [path.name]


def test_the_emulator_gives_all_day_bounds_as_graph_does(emulator: MicrosoftEmulator) -> None:
    day = "2026-12-04"
    made = emulator.add_event(calendar(emulator), {
        "subject": "Trade show", "isAllDay": True,
        "start": {"dateTime": f"{day}T00:00:00", "timeZone": "W. Europe Standard Time"},
        "end": {"dateTime": "2026-12-05T00:00:00", "timeZone": "W. Europe Standard Time"}})
    # In UTC, the zone calsync asks for: midnight of the date, labelled UTC, not converted.
    assert made["start"] == {"dateTime": f"{day}T00:00:00.0000000", "timeZone": "UTC"}
    assert made["end"] == {"dateTime": "2026-12-05T00:00:00.0000000", "timeZone": "UTC"}
