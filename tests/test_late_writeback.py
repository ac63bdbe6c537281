"""Follow-ups planned while no calendar could receive them are written once one can: the
upcoming ones land in a CalDAV calendar (Radicale) or Google (the emulator) connected later,
through the outbox; the past ones stay unwritten."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from calsync.config import Settings
from calsync.db import get_db
from calsync.emulator import GoogleEmulator
from calsync.models import FollowUp, Prompt, Source, User
from calsync.providers.base import FOLLOWUP_MARK
from calsync.services import answers, caldav_connect, sources
from calsync.services.answers import Answer, NextStep
from tests.conftest import PASSWORD, ApiClient
from tests.google.conftest import EMAIL, browser, google, live, round_trip, served, settings
from tests.plugins import memory
from tests.servers.caldav_servers import CaldavServer, running

# The Google flow's fixtures; its settings (pointing at the emulator) serve both tests.
__all__ = ["browser", "google", "live", "served", "settings"]

STAMP = "%Y%m%dT%H%M%SZ"
WRITABLE = "tests.plugins.memory:WritableMemoryProvider"


def ended_call(uid: str, counterpart: str) -> str:
    """A meeting with `counterpart` that ended an hour ago: a prompt is due for it."""
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    return (f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20250101T000000Z\r\n"
            f"DTSTART:{start:{STAMP}}\r\nDTEND:{start + timedelta(hours=1):{STAMP}}\r\n"
            f"SUMMARY:Demo with {counterpart}\r\n"
            f"ATTENDEE;CN=Bo:mailto:bo@{counterpart}.example\r\nEND:VEVENT\r\n")


def plan_two(session: Session, settings: Settings, user: User) -> tuple[FollowUp, FollowUp]:
    """Two follow-ups planned from meetings of an uploaded .ics (a calendar that can't
    receive them): one three days ahead, one whose time has since passed."""
    upload = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
              + ended_call("acme", "acme") + ended_call("globex", "globex")
              + "END:VCALENDAR\r\n").encode()
    sources.add_and_sync(session, user, settings, kind="ics", upload=upload)
    planned = []
    for prompt in session.scalars(select(Prompt).order_by(Prompt.id)).all():
        step = NextStep("Send pricing", datetime.now(UTC).replace(second=0, microsecond=0)
                        + timedelta(days=3), 30, "email")
        result = answers.answer_prompt(session, settings, user, prompt,
                                       Answer("next_step", next_step=step))
        assert result.followup is not None
        planned.append(result.followup)
    upcoming, past = planned
    # Its time passed while it waited (a past time can't be answered).
    past.start, past.end = (datetime.now(UTC) - timedelta(days=1),
                            datetime.now(UTC) - timedelta(days=1) + timedelta(minutes=30))
    session.commit()
    return upcoming, past


def plan_without_a_calendar(session: Session, settings: Settings,
                            user: User) -> tuple[FollowUp, FollowUp]:
    """`plan_two` while no calendar of the user's can receive follow-ups."""
    upcoming, past = plan_two(session, settings, user)
    assert {f.write_status for f in (upcoming, past)} == {"not_applicable"}
    assert {f.target_source_id for f in (upcoming, past)} == {None}
    return upcoming, past


@pytest.fixture
def radicale(tmp_path: Path) -> Iterator[CaldavServer]:
    root = tmp_path / "radicale"
    root.mkdir()
    yield from running("radicale", root, PASSWORD)


def test_connecting_caldav_writes_the_upcoming_followups_planned_before(
        db_session: Session, settings: Settings, user: User, radicale: CaldavServer) -> None:
    me = db_session.get(User, user.id)
    assert me is not None
    upcoming, past = plan_without_a_calendar(db_session, settings, me)

    source = caldav_connect.connect(db_session, settings, me, url=radicale.base_url,
                                    username=radicale.username, password=radicale.password)
    db_session.expire_all()
    written_to = source.options["calendar_written"]
    assert upcoming.target_source_id == source.id
    assert upcoming.write_status == "written", upcoming.write_error
    calendar = next(c for c, url in radicale.calendars.items() if url == written_to)
    assert radicale.items(calendar) == [f"{upcoming.remote_event_id}.ics"]
    text, _etag = radicale.get(f"{written_to}{upcoming.remote_event_id}.ics")
    assert "BEGIN:VEVENT" in text and f"X-CALSYNC-FOLLOWUP:{upcoming.uid}" in text
    assert f"DTSTART:{upcoming.start.astimezone(UTC):{STAMP}}" in text

    assert (past.target_source_id, past.write_status) == (None, "not_applicable")
    assert all(name == f"{upcoming.remote_event_id}.ics"
               for items in map(radicale.items, radicale.calendars) for name in items)


def test_connecting_google_writes_the_upcoming_followups_planned_before(
        app: Flask, settings: Settings, user: User, logged_in: FlaskClient,
        google: GoogleEmulator, served: object, browser: requests.Session) -> None:
    with app.app_context(), get_db().session() as session:
        me = session.get(User, user.id)
        assert me is not None
        upcoming, past = plan_without_a_calendar(session, settings, me)
        upcoming_id, past_id = upcoming.id, past.id

    assert round_trip(logged_in, browser, google).status_code == 302

    with app.app_context(), get_db().session() as session:
        google_source = session.scalars(select(Source).where(Source.kind == "google")).one()
        written = session.get(FollowUp, upcoming_id)
        left = session.get(FollowUp, past_id)
        assert written is not None and left is not None
        assert written.target_source_id == google_source.id
        assert written.write_status == "written", written.write_error
        [event] = [e for e in google.events(EMAIL) if e["id"] == written.remote_event_id]
        assert event["extendedProperties"]["private"][FOLLOWUP_MARK] == written.uid
        assert (left.target_source_id, left.write_status) == (None, "not_applicable")
        marks = [e.get("extendedProperties", {}).get("private", {}).get(FOLLOWUP_MARK)
                 for e in google.events(EMAIL)]
        assert left.uid not in marks


@pytest.fixture
def old_calendar(db_session: Session, user: User) -> Iterator[Source]:
    """A calendar (the tests' writable memory provider) receiving the user's follow-ups."""
    row = Source(user_id=user.id, kind=WRITABLE, name="old calendar", url="",
                 options={"calendar_written": "primary"}, cursor={}, warnings=[])
    db_session.add(row)
    db_session.commit()
    row_id = row.id
    yield row
    for kept in (memory.WRITTEN, memory.INSERTS):
        kept.pop(row_id, None)


def test_choosing_calendar_written_writes_the_followups_a_removed_calendar_had(
        db_session: Session, settings: Settings, user: User, api: ApiClient,
        old_calendar: Source, radicale: CaldavServer) -> None:
    me = db_session.get(User, user.id)
    assert me is not None
    upcoming, past = plan_two(db_session, settings, me)
    db_session.expire_all()
    assert upcoming.write_status == "written" and upcoming.remote_calendar_id == "primary"
    caldav = caldav_connect.connect(db_session, settings, me, url=radicale.base_url,
                                    username=radicale.username, password=radicale.password)
    assert all(radicale.items(c) == [] for c in radicale.calendars)  # the old one receives
    sources.delete_source(db_session, old_calendar)

    patched = api.patch(f"/api/v1/sources/{caldav.id}",
                        json={"calendar_written": radicale.calendars["work"]})
    assert patched.status_code == 200, patched.get_json()
    db_session.expire_all()
    # Written afresh: the removed calendar's event id and ETag mean nothing here.
    assert upcoming.target_source_id == caldav.id
    assert upcoming.write_status == "written", upcoming.write_error
    assert upcoming.remote_calendar_id == radicale.calendars["work"]
    assert radicale.items("work") == [f"{upcoming.remote_event_id}.ics"]
    assert radicale.items("personal") == []
    assert past.target_source_id is None
