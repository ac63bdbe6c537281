"""The outbox's claim: the lease and the attempt are committed before the handler calls a
calendar server, so no write is held open across the call."""

from __future__ import annotations

import dataclasses
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from calsync.config import Settings
from calsync.db import get_db
from calsync.errors import SourceError
from calsync.jobs import effects, outbox, writeback
from calsync.models import FollowUp, OutboxEntry, User
from calsync.providers.base import OutgoingEvent, RemoteEvent, SourceRef
from tests.plugins import memory
from tests.test_writeback import plan, source  # noqa: F401 - the writable source fixture


@pytest.mark.usefixtures("source")
def test_the_attempt_is_committed_before_the_calendar_is_called_and_done_when_it_lands(
        db_session: Session, settings: Settings, user: User,
        monkeypatch: pytest.MonkeyPatch) -> None:
    plan(db_session, settings, user)
    entry = db_session.scalar(select(OutboxEntry))
    assert entry is not None
    entry.status, entry.attempts = "pending", 0  # due again, as after a crash
    db_session.commit()
    seen: list[tuple[int, datetime]] = []
    called: list[datetime] = []
    write = memory.WritableMemoryProvider._write_event

    def watched(provider: memory.WritableMemoryProvider, ref: SourceRef,
                event: OutgoingEvent) -> RemoteEvent:
        with get_db().session() as other:  # what every other worker sees meanwhile
            row = other.get(OutboxEntry, entry.id)
            assert row is not None
            seen.append((row.attempts, row.next_attempt_at))
        called.append(datetime.now(UTC))
        return write(provider, ref, event)

    monkeypatch.setattr(memory.WritableMemoryProvider, "_write_event", watched)
    later = datetime.now(UTC) + timedelta(hours=1)
    with get_db().session() as worker:
        effects.process(worker, settings, entry.id, now=later)
    (attempts, leased_until), = seen
    assert attempts == 1
    assert leased_until.replace(tzinfo=UTC) > later
    # Done when the write landed (a sync compares it with when its read began), not at
    # the time the claim was made with.
    db_session.refresh(entry)
    assert entry.done_at is not None
    assert called[0] <= entry.done_at.replace(tzinfo=UTC) <= datetime.now(UTC) < later


def test_a_batch_of_once_only_effects_adds_each_key_once(db_session: Session,
                                                          user: User) -> None:
    outbox.record_once(db_session, "prompt-email:1", user_id=user.id, kind="send_fax")
    db_session.commit()
    outbox.record_all_once(db_session, [
        outbox.once(key, user_id=user.id, kind="send_fax", payload={"n": n})
        for n, key in enumerate(["prompt-email:1", "summary:1", "summary:1", "prompt-email:2"])])
    db_session.flush()
    rows = db_session.execute(select(OutboxEntry.key, OutboxEntry.payload)
                              .order_by(OutboxEntry.id)).all()
    assert [(key, payload) for key, payload in rows] == [
        ("prompt-email:1", {}), ("summary:1", {"n": 1}), ("prompt-email:2", {"n": 3})]


@pytest.mark.usefixtures("source")
def test_a_write_that_outlives_its_lease_is_done_again_after_the_worker_that_took_over(
        db_session: Session, settings: Settings, user: User,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker slower than its lease: the follow-up is cancelled meanwhile and another
    worker, finding no event yet, counts the delete done; the slow write then lands. The
    slow worker sees its lease was taken and records the write again, which takes the
    event back out: the calendar ends as the follow-up is."""
    followup = plan(db_session, settings, user)
    source_id = followup.target_source_id
    assert source_id is not None
    memory.WRITTEN[source_id].clear()  # as if the first write had not landed yet
    slow = db_session.scalar(select(OutboxEntry))
    assert slow is not None
    slow.status, slow.attempts = "pending", 0  # due again, as after a crash
    db_session.commit()
    lease = timedelta(seconds=settings.outbox_lease_seconds)
    later = datetime.now(UTC) + timedelta(hours=1)
    write = memory.WritableMemoryProvider._write_event
    landed: list[bool] = []

    def outlived(provider: memory.WritableMemoryProvider, ref: SourceRef,
                 event: OutgoingEvent) -> RemoteEvent:
        with get_db().session() as other:  # meanwhile: cancelled, and the delete done
            cancelled = other.get(FollowUp, followup.id)
            assert cancelled is not None and cancelled.cancel(later)
            writeback.followup_changed(other, cancelled)
            other.commit()
            delete = other.scalar(select(OutboxEntry).where(OutboxEntry.status == "pending",
                                                            OutboxEntry.id != slow.id))
            assert delete is not None
            assert effects.process(other, settings, delete.id, now=later + lease) is not None
            assert source_id not in memory.WRITTEN or not memory.WRITTEN[source_id]
        written = write(provider, ref, event)  # and now the slow write lands
        landed.append(bool(memory.WRITTEN[source_id]))
        return written

    monkeypatch.setattr(memory.WritableMemoryProvider, "_write_event", outlived)
    with get_db().session() as worker:
        effects.process(worker, settings, slow.id, now=later)
    assert landed == [True], "the slow write landed"
    monkeypatch.undo()

    with get_db().session() as worker:
        again = worker.scalars(select(OutboxEntry.id).where(
            OutboxEntry.id > slow.id, OutboxEntry.status == "pending")).all()
        for entry_id in again:
            effects.process(worker, settings, entry_id, now=later + 2 * lease)
        assert worker.scalar(select(func.count(OutboxEntry.id))) == 3, \
            "the slow worker recorded its write again"
    assert not memory.WRITTEN[source_id], "the cancelled follow-up's event was taken out"


@pytest.mark.usefixtures("source")
def test_a_change_folded_into_an_entry_a_slow_worker_still_carries_out_is_not_lost(
        db_session: Session, settings: Settings, user: User,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker is slower than its lease, so the follow-up's cancellation reuses the
    waiting entry instead of adding one; the worker's write then lands. The entry stays due
    rather than done, and doing it again takes the event back out."""
    quick = dataclasses.replace(settings, outbox_lease_seconds=1)
    followup = plan(db_session, quick, user)
    source_id = followup.target_source_id
    assert source_id is not None
    slow = db_session.scalar(select(OutboxEntry))
    assert slow is not None
    slow.status, slow.attempts = "pending", 0  # due again, as after a crash
    slow.next_attempt_at = datetime.now(UTC)
    db_session.commit()
    write = memory.WritableMemoryProvider._write_event

    def outlived(provider: memory.WritableMemoryProvider, ref: SourceRef,
                 event: OutgoingEvent) -> RemoteEvent:
        time.sleep(1.2)  # past the lease
        with get_db().session() as other:
            cancelled = other.get(FollowUp, followup.id)
            assert cancelled is not None and cancelled.cancel(datetime.now(UTC))
            writeback.followup_changed(other, cancelled)
            other.commit()
            assert other.scalar(select(func.count(OutboxEntry.id))) == 1, "folded in"
        return write(provider, ref, event)

    monkeypatch.setattr(memory.WritableMemoryProvider, "_write_event", outlived)
    with get_db().session() as worker:
        carried = effects.process(worker, quick, slow.id)
        assert carried is not None and carried.status == "pending"
    monkeypatch.undo()
    assert memory.WRITTEN[source_id], "the slow write landed"

    with get_db().session() as worker:
        again = effects.process(worker, quick, slow.id)
        assert again is not None and again.status == "done"
    assert not memory.WRITTEN[source_id], "the cancelled follow-up's event was taken out"


@pytest.mark.usefixtures("source")
def test_a_write_the_calendar_throttles_waits_as_asked_and_still_gives_up_in_the_end(
        db_session: Session, settings: Settings, user: User) -> None:
    """Retry-After is a floor under the outbox's backoff, not a schedule of its own: a
    server that keeps throttling doesn't make the write wait forever unseen."""
    memory.WRITE_FAILURES.extend(
        SourceError("Slow down.", transient=True, retry_in=timedelta(minutes=10))
        for _ in range(outbox.MAX_ATTEMPTS))
    before = datetime.now(UTC)
    followup = plan(db_session, settings, user)  # the first attempt, throttled
    entry = db_session.scalar(select(OutboxEntry))
    assert entry is not None and entry.status == "pending"
    assert entry.next_attempt_at >= before + timedelta(minutes=10)
    for _ in range(outbox.MAX_ATTEMPTS - 1):
        now = entry.next_attempt_at
        with get_db().session() as worker:
            effects.process(worker, settings, entry.id, now=now)
        db_session.refresh(entry)
        if entry.status == "pending":
            assert entry.next_attempt_at >= now + timedelta(minutes=10)
    assert entry.status == "failed", "a write throttled every time is shown as failed"
    db_session.refresh(followup)
    assert followup.write_status == "failed" and followup.write_error == "Slow down."
