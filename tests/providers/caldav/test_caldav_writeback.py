"""A CalDAV account through calsync's sync and outbox, against real servers: a planned
follow-up lands in the written calendar once, a move made by another client moves it here,
calsync's next change is written over it with the ETag that sync read, and a deletion there
cancels it here."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from calsync.config import Settings
from calsync.jobs import sync
from calsync.models import FollowUp, Meeting, Prompt, User
from calsync.services import answers, caldav_connect
from calsync.services.answers import Answer, NextStep
from tests.servers.caldav_servers import CaldavServer


def ended_call(uid: str) -> str:
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    stamp = "%Y%m%dT%H%M%SZ"
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\n"
            f"UID:{uid}\r\nDTSTAMP:20250101T000000Z\r\nDTSTART:{start:{stamp}}\r\n"
            f"DTEND:{start + timedelta(hours=1):{stamp}}\r\nSUMMARY:Demo with Acme\r\n"
            "ATTENDEE;CN=Bo:mailto:bo@acme.example\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")


def followups_in(server: CaldavServer, calendar: str) -> list[str]:
    return [name for name in server.items(calendar) if name != "demo.ics"]


def plan(session: Session, settings: Settings, user: User, days: int, note: str) -> FollowUp:
    prompt = session.scalar(select(Prompt).where(Prompt.meeting_id.is_not(None)))
    assert prompt is not None
    step = NextStep("Send pricing", datetime.now(UTC).replace(second=0, microsecond=0)
                    + timedelta(days=days), 30, "email")
    result = answers.answer_prompt(session, settings, session.get(User, user.id), prompt,
                                   Answer("next_step", note=note, next_step=step))
    assert result.followup is not None
    session.expire_all()
    return result.followup


def test_followups_round_trip_through_a_caldav_calendar(
        db_session: Session, settings: Settings, user: User,
        caldav_server: CaldavServer) -> None:
    caldav_server.put("work", "demo", ended_call("demo"))
    source = caldav_connect.connect(db_session, settings, db_session.get(User, user.id),
                                    url=caldav_server.base_url,
                                    username=caldav_server.username,
                                    password=caldav_server.password)
    written_to = source.options["calendar_written"]
    followup = plan(db_session, settings, user, days=3, note="Wants numbers")
    assert followup.write_status == "written", followup.write_error
    name = f"{followup.remote_event_id}.ics"
    calendar = next(c for c, url in caldav_server.calendars.items() if url == written_to)
    assert followups_in(caldav_server, calendar) == [name]
    url = written_to + name
    text, etag = caldav_server.get(url)
    assert f"X-CALSYNC-FOLLOWUP:{followup.uid}" in text and followup.remote_etag == etag

    # Moved two hours later on a phone: the next sync moves the follow-up, imports nothing.
    moved = followup.start + timedelta(hours=2)
    stamp = "%Y%m%dT%H%M%SZ"
    caldav_server.put(calendar, followup.remote_event_id, text.replace(
        f"DTSTART:{followup.start.astimezone(UTC):{stamp}}", f"DTSTART:{moved:{stamp}}").replace(
        f"DTEND:{followup.end.astimezone(UTC):{stamp}}",
        f"DTEND:{moved + timedelta(minutes=30):{stamp}}"))
    report = sync.sync_source(db_session, settings, source.id)
    assert report.result == "ok", report.error
    db_session.expire_all()
    followup = db_session.get(FollowUp, followup.id)
    assert followup is not None and followup.start == moved
    assert db_session.scalar(select(func.count()).select_from(Meeting)) == 1
    assert followups_in(caldav_server, calendar) == [name]

    # A new answer moves it again from calsync: If-Match on the ETag the sync stored.
    followup = plan(db_session, settings, user, days=5, note="Call instead")
    assert followup.write_status == "written", followup.write_error
    text, _etag = caldav_server.get(url)
    assert f"DTSTART:{followup.start.astimezone(UTC):{stamp}}" in text and "Call instead" in text
    assert followups_in(caldav_server, calendar) == [name]

    # Deleted there: cancelled here, and nothing is left to delete.
    caldav_server.delete(url)
    report = sync.sync_source(db_session, settings, source.id)
    assert report.result == "ok", report.error
    db_session.expire_all()
    followup = db_session.get(FollowUp, followup.id)
    assert followup is not None and followup.status == "cancelled"
    assert followups_in(caldav_server, calendar) == []
