"""Follow-ups written back to Google through the outbox and the real provider: inserted once
under the derived id (a retried insert adopts its own event, never a stranger's), patched
with If-Match (a 412 re-reads and retries), deleted idempotently, and changes made in Google
flow back on the next sync."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from calsync import providers
from calsync.config import Settings
from calsync.emulator import GoogleEmulator
from calsync.jobs import effects, sync, writeback
from calsync.models import FollowUp, OutboxEntry, Prompt, Source, User
from calsync.providers.base import FOLLOWUP_MARK
from calsync.services import answers
from calsync.services.answers import Answer, NextStep
from calsync.services.credentials import source_ref
from tests.providers.google.gcal import EMAIL, hour, timed

BUYER = {"email": "buyer@prospect.example", "responseStatus": "accepted"}


@pytest.fixture
def prompt(db_session: Session, settings: Settings, emulator: GoogleEmulator,
           google_source: Source) -> Prompt:
    """A prompt about a meeting that ended yesterday, read from Google."""
    emulator.add_event(EMAIL, timed(hour(days=-1), summary="Discovery", attendees=[BUYER]))
    sync.sync_source(db_session, settings, google_source.id)
    found = db_session.scalar(select(Prompt))
    assert found is not None
    return found


def plan(session: Session, settings: Settings, user: User, prompt: Prompt,
         days: int = 3) -> FollowUp:
    step = NextStep("Send pricing", hour(days=days, at=14), 30, "email")
    result = answers.answer_prompt(session, settings, session.get(User, user.id), prompt,
                                   Answer("next_step", note="Wants numbers", next_step=step))
    assert result.followup is not None
    session.expire_all()
    return result.followup


def written(emulator: GoogleEmulator) -> list[dict]:  # type: ignore[type-arg]
    return [e for e in emulator.events(EMAIL) if e["summary"] != "Discovery"]


def test_a_next_step_is_inserted_with_the_derived_id_reminder_and_mark(
        db_session, settings, user, emulator, prompt) -> None:  # type: ignore[no-untyped-def]
    followup = plan(db_session, settings, user, prompt)
    assert followup.write_status == "written", followup.write_error
    (event,) = written(emulator)
    assert event["id"] == writeback.event_id_for(followup) == followup.remote_event_id
    assert followup.remote_calendar_id == EMAIL and followup.remote_etag == event["etag"]
    assert event["extendedProperties"]["private"][FOLLOWUP_MARK] == followup.uid
    assert event["extendedProperties"]["private"]["calsync_followup_id"] == str(followup.id)
    assert event["reminders"] == {"useDefault": False, "overrides": [
        {"method": "popup", "minutes": settings.reminder_minutes}]}
    assert event["start"]["timeZone"] == "Europe/Berlin"
    assert datetime.fromisoformat(event["start"]["dateTime"]) == followup.start
    assert "Wants numbers" in event["description"] and event["status"] == "confirmed"

    # The next sync sees calsync's own event and does not import it as a meeting.
    report = sync.sync_source(db_session, settings, followup.target_source_id)
    assert report.result == "ok" and report.added == 0


def test_a_retried_insert_after_a_crash_adopts_its_own_event(
        db_session, settings, user, emulator, prompt, sleeps) -> None:  # type: ignore[no-untyped-def]
    emulator.fail_next(6, 503, "backendError", path_contains="/events")
    followup = plan(db_session, settings, user, prompt)
    entry = db_session.scalar(select(OutboxEntry))
    assert entry is not None and entry.status == "pending" and followup.remote_event_id is None

    # The worker inserted the event, then died before noting where it went.
    source = db_session.get(Source, followup.target_source_id)
    provider = providers.load("google")(settings)
    event = writeback.outgoing_event(db_session, settings, followup, source)
    provider.write_event(source_ref(settings, source), event)
    assert len(written(emulator)) == 1

    effects.process(db_session, settings, entry.id, now=datetime.now(UTC) + timedelta(hours=1))
    db_session.refresh(followup)
    assert entry.status == "done" and followup.write_status == "written"
    assert [e["id"] for e in written(emulator)] == [followup.remote_event_id]
    methods = [r.method for r in emulator.requests if "/events" in r.path][-3:]
    assert methods == ["POST", "GET", "PATCH"]  # 409, read it, adopt it


def test_an_unrelated_event_holding_the_id_is_left_alone(
        db_session, settings, user, emulator, prompt, google_source) -> None:  # type: ignore[no-untyped-def]
    # The first write meets an outage; meanwhile an event calsync did not write takes its id.
    emulator.fail_next(6, 503, "backendError", path_contains="/events")
    followup = plan(db_session, settings, user, prompt)
    emulator.add_event(EMAIL, {**timed(hour(days=9)), "id": writeback.event_id_for(followup),
                               "summary": "Somebody else's"})
    entry = db_session.scalar(select(OutboxEntry))
    effects.process(db_session, settings, entry.id, now=datetime.now(UTC) + timedelta(hours=1))
    db_session.refresh(followup)
    assert entry.status == "failed" and followup.write_status == "failed"
    assert "unrelated event" in followup.write_error
    (stranger,) = written(emulator)
    assert stranger["summary"] == "Somebody else's"


def test_changes_patch_with_if_match_and_a_412_rereads(
        db_session, settings, user, emulator, prompt) -> None:  # type: ignore[no-untyped-def]
    followup = plan(db_session, settings, user, prompt)
    first_etag = followup.remote_etag
    followup = plan(db_session, settings, user, prompt, days=5)
    assert followup.write_status == "written" and followup.remote_etag != first_etag
    (event,) = written(emulator)
    assert datetime.fromisoformat(event["start"]["dateTime"]) == hour(days=5, at=14)
    assert [r.method for r in emulator.requests][-1] == "PATCH"

    # Someone edits the event in Google: calsync's stored etag is now stale.
    emulator.update_event(EMAIL, event["id"], {"location": "Their office"})
    before = len(emulator.requests)
    followup = plan(db_session, settings, user, prompt, days=6)
    assert followup.write_status == "written", followup.write_error
    assert [r.method for r in emulator.requests[before:]] == ["PATCH", "GET", "PATCH"]
    (event,) = written(emulator)
    assert datetime.fromisoformat(event["start"]["dateTime"]) == hour(days=6, at=14)
    assert event["location"] == "Their office" and followup.remote_etag == event["etag"]


def test_cancelling_deletes_the_event_and_deleting_twice_is_fine(
        db_session, settings, user, emulator, prompt) -> None:  # type: ignore[no-untyped-def]
    followup = plan(db_session, settings, user, prompt)
    event_id = followup.remote_event_id
    answers.answer_prompt(db_session, settings, db_session.get(User, user.id), prompt,
                          Answer("yes"))
    db_session.expire_all()
    followup = db_session.get(FollowUp, followup.id)
    assert followup.status == "cancelled" and followup.write_status == "written"
    assert written(emulator) == []
    source = db_session.get(Source, followup.target_source_id)
    provider = providers.load("google")(settings)
    provider.delete_event(source_ref(settings, source), EMAIL, event_id)  # 410: done
    provider.delete_event(source_ref(settings, source), EMAIL, "neverexisted1")  # 404: done


def test_moved_in_google_moves_the_follow_up_and_deleted_cancels_it(
        db_session, settings, user, emulator, prompt) -> None:  # type: ignore[no-untyped-def]
    followup = plan(db_session, settings, user, prompt)
    moved = hour(days=4, at=9)
    emulator.update_event(EMAIL, followup.remote_event_id, {
        "start": {"dateTime": moved.isoformat()},
        "end": {"dateTime": (moved + timedelta(minutes=30)).isoformat()}})
    report = sync.sync_source(db_session, settings, followup.target_source_id)
    db_session.expire_all()
    followup = db_session.get(FollowUp, followup.id)
    assert report.result == "ok" and report.added == 0
    assert followup.start == moved and followup.sequence == 1
    assert followup.remote_etag == written(emulator)[0]["etag"]

    emulator.delete_event(EMAIL, followup.remote_event_id)
    sync.sync_source(db_session, settings, followup.target_source_id)
    db_session.expire_all()
    followup = db_session.get(FollowUp, followup.id)
    assert followup.status == "cancelled"
    pending = db_session.scalars(select(OutboxEntry).where(OutboxEntry.status == "pending"))
    assert list(pending) == []


def test_a_move_made_in_google_survives_a_later_change_of_the_note(
        db_session, settings, user, emulator, prompt) -> None:  # type: ignore[no-untyped-def]
    followup = plan(db_session, settings, user, prompt)
    (event,) = written(emulator)
    moved = hour(days=4, at=9)
    emulator.update_event(EMAIL, event["id"], {
        "start": {"dateTime": moved.isoformat()},
        "end": {"dateTime": (moved + timedelta(minutes=30)).isoformat()}})

    # Before any sync sees the move, the user edits the note in calsync (same time).
    step = NextStep("Send pricing", followup.start, 30, "email")
    answers.answer_prompt(db_session, settings, db_session.get(User, user.id), prompt,
                          Answer("next_step", note="Wants numbers for 40 seats",
                                 next_step=step))
    db_session.expire_all()
    (event,) = written(emulator)
    assert "40 seats" in event["description"]
    assert datetime.fromisoformat(event["start"]["dateTime"]) == moved  # not undone

    google_source = db_session.get(Source, followup.target_source_id)
    sync.sync_source(db_session, settings, google_source.id)
    db_session.expire_all()
    assert db_session.get(FollowUp, followup.id).start == moved  # and calsync follows it
