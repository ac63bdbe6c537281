"""Follow-ups reach the user's writable calendar through the outbox: written once, updated,
deleted, retried with backoff, shown as failed, and moved or cancelled from the calendar."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from calsync.errors import SourceError
from calsync.jobs import effects, outbox, sync, writeback
from calsync.models import FollowUp, OutboxEntry, Prompt, Source, User
from calsync.providers.base import FOLLOWUP_MARK
from calsync.services import answers
from calsync.services.answers import Answer, NextStep
from tests.plugins import memory
from tests.test_sync import NOW, meeting

WRITABLE = "tests.plugins.memory:WritableMemoryProvider"


@pytest.fixture
def source(db_session: Session, settings, user: User) -> Iterator[Source]:  # type: ignore[no-untyped-def]
    row = Source(user_id=user.id, kind=WRITABLE, name="work", url="",
                 options={"calendar_written": "primary"}, cursor={}, warnings=[],
                 next_sync_at=NOW)
    db_session.add(row)
    db_session.commit()
    memory.CALENDARS[row.id] = [meeting("demo")]
    sync.sync_source(db_session, settings, row.id, now=NOW)
    yield row
    memory.CALENDARS.pop(row.id, None)
    memory.WRITTEN.pop(row.id, None)
    memory.INSERTS.pop(row.id, None)
    memory.WRITE_FAILURES.clear()


def plan(session: Session, settings, user: User, days: int = 3) -> FollowUp:  # type: ignore[no-untyped-def]
    prompt = session.scalar(select(Prompt).where(Prompt.meeting_id.is_not(None)))
    step = NextStep("Send pricing", NOW + timedelta(days=days), 30, "email")
    result = answers.answer_prompt(session, settings, session.get(User, user.id), prompt,
                                   Answer("next_step", note="Wants numbers", next_step=step))
    assert result.followup is not None
    session.expire_all()
    return result.followup


def test_a_next_step_is_written_once_with_a_derived_id(db_session, settings, user,
                                                       source) -> None:
    followup = plan(db_session, settings, user)
    assert followup.write_status == "written"
    (event_id, event), = memory.WRITTEN[source.id].items()
    assert event_id == writeback.event_id_for(followup) == followup.remote_event_id
    assert set(event_id) <= set("0123456789abcdefghijklmnopqrstuv") and len(event_id) >= 5
    assert event.private_properties[FOLLOWUP_MARK] == followup.uid
    assert "Wants numbers" in event.description and "/deals/" in event.description
    assert event.reminder_minutes == settings.reminder_minutes
    assert event.timezone == "Europe/Berlin"

    # A duplicate delivery of the same entry does nothing new.
    entry = db_session.scalar(select(OutboxEntry))
    assert entry.status == "done"
    assert effects.process(db_session, settings, entry.id) is None
    assert len(memory.WRITTEN[source.id]) == 1
    assert memory.INSERTS[source.id] == [event_id]  # inserted once, never again


def test_changes_and_cancellation_follow(db_session, settings, user, source) -> None:
    followup = plan(db_session, settings, user)
    first_start = followup.start
    plan(db_session, settings, user, days=5)  # change the answer: the same event moves
    (event,) = memory.WRITTEN[source.id].values()
    assert event.start == first_start + timedelta(days=2)
    assert event.etag  # the update carries what the last write returned
    assert memory.INSERTS[source.id] == [event.event_id]  # moved, not inserted again

    prompt = db_session.scalar(select(Prompt).where(Prompt.meeting_id.is_not(None)))
    answers.answer_prompt(db_session, settings, db_session.get(User, user.id), prompt,
                          Answer("yes", after_sale=()))
    assert memory.WRITTEN[source.id] == {}
    db_session.expire_all()
    assert db_session.get(FollowUp, followup.id).write_status == "written"


def test_transient_failures_retry_then_fail_visibly(db_session, settings, user,
                                                    source) -> None:
    memory.WRITE_FAILURES.extend([SourceError("Rate limit exceeded.", transient=True)] * 2)
    before = datetime.now(UTC)
    followup = plan(db_session, settings, user)
    assert followup.write_status == "pending" and "Rate limit" in followup.write_error
    entry = db_session.scalar(select(OutboxEntry))
    assert entry.attempts == 1
    assert timedelta(seconds=0.7) < entry.next_attempt_at - before < timedelta(seconds=30)

    later = entry.next_attempt_at + timedelta(seconds=1)
    effects.process(db_session, settings, entry.id, now=later)  # second failure
    assert entry.attempts == 2 and entry.status == "pending"
    effects.process(db_session, settings, entry.id, now=later + timedelta(minutes=2))
    db_session.refresh(followup)
    assert entry.status == "done" and followup.write_status == "written"
    assert len(memory.WRITTEN[source.id]) == 1
    assert memory.INSERTS[source.id] == [followup.remote_event_id]  # retried, inserted once

    memory.WRITE_FAILURES.append(SourceError("The calendar was deleted."))
    plan(db_session, settings, user, days=6)
    db_session.refresh(followup)
    failed = db_session.scalar(select(OutboxEntry).where(OutboxEntry.status == "failed"))
    assert failed is not None and followup.write_status == "failed"
    assert followup.write_error == "The calendar was deleted."

    outbox.retry(db_session, failed)
    db_session.commit()
    effects.process(db_session, settings, failed.id, now=NOW + timedelta(days=1))
    db_session.refresh(followup)
    assert followup.write_status == "written"


def test_moved_and_deleted_in_the_calendar_flow_back(db_session, settings, user,
                                                     source) -> None:
    followup = plan(db_session, settings, user)
    mine = {FOLLOWUP_MARK: followup.uid, "etag": '"9"'}
    moved_start = followup.start + timedelta(hours=2)
    own = meeting(followup.remote_event_id, rid="")
    own = type(own)(**{**own.__dict__, "start": moved_start,
                       "end": moved_start + timedelta(minutes=30), "extra": mine})
    memory.CALENDARS[source.id] = [meeting("demo"), own]
    report = sync.sync_source(db_session, settings, source.id, now=NOW + timedelta(minutes=1))
    db_session.refresh(followup)
    assert report.added == 0  # calsync's own event is never imported as a meeting
    assert followup.start == moved_start and followup.sequence == 1
    assert followup.remote_etag == '"9"'

    gone = type(own)(**{**own.__dict__, "status": "cancelled"})
    memory.CALENDARS[source.id] = [meeting("demo"), gone]
    sync.sync_source(db_session, settings, source.id, now=NOW + timedelta(minutes=2))
    db_session.refresh(followup)
    assert followup.status == "cancelled"
    pending = db_session.scalars(select(OutboxEntry).where(OutboxEntry.status == "pending"))
    assert list(pending) == []  # nothing to delete there: it is already gone


def test_a_read_older_than_calsync_s_own_write_says_nothing_of_that_follow_up(
        db_session, settings, user, source) -> None:  # type: ignore[no-untyped-def]
    """A sync whose read began before calsync's write of a follow-up landed may have caught
    the calendar mid-change: its "deleted there" or "moved there" is not acted on; a read
    begun after the write is."""
    followup = plan(db_session, settings, user)
    landed = db_session.scalar(select(OutboxEntry.done_at).where(
        OutboxEntry.followup_id == followup.id))
    assert landed is not None
    key = (followup.remote_event_id, "")
    _left, deletions = writeback.apply_own_events(
        db_session, source, [], [key], read_started=landed - timedelta(milliseconds=50))
    assert followup.status == "planned" and deletions == set()
    writeback.apply_own_events(db_session, source, [], [key],
                               read_started=landed + timedelta(milliseconds=50))
    assert followup.status == "cancelled"


def test_a_write_under_way_holds_a_deletion_back_and_one_waiting_to_retry_does_not(
        db_session, settings, user, source) -> None:  # type: ignore[no-untyped-def]
    followup = plan(db_session, settings, user)
    key = (followup.remote_event_id, "")
    read_started = datetime.now(UTC)
    followup.write_leased_until = read_started + timedelta(minutes=1)  # a worker writes it
    db_session.flush()
    writeback.apply_own_events(db_session, source, [], [key], read_started)
    assert followup.status == "planned"
    # Only waiting (a failed attempt to retry later): the deletion there still cancels it,
    # so the retry takes nothing back into the calendar.
    followup.write_leased_until = None
    db_session.flush()
    writeback.apply_own_events(db_session, source, [], [key], read_started)
    assert followup.status == "cancelled"


def test_a_deletion_calsync_made_itself_says_nothing_of_a_follow_up_planned_again(
        db_session, settings, user, source) -> None:  # type: ignore[no-untyped-def]
    """Cancelled, its event deleted by calsync, then planned again: a read that still finds
    the event gone saw calsync's own delete (no ETag since), not the user's, so the
    follow-up stays planned for its write; once written, a deletion there cancels it."""
    followup = plan(db_session, settings, user)
    key = (followup.remote_event_id, "")
    followup.remote_etag = None  # as calsync's delete leaves it
    db_session.flush()
    later = datetime.now(UTC) + timedelta(seconds=1)
    writeback.apply_own_events(db_session, source, [], [key], read_started=later)
    assert followup.status == "planned"
    followup.remote_etag = '"7"'  # written again
    db_session.flush()
    writeback.apply_own_events(db_session, source, [], [key], read_started=later)
    assert followup.status == "cancelled"


def test_an_event_still_there_for_a_cancelled_follow_up_is_taken_back(
        db_session, settings, user, source) -> None:  # type: ignore[no-untyped-def]
    """A cancellation whose delete never reached the calendar (a worker's write overtook
    it, or a read mistook the event for deleted): the next read that finds the event
    still there deletes it, once; a delete that failed for good is not tried again."""
    followup = plan(db_session, settings, user)
    followup.cancel(NOW)  # cancelled, with no delete recorded
    db_session.commit()
    planned_at = followup.start
    own = meeting(followup.remote_event_id, rid="")
    own = type(own)(**{**own.__dict__, "extra": {FOLLOWUP_MARK: followup.uid, "etag": '"1"'}})
    memory.CALENDARS[source.id] = [meeting("demo"), own]
    assert list(memory.WRITTEN[source.id]) == [followup.remote_event_id]

    sync.sync_source(db_session, settings, source.id, now=NOW + timedelta(minutes=1))
    db_session.refresh(followup)
    assert memory.WRITTEN[source.id] == {}
    assert followup.status == "cancelled" and followup.start == planned_at != own.start
    assert followup.write_status == "written"

    followup.write_status = "failed"  # e.g. the calendar refused calsync's delete for good
    db_session.commit()
    entries = db_session.scalar(select(func.count(OutboxEntry.id)))
    sync.sync_source(db_session, settings, source.id, now=NOW + timedelta(minutes=2))
    assert db_session.scalar(select(func.count(OutboxEntry.id))) == entries


def test_read_only_sources_make_follow_ups_not_applicable(db_session, settings, user,
                                                          source) -> None:
    source.options = {}
    db_session.commit()
    followup = plan(db_session, settings, user)
    assert followup.write_status == "not_applicable"
    assert db_session.scalar(select(OutboxEntry)) is None


def test_cancelling_after_a_lost_bookkeeping_still_deletes_the_event(db_session, settings,
                                                                     user, source) -> None:
    """A worker killed after the insert but before recording the id: the derived id finds it."""
    followup = plan(db_session, settings, user)
    followup.remote_event_id = followup.remote_calendar_id = followup.remote_etag = None
    db_session.commit()
    prompt = db_session.scalar(select(Prompt).where(Prompt.meeting_id.is_not(None)))
    answers.answer_prompt(db_session, settings, db_session.get(User, user.id), prompt,
                          Answer("no", no_reason="no_budget"))
    assert memory.WRITTEN[source.id] == {}


def test_removing_the_calendar_fails_its_waiting_writes_visibly(db_session, settings, user,
                                                                source) -> None:
    from calsync.services import sources as sources_service
    memory.WRITE_FAILURES.append(SourceError("Google is busy.", transient=True))
    followup = plan(db_session, settings, user)
    assert followup.write_status == "pending"
    sources_service.delete_source(db_session, source)
    db_session.refresh(followup)
    assert followup.write_status == "failed" and "was removed" in followup.write_error
