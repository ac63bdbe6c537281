"""A Microsoft source through calsync's sync and outbox: meetings and prompts read from
Outlook, a next step written once (a retry after a crash finds its event by transactionId),
moved or deleted in Outlook and followed here, a revoked grant that keeps every meeting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from calsync import providers
from calsync.config import Settings
from calsync.emulator.microsoft import MicrosoftEmulator
from calsync.jobs import effects, sync, writeback
from calsync.models import FollowUp, Meeting, OutboxEntry, Prompt, Source, User
from calsync.services import answers
from calsync.services.answers import Answer, NextStep
from calsync.services.credentials import source_ref
from tests.microsoft.mscal import hour, timed
from tests.servers.microsoft import EMAIL

BUYER = {"type": "required", "status": {"response": "accepted"},
         "emailAddress": {"address": "buyer@prospect.example", "name": "Buyer"}}


def calendar(emulator: MicrosoftEmulator) -> str:
    return emulator.calendar_ids(EMAIL)[0]


@pytest.fixture
def prompt(db_session: Session, settings: Settings, emulator: MicrosoftEmulator,
           microsoft_source: Source) -> Prompt:
    """A prompt about a meeting that ended yesterday, read from Outlook."""
    emulator.add_event(calendar(emulator), timed(hour(-1), subject="Discovery",
                                                 attendees=[BUYER]))
    report = sync.sync_source(db_session, settings, microsoft_source.id)
    assert report.result == "ok", report.error
    found = db_session.scalar(select(Prompt))
    assert found is not None
    return found


def plan(session: Session, settings: Settings, user: User, prompt: Prompt,
         days: int = 3) -> FollowUp:
    step = NextStep("Send pricing", hour(days, at=14), 30, "email")
    result = answers.answer_prompt(session, settings, session.get(User, user.id), prompt,
                                   Answer("next_step", note="Wants numbers", next_step=step))
    assert result.followup is not None
    session.expire_all()
    return result.followup


def written(emulator: MicrosoftEmulator) -> list[dict[str, Any]]:
    return [e for e in emulator.events(calendar(emulator)) if e["subject"] != "Discovery"]


def test_a_next_step_is_written_once_and_not_read_as_a_meeting(
        db_session: Session, settings: Settings, user: User, emulator: MicrosoftEmulator,
        prompt: Prompt) -> None:
    assert prompt.meeting is not None and prompt.meeting.title == "Discovery"
    followup = plan(db_session, settings, user, prompt)
    assert followup.write_status == "written", followup.write_error
    (event,) = written(emulator)
    assert event["id"] == followup.remote_event_id and event["@odata.etag"] == followup.remote_etag
    assert event["transactionId"] == f"calsync-{followup.uid}"
    assert event["reminderMinutesBeforeStart"] == settings.reminder_minutes
    assert "Wants numbers" in event["body"]["content"]
    report = sync.sync_source(db_session, settings, followup.target_source_id)
    assert report.result == "ok" and report.added == 0
    titles = set(db_session.scalars(select(Meeting.title)))
    assert titles == {"Discovery"}


def test_a_retry_after_a_crash_finds_its_event(
        db_session: Session, settings: Settings, user: User, emulator: MicrosoftEmulator,
        prompt: Prompt) -> None:
    emulator.fail_next(3, 503, path_contains="/events")
    followup = plan(db_session, settings, user, prompt)
    entry = db_session.scalar(select(OutboxEntry))
    assert entry is not None and entry.status == "pending" and followup.remote_event_id is None

    # The worker created the event, then died before noting where it went.
    source = db_session.get(Source, followup.target_source_id)
    assert source is not None
    provider = providers.load("microsoft")(settings)
    provider.write_event(source_ref(settings, source),
                         writeback.outgoing_event(db_session, settings, followup, source))
    effects.process(db_session, settings, entry.id, now=datetime.now(UTC) + timedelta(hours=1))
    db_session.refresh(followup)
    assert entry.status == "done" and followup.write_status == "written"
    assert [e["id"] for e in written(emulator)] == [followup.remote_event_id]


def test_moved_in_outlook_moves_the_follow_up_and_deleted_cancels_it(
        db_session: Session, settings: Settings, user: User, emulator: MicrosoftEmulator,
        prompt: Prompt) -> None:
    followup = plan(db_session, settings, user, prompt)
    moved = hour(4, at=9)
    body = timed(moved)
    emulator.update_event(calendar(emulator), str(followup.remote_event_id),
                          {"start": body["start"], "end": body["end"]})
    report = sync.sync_source(db_session, settings, followup.target_source_id)
    db_session.expire_all()
    followup = db_session.get(FollowUp, followup.id)  # type: ignore[assignment]
    assert report.result == "ok" and report.added == 0
    assert followup.start == moved and followup.sequence == 1
    assert followup.remote_etag == written(emulator)[0]["@odata.etag"]

    # A change of the note afterwards keeps the time the user moved it to.
    step = NextStep("Send pricing", followup.start, 30, "email")
    answers.answer_prompt(db_session, settings, db_session.get(User, user.id), prompt,
                          Answer("next_step", note="40 seats", next_step=step))
    (event,) = written(emulator)
    assert "40 seats" in event["body"]["content"]
    assert event["start"]["dateTime"].startswith(body["start"]["dateTime"])

    emulator.delete_event(calendar(emulator), str(followup.remote_event_id))
    sync.sync_source(db_session, settings, followup.target_source_id)
    db_session.expire_all()
    assert db_session.get(FollowUp, followup.id).status == "cancelled"  # type: ignore[union-attr]
    pending = db_session.scalars(select(OutboxEntry).where(OutboxEntry.status == "pending"))
    assert list(pending) == []


def test_a_revoked_grant_needs_reconnect_and_keeps_every_meeting(
        db_session: Session, settings: Settings, emulator: MicrosoftEmulator,
        microsoft_source: Source) -> None:
    emulator.add_event(calendar(emulator), timed(hour(1), subject="Pricing"))
    assert sync.sync_source(db_session, settings, microsoft_source.id).result == "ok"
    emulator.revoke_grant(EMAIL)
    report = sync.sync_source(db_session, settings, microsoft_source.id)
    db_session.expire_all()
    source = db_session.get(Source, microsoft_source.id)
    assert report.result == "error" and source is not None
    assert source.status == "needs_reconnect" and source.next_sync_at is None
    assert [m.status for m in db_session.scalars(select(Meeting))] == ["confirmed"]


def test_cancelled_after_an_unrecorded_create_leaves_no_event(
        db_session: Session, settings: Settings, user: User, emulator: MicrosoftEmulator,
        prompt: Prompt) -> None:
    emulator.fail_next(3, 503, path_contains="/events")
    followup = plan(db_session, settings, user, prompt)
    source = db_session.get(Source, followup.target_source_id)
    assert source is not None and followup.remote_event_id is None
    # The worker created the event and died; then the user changed the answer.
    providers.load("microsoft")(settings).write_event(
        source_ref(settings, source), writeback.outgoing_event(db_session, settings, followup,
                                                               source))
    answers.answer_prompt(db_session, settings, db_session.get(User, user.id), prompt,
                          Answer("yes"))
    for entry in db_session.scalars(select(OutboxEntry).where(OutboxEntry.status == "pending")):
        effects.process(db_session, settings, entry.id,
                        now=datetime.now(UTC) + timedelta(hours=1))
    db_session.expire_all()
    assert db_session.get(FollowUp, followup.id).status == "cancelled"  # type: ignore[union-attr]
    assert written(emulator) == []
