"""The outbox's claim: the lease and the attempt are committed before the handler calls a
calendar server, so no write is held open across the call."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from calsync.config import Settings
from calsync.db import get_db
from calsync.jobs import effects, outbox
from calsync.models import OutboxEntry, User
from calsync.providers.base import OutgoingEvent, RemoteEvent, SourceRef
from tests.plugins import memory
from tests.test_writeback import plan, source  # noqa: F401 - the writable source fixture


@pytest.mark.usefixtures("source")
def test_the_attempt_is_committed_before_the_calendar_is_called(
        db_session: Session, settings: Settings, user: User,
        monkeypatch: pytest.MonkeyPatch) -> None:
    plan(db_session, settings, user)
    entry = db_session.scalar(select(OutboxEntry))
    assert entry is not None
    entry.status, entry.attempts = "pending", 0  # due again, as after a crash
    db_session.commit()
    seen: list[tuple[int, datetime]] = []
    write = memory.WritableMemoryProvider._write_event

    def watched(provider: memory.WritableMemoryProvider, ref: SourceRef,
                event: OutgoingEvent) -> RemoteEvent:
        with get_db().session() as other:  # what every other worker sees meanwhile
            row = other.get(OutboxEntry, entry.id)
            assert row is not None
            seen.append((row.attempts, row.next_attempt_at))
        return write(provider, ref, event)

    monkeypatch.setattr(memory.WritableMemoryProvider, "_write_event", watched)
    later = datetime.now(UTC) + timedelta(hours=1)
    with get_db().session() as worker:
        effects.process(worker, settings, entry.id, now=later)
    (attempts, leased_until), = seen
    assert attempts == 1
    assert leased_until.replace(tzinfo=UTC) > later


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
