"""The outbox: every outside effect is recorded in the transaction that causes it, then
leased by one worker at a time, retried with backoff, and finally shown as failed if it
never succeeds. What each kind of entry does is `effects`' table; this is the entries' life."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from calsync.db import rows_changed
from calsync.domain.backoff import backoff
from calsync.domain.vocabulary import OutboxStatus, WriteStatus
from calsync.models import FollowUp, OutboxEntry

MAX_ATTEMPTS = 10
FIRST_DELAY = timedelta(seconds=1)
MAX_DELAY = timedelta(seconds=60)


def record(session: Session, *, user_id: int, kind: str, followup_id: int | None = None,
           source_id: int | None = None, payload: dict[str, Any] | None = None,
           not_before: datetime | None = None) -> OutboxEntry:
    """Add an effect to do once this transaction commits (or at `not_before`); a waiting
    twin is reused, but never one a worker is carrying out right now (it may already be
    past our change). Part of the caller's unit of work."""
    twin = session.scalar(select(OutboxEntry).where(
        OutboxEntry.status == OutboxStatus.PENDING, OutboxEntry.kind == kind,
        OutboxEntry.followup_id == followup_id, OutboxEntry.source_id == source_id,
        OutboxEntry.user_id == user_id, OutboxEntry.key.is_(None)))
    now = datetime.now(UTC)
    if twin is not None and twin.payload == (payload or {}) and not _in_hand(session, twin, now):
        twin.next_attempt_at = not_before or now
        return twin
    entry = OutboxEntry(user_id=user_id, kind=kind, followup_id=followup_id,
                        source_id=source_id, payload=payload or {}, status=OutboxStatus.PENDING,
                        attempts=0, next_attempt_at=not_before or now)
    session.add(entry)
    return entry


def record_once(session: Session, key: str, *, user_id: int, kind: str,
                payload: dict[str, Any] | None = None,
                not_before: datetime | None = None) -> OutboxEntry:
    """Add an effect that must happen once ever, named by `key` ("prompt-email:42"): if
    an entry of that key exists, whatever became of it, that entry is the answer, so a
    crash and a retry of the caller never make a second. Part of the caller's unit of
    work; the key's unique constraint refuses a concurrent twin at commit."""
    existing = session.scalar(select(OutboxEntry).where(OutboxEntry.key == key))
    if existing is not None:
        return existing
    entry = once(key, user_id=user_id, kind=kind, payload=payload, not_before=not_before)
    session.add(entry)
    return entry


def once(key: str, *, user_id: int, kind: str, payload: dict[str, Any] | None = None,
         not_before: datetime | None = None) -> OutboxEntry:
    """An entry of an effect that must happen once ever, not yet added: give a batch of
    them to `record_all_once`."""
    return OutboxEntry(user_id=user_id, kind=kind, key=key, payload=payload or {},
                       status=OutboxStatus.PENDING, attempts=0,
                       next_attempt_at=not_before or datetime.now(UTC))


def record_all_once(session: Session, entries: Iterable[OutboxEntry]) -> None:
    """`record_once` for a batch in one query: each entry is added unless an entry of its
    key exists or an earlier one of the batch has it. Part of the caller's unit of work."""
    batch: dict[str, OutboxEntry] = {}
    for entry in entries:
        if entry.key:
            batch.setdefault(entry.key, entry)
    if not batch:
        return
    taken = set(session.scalars(select(OutboxEntry.key).where(OutboxEntry.key.in_(batch))))
    session.add_all(entry for key, entry in batch.items() if key not in taken)


def _in_hand(session: Session, entry: OutboxEntry, now: datetime) -> bool:
    """A worker is writing the entry's follow-up right now: it may be past our change."""
    if entry.followup_id is None:
        return False
    leased = session.scalar(select(FollowUp.write_leased_until)
                            .where(FollowUp.id == entry.followup_id))
    return leased is not None and leased > now


def listen(factory: sessionmaker[Session], on_commit: Callable[[list[int]], None]) -> None:
    """Call `on_commit(ids)` with the entries a session added, once its commit has landed."""

    @event.listens_for(factory, "after_flush")
    def collect(session: Session, _context: Any) -> None:
        added = [obj for obj in session.new if isinstance(obj, OutboxEntry)]
        if added:
            session.info.setdefault("outbox_new", []).extend(added)

    @event.listens_for(factory, "after_commit")
    def announce(session: Session) -> None:
        entries = session.info.pop("outbox_new", [])
        if entries:
            on_commit([entry.id for entry in entries])

    @event.listens_for(factory, "after_rollback")
    def forget(session: Session) -> None:
        session.info.pop("outbox_new", None)


def due_ids(session: Session, now: datetime, limit: int = 200) -> list[int]:
    query = (select(OutboxEntry.id)
             .where(OutboxEntry.status == OutboxStatus.PENDING, OutboxEntry.next_attempt_at <= now)
             .order_by(OutboxEntry.next_attempt_at).limit(limit))
    return list(session.scalars(query))


def claim(session: Session, entry_id: int, now: datetime, leased_until: datetime) -> bool:
    """Lease the entry, and its follow-up, for this worker until `leased_until`, and count
    the attempt; False if either is taken. Committed before the handler calls out: a write
    held open across a slow calendar server would keep SQLite's one write lock from
    everyone else."""
    # Each lease is one conditional UPDATE: of concurrent workers exactly one wins it.
    followup_id = session.scalar(select(OutboxEntry.followup_id).where(
        OutboxEntry.id == entry_id, OutboxEntry.status == OutboxStatus.PENDING,
        OutboxEntry.next_attempt_at <= now))
    if followup_id is not None and not rows_changed(session.execute(
            update(FollowUp)
            .where(FollowUp.id == followup_id, or_(FollowUp.write_leased_until.is_(None),
                                                   FollowUp.write_leased_until <= now))
            .values(write_leased_until=leased_until))):
        session.rollback()
        return False
    result = session.execute(
        update(OutboxEntry)
        .where(OutboxEntry.id == entry_id, OutboxEntry.status == OutboxStatus.PENDING,
               OutboxEntry.next_attempt_at <= now)
        .values(next_attempt_at=leased_until, attempts=OutboxEntry.attempts + 1))
    if not rows_changed(result):
        session.rollback()
        return False
    session.commit()
    return True


def done(session: Session, entry: OutboxEntry, now: datetime, leased_until: datetime) -> None:
    """The effect happened: the entry is finished, its last error forgotten; unless a change
    was folded into it meanwhile (record() reuses a waiting twin, and a worker slower than
    its lease looks like none): it then stays due, to be done again from that change."""
    session.flush()
    # Decided by the row, not by this session's copy of it (which still shows the lease).
    session.execute(
        update(OutboxEntry)
        .where(OutboxEntry.id == entry.id, OutboxEntry.status == OutboxStatus.PENDING,
               OutboxEntry.next_attempt_at == leased_until)
        .values(status=OutboxStatus.DONE, done_at=now, last_error=None)
        .execution_options(synchronize_session=False))
    session.refresh(entry)


def release(session: Session, entry: OutboxEntry, leased_until: datetime) -> bool:
    """Free the entry's follow-up for the next write; False when this worker's lease (the
    one that ends at `leased_until`) was no longer its own: it ran out, and another worker
    may have written the follow-up since."""
    if entry.followup_id is None:
        return True
    return bool(rows_changed(session.execute(
        update(FollowUp).where(FollowUp.id == entry.followup_id,
                               FollowUp.write_leased_until == leased_until)
        .values(write_leased_until=None))))


def again(session: Session, entry: OutboxEntry) -> OutboxEntry:
    """The same effect, to be done once more from the state as it is then."""
    return record(session, user_id=entry.user_id, kind=entry.kind,
                  followup_id=entry.followup_id, source_id=entry.source_id,
                  payload=entry.payload)


def load(session: Session, entry_id: int) -> OutboxEntry:
    """The entry, which a claim just proved exists."""
    entry = session.get(OutboxEntry, entry_id)
    assert entry is not None
    return entry


def failed_attempt(session: Session, entry: OutboxEntry, message: str, transient: bool,
                   now: datetime, *, next_try: timedelta | None = None,
                   not_before: timedelta | None = None) -> None:
    """Try again later if the failure may pass, else mark the entry (and its write) failed.
    `next_try` is the handler's own schedule (a webhook is retried for days, not minutes):
    given, it replaces the outbox's backoff and its limit of attempts. `not_before` is how
    long the server asked calsync to stay away (Retry-After): the backoff waits at least
    that, within the same limit."""
    entry.last_error = message
    followup = session.get(FollowUp, entry.followup_id) if entry.followup_id else None
    if transient and (next_try is not None or entry.attempts < MAX_ATTEMPTS):
        wait = next_try if next_try is not None else max(retry_delay(entry.attempts),
                                                         not_before or timedelta())
        entry.next_attempt_at = now + wait
        if followup:
            followup.write_error = message
        return
    entry.status = OutboxStatus.FAILED
    if followup:
        followup.write_status, followup.write_error = WriteStatus.FAILED, message


def retry_delay(attempts: int) -> timedelta:
    """About 1, 2, 4, 8 ... seconds, capped at a minute, with jitter so retries spread out."""
    wait = backoff(attempts, FIRST_DELAY, MAX_DELAY)
    return wait * random.uniform(0.8, 1.2)  # noqa: S311 - jitter, not a secret


def retry(session: Session, entry: OutboxEntry) -> None:
    """The user asked to try a failed effect again: a fresh set of attempts, now."""
    entry.status = OutboxStatus.PENDING
    entry.attempts = 0
    entry.next_attempt_at = datetime.now(UTC)
    if entry.followup_id:
        followup = session.get(FollowUp, entry.followup_id)
        if followup is not None:
            followup.write_status = WriteStatus.PENDING
