"""A Google source through calsync's sync: a 410 resyncs in full without duplicates, deletions
arrive incrementally, a revoked grant keeps every meeting, declined meetings get no prompt,
and refreshed tokens are sealed again."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from calsync import crypto
from calsync.config import Settings
from calsync.emulator import GoogleEmulator
from calsync.jobs import sync
from calsync.models import Meeting, Prompt, Source
from tests.providers.google.gcal import EMAIL, hour, lists, timed

BUYER = {"email": "buyer@prospect.example", "responseStatus": "accepted"}


def run(session: Session, settings: Settings, source: Source) -> sync.SyncReport:
    report = sync.sync_source(session, settings, source.id)
    session.expire_all()
    return report


def stored(session: Session, source: Source) -> dict[tuple[str, str], Meeting]:
    rows = session.scalars(select(Meeting).where(Meeting.source_id == source.id))
    return {(m.uid, m.recurrence_id): m for m in rows}


def test_expired_sync_token_resyncs_in_full_without_duplicates(
        db_session: Session, settings: Settings, emulator: GoogleEmulator,
        google_source: Source) -> None:
    series = emulator.add_event(EMAIL, {**timed(hour(days=1), summary="Daily stand-up"),
                                        "recurrence": ["RRULE:FREQ=DAILY;COUNT=5"]})
    single = emulator.add_event(EMAIL, timed(hour(days=2), summary="Pricing"))
    report = run(db_session, settings, google_source)
    assert (report.result, report.added) == ("ok", 6)

    emulator.expire_sync_tokens()
    emulator.delete_event(EMAIL, single["id"])  # gone while the token was invalid
    emulator.add_event(EMAIL, timed(hour(days=3), summary="New"))
    before = len(lists(emulator))
    report = run(db_session, settings, google_source)
    assert report.result == "ok", report.error
    assert (report.added, report.cancelled) == (1, 1)
    calls = lists(emulator)[before:]
    assert "syncToken" in calls[0].query and "timeMin" in calls[1].query
    rows = stored(db_session, google_source)
    assert len(rows) == 7
    assert db_session.scalar(select(func.count()).select_from(Meeting)) == 7
    assert rows[(single["id"], "")].status == "cancelled"
    assert sum(1 for key in rows if key[0] == series["id"]) == 5

    report = run(db_session, settings, google_source)  # incremental again, nothing new
    assert report.result == "unchanged"
    assert "syncToken" in lists(emulator)[-1].query


def test_incremental_deletions_cancel_meetings(db_session: Session, settings: Settings,
                                               emulator: GoogleEmulator,
                                               google_source: Source) -> None:
    series = emulator.add_event(EMAIL, {**timed(hour(days=1), summary="Daily"),
                                        "recurrence": ["RRULE:FREQ=DAILY;COUNT=3"]})
    other = emulator.add_event(EMAIL, {**timed(hour(days=1, at=15), summary="Weekly"),
                                       "recurrence": ["RRULE:FREQ=WEEKLY;COUNT=2"]})
    run(db_session, settings, google_source)
    second_day = (hour(days=2)).strftime("%Y%m%dT%H%M%SZ")
    emulator.delete_event(EMAIL, f"{series['id']}_{second_day}")
    emulator.delete_event(EMAIL, other["id"])
    report = run(db_session, settings, google_source)
    assert report.result == "ok" and report.cancelled == 3
    statuses = {key: m.status for key, m in stored(db_session, google_source).items()}
    assert sorted(statuses.values()).count("cancelled") == 3
    assert statuses[(series["id"], hour(days=2).strftime("%Y-%m-%dT%H:%M:%SZ"))] == "cancelled"
    assert statuses[(series["id"], hour(days=1).strftime("%Y-%m-%dT%H:%M:%SZ"))] == "confirmed"


def test_a_revoked_grant_needs_reconnect_and_keeps_every_meeting(
        db_session: Session, settings: Settings, emulator: GoogleEmulator,
        google_source: Source) -> None:
    emulator.add_event(EMAIL, timed(hour(days=-1), attendees=[BUYER]))
    emulator.add_event(EMAIL, timed(hour(days=1)))
    run(db_session, settings, google_source)
    emulator.revoke_grant(EMAIL)
    report = run(db_session, settings, google_source)
    source = db_session.get(Source, google_source.id)
    assert report.result == "error" and source is not None
    assert source.status == "needs_reconnect" and source.next_sync_at is None
    assert source.last_error == ("Google no longer lets calsync read this calendar: "
                                 "reconnect it.")
    assert [m.status for m in stored(db_session, google_source).values()] == ["confirmed"] * 2
    assert db_session.scalar(select(func.count()).select_from(Prompt)) == 1


def test_declined_meetings_get_no_prompt_and_links_are_kept(
        db_session: Session, settings: Settings, emulator: GoogleEmulator,
        google_source: Source) -> None:
    ended = hour(days=0) - timedelta(hours=30)
    went = emulator.add_event(EMAIL, timed(ended, summary="Went", attendees=[
        BUYER, {"email": EMAIL, "responseStatus": "accepted"}],
        hangoutLink="https://meet.google.com/aaa-bbbb-ccc"))
    emulator.add_event(EMAIL, timed(ended + timedelta(hours=2), summary="Declined", attendees=[
        BUYER, {"email": EMAIL, "responseStatus": "declined"}]))
    report = run(db_session, settings, google_source)
    assert (report.added, report.prompts) == (2, 1)
    (prompt,) = db_session.scalars(select(Prompt))
    assert prompt.meeting is not None and prompt.meeting.uid == went["id"]
    assert prompt.meeting.conference_url == "https://meet.google.com/aaa-bbbb-ccc"
    assert {"email": EMAIL, "name": "", "response": "accepted",
            "is_self": True} in prompt.meeting.attendees


def test_refreshed_tokens_are_sealed_again(db_session: Session, settings: Settings,
                                           emulator: GoogleEmulator,
                                           google_source: Source) -> None:
    sealed = google_source.credentials
    assert sealed is not None
    old = crypto.unseal(settings, sealed)
    emulator.expire_access_tokens()
    assert run(db_session, settings, google_source).result == "ok"
    source = db_session.get(Source, google_source.id)
    assert source is not None and source.credentials is not None
    assert old["token"] not in source.credentials  # sealed, never in the clear
    new = crypto.unseal(settings, source.credentials)
    assert new["token"] != old["token"] and new["refresh_token"] == old["refresh_token"]
