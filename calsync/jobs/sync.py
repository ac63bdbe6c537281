"""Runs a source's provider and applies what changed to its meetings, then prompts what ended.

One sync at a time per source (a lock row with expiry); a failure is recorded on the source
and never touches stored meetings, prompts or answers.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import insert, or_, select, update
from sqlalchemy.orm import Session

from calsync.config import Settings
from calsync.db import commit_batch, rows_changed
from calsync.domain.backoff import backoff
from calsync.domain.meeting import MeetingData, search_text
from calsync.domain.text import calendar_text
from calsync.domain.vocabulary import (
    AWAITING_ANSWER,
    PAUSED,
    MeetingStatus,
    PromptStatus,
    SourceStatus,
    SyncResult,
)
from calsync.errors import SourceError
from calsync.jobs import attendee_limits, writeback
from calsync.models import Meeting, Prompt, Source, User
from calsync.providers.base import ChangeSet, ReadContext
from calsync.services import booked, prompts
from calsync.services.credentials import provider_for
from calsync.services.meetings import adopt_detached

log = logging.getLogger(__name__)
T = TypeVar("T")

# A transient failure (a timeout, a 5xx) is retried after a minute, then ever later.
FIRST_RETRY = timedelta(minutes=1)
MAX_BACKOFF = timedelta(hours=6)
# Rows written per transaction. SQLite has one writer at a time: a long sync commits each
# batch, so other users' requests and the minute tick get the write lock in between. It
# stays crash-safe: the source's cursor is stored only once every batch is in, so a
# worker killed between batches leaves it where it was, the next sync reads the same
# changes again, and the meetings already written match by their unique key (source, uid,
# recurrence id) and their content hash: skipped or updated, never duplicated.
WRITE_BATCH = 500


@dataclass
class SyncReport:
    source_id: int
    result: SyncResult = SyncResult.SKIPPED
    added: int = 0
    updated: int = 0
    cancelled: int = 0
    prompts: int = 0
    warnings: list[str] = field(default_factory=list)
    error: str = ""


def due_source_ids(session: Session, now: datetime) -> list[int]:
    query = select(Source.id).where(
        Source.next_sync_at <= now,
        Source.status.not_in(PAUSED),
        or_(Source.locked_until.is_(None), Source.locked_until < now),
    )
    return list(session.scalars(query.order_by(Source.next_sync_at)))


def sync_source(session: Session, settings: Settings, source_id: int,
                now: datetime | None = None, *, read: ChangeSet | None = None) -> SyncReport:
    """Sync one source now; safe to call from several workers at once. `read` is the
    calendar as the caller has just read it for this new source (adding a calendar reads
    it before storing anything), so it is not fetched and parsed a second time."""
    now = now or datetime.now(UTC)
    report = SyncReport(source_id)
    if not _claim(session, source_id, now, settings.sync_lock_seconds):
        return report
    started = time.monotonic()
    source = session.get(Source, source_id)
    assert source is not None  # _claim found it
    user = session.get(User, source.user_id)
    assert user is not None
    try:
        # The wall clock, not `now`: it is compared with when calsync's own writes landed.
        read_started = datetime.now(UTC)
        changes = read or _read(settings, source, user, now)
        _apply(session, source, changes, report, now, settings, read_started)
        # An unchanged calendar has no new, moved or cancelled meeting for the booked pass
        # to look at, and the meetings that ended since the last sync are prompted by the
        # minute tick (calsync.jobs.queue) for every user: same bytes cost one request.
        if report.result is not SyncResult.UNCHANGED:
            # A meeting booked with a deal's counterpart covers its planned follow-up (issue 11).
            booked.cover_booked(session, settings, source_id, now)
            report.prompts = prompts.create_due_prompts(session, settings, now,
                                                        user_id=user.id)
        report.warnings = list(source.warnings or [])  # with a prompt limit reached, if it was
    except SourceError as exc:
        session.rollback()
        _record_failure(session, source_id, exc, settings, now)
        report.result, report.error = SyncResult.ERROR, str(exc)
    except Exception:
        # A bug must not take the worker down or leave the source locked: record it and go on.
        log.exception("sync of source %s failed", source_id)
        session.rollback()
        failure = SourceError("calsync failed while reading this calendar; it will try again.",
                              transient=True)
        _record_failure(session, source_id, failure, settings, now)
        report.result, report.error = SyncResult.ERROR, failure.message
    session.commit()
    log.info("sync of source %s: %s", source_id, report.result, extra={
        "source_id": source_id, "result": report.result, "added": report.added,
        "updated": report.updated, "cancelled": report.cancelled, "prompts": report.prompts,
        "duration_ms": round((time.monotonic() - started) * 1000)})
    return report


def _claim(session: Session, source_id: int, now: datetime, lock_seconds: int) -> bool:
    # A lock with expiry, not SELECT ... FOR UPDATE SKIP LOCKED: a sync spends most of its
    # time on the network, and a row lock would hold a transaction (and a connection) open
    # for all of it; SQLite has no row locks at all. This conditional UPDATE is atomic on
    # both databases, exactly one worker wins, and a worker that died mid-sync (SIGKILL)
    # leaves a lock that simply expires, so the source resumes from its stored cursor.
    result = session.execute(
        update(Source)
        .where(Source.id == source_id, Source.status.not_in(PAUSED),
               or_(Source.locked_until.is_(None), Source.locked_until < now))
        .values(locked_until=now + timedelta(seconds=lock_seconds), status=SourceStatus.SYNCING,
                last_attempt_at=now, sync_requested_at=None)
    )
    session.commit()
    return bool(rows_changed(result))


def read_context(settings: Settings, user: User, now: datetime) -> ReadContext:
    return ReadContext(
        window_start=now - timedelta(days=settings.window_past_days),
        window_end=now + timedelta(days=settings.window_future_days),
        timezone=ZoneInfo(user.timezone),
    )


def _read(settings: Settings, source: Source, user: User, now: datetime) -> ChangeSet:
    with provider_for(settings, source) as (provider, ref):
        return provider.read(ref, source.cursor or {}, read_context(settings, user, now))


def _apply(session: Session, source: Source, changes: ChangeSet, report: SyncReport,
           now: datetime, settings: Settings, read_started: datetime) -> None:
    if changes.unchanged:
        report.result = SyncResult.UNCHANGED
    else:
        warnings = _apply_meetings(session, source, changes, report,
                                   read_context(settings, source.user, now), settings,
                                   read_started)
        report.result = SyncResult.OK
        source.warnings = [*changes.warnings, *warnings]
    report.warnings = list(source.warnings or [])
    source.cursor = changes.cursor
    source.status = SourceStatus.OK
    source.last_error = None
    source.failure_count = 0
    source.last_synced_at = now
    source.next_sync_at = now + timedelta(minutes=settings.sync_interval_minutes)
    source.locked_until = None


def _apply_meetings(session: Session, source: Source, changes: ChangeSet, report: SyncReport,
                    context: ReadContext, settings: Settings,
                    read_started: datetime) -> list[str]:
    """Write what changed in batches (see WRITE_BATCH); returns warnings for the source."""
    # A calendar connected again takes back the answered meetings its removal kept.
    adopt_detached(session, source, changes, batch=WRITE_BATCH)
    stored = _stored(session, source.id, changes)
    meetings, deleted = writeback.apply_own_events(session, source, changes.meetings,
                                                   changes.deleted, read_started)
    meetings, warnings = attendee_limits.bound(meetings, settings, source.user)
    seen: set[tuple[str, str]] = set()
    cancelled_ids: list[int] = []
    # Rows are made and written a batch at a time, so a large calendar never holds the
    # column values of all its meetings at once.
    changed = _changed_rows(meetings, stored, seen, source)
    while batch := list(itertools.islice(changed, WRITE_BATCH)):
        if report.added or report.updated:
            commit_batch(session)
        inserts = [row for row in batch if "id" not in row]
        updates = [row for row in batch if "id" in row]
        if inserts:  # column values, as the bulk INSERT and UPDATE take them
            session.execute(insert(Meeting), inserts)
        if updates:
            session.execute(update(Meeting), updates)
        report.added += len(inserts)
        report.updated += len(updates)
        cancelled_ids += [u["id"] for u in updates if u["status"] == MeetingStatus.CANCELLED]
    vanished = [mid for key, (mid, _d, status, _s) in stored.items()
                if status != MeetingStatus.CANCELLED and _is_deleted(key, deleted)]
    whole = set(changes.complete_uids)
    vanished += [
        mid for key, (mid, _digest, status, start) in stored.items()
        if key not in seen and status != MeetingStatus.CANCELLED
        and (changes.complete or key[0] in whole)
        and context.window_start <= start <= context.window_end
    ]
    # An empty hash makes a meeting that comes back be written again.
    _in_batches(session, vanished, lambda batch: session.execute(
        update(Meeting).where(Meeting.id.in_(batch))
        .values(status=MeetingStatus.CANCELLED, content_hash="", updated_at=datetime.now(UTC))))
    cancelled_ids = vanished + cancelled_ids
    # In batches here too: each IN list stays within what every database accepts.
    _in_batches(session, cancelled_ids, lambda batch: _withdraw_prompts(session, batch))
    report.cancelled = len(cancelled_ids)
    return warnings


def _changed_rows(meetings: list[MeetingData], stored: dict[tuple[str, str], StoredRow],
                  seen: set[tuple[str, str]], source: Source) -> Iterator[dict[str, Any]]:
    """The column values of each new meeting and (with its "id") each changed one; adds
    every meeting's key to `seen`."""
    people: dict[int, tuple[object, list[dict[str, object]]]] = {}
    for meeting in meetings:
        if meeting.key in seen:
            continue  # a feed that repeats an event must not make two meetings
        seen.add(meeting.key)
        row = _row(meeting, people)
        existing = stored.get(meeting.key)
        if existing is None:
            yield {**row, "user_id": source.user_id, "source_id": source.id}
        elif existing[1] != row["content_hash"]:
            yield {**row, "id": existing[0], "prompt_skip": None}


StoredRow = tuple[int, str, MeetingStatus, datetime]  # id, content hash, status, start


def _stored(session: Session, source_id: int,
            changes: ChangeSet) -> dict[tuple[str, str], StoredRow]:
    """The source's stored meetings that `changes` can touch: all of them for a complete
    read, else only its UIDs' (a 1% change to a large calendar loads 1% of its rows)."""
    query = select(Meeting.id, Meeting.uid, Meeting.recurrence_id, Meeting.content_hash,
                   Meeting.status, Meeting.start).where(Meeting.source_id == source_id)
    if changes.complete:
        parts = [query]
    else:
        uids = sorted({m.uid for m in changes.meetings} | set(changes.complete_uids)
                      | {uid for uid, _rid in changes.deleted})
        parts = [query.where(Meeting.uid.in_(uids[n:n + WRITE_BATCH]))
                 for n in range(0, len(uids), WRITE_BATCH)]
    return {(uid, rid): (mid, digest, status, start) for part in parts
            for mid, uid, rid, digest, status, start in session.execute(part)}


def _in_batches(session: Session, items: Sequence[T],
                write: Callable[[list[T]], object]) -> None:
    """`write` `items` WRITE_BATCH at a time, committing between batches; the last one
    commits with the rest of the sync, so a small sync is still one transaction."""
    for start in range(0, len(items), WRITE_BATCH):
        if start:
            commit_batch(session)
        write(list(items[start:start + WRITE_BATCH]))


def _is_deleted(key: tuple[str, str], deleted: set[tuple[str, str]]) -> bool:
    """A tombstone names one occurrence, or with no recurrence id the whole event/series."""
    return key in deleted or (key[0], "") in deleted


def _withdraw_prompts(session: Session, meeting_ids: list[int]) -> None:
    """Cancelled meetings lose their unanswered prompts; answered ones stay as they are."""
    session.execute(
        update(Prompt)
        .where(Prompt.meeting_id.in_(meeting_ids), Prompt.status.in_(AWAITING_ANSWER))
        .values(status=PromptStatus.WITHDRAWN)
    )


def _row(meeting: MeetingData,
         people: dict[int, tuple[object, list[dict[str, object]]]]) -> dict[str, object]:
    """The meeting's columns; `people` shares one attendee list among a series' rows."""
    if id(meeting.attendees) not in people:
        people.clear()  # a series' rows come together: the memo need not hold the others'
        people[id(meeting.attendees)] = (meeting.attendees, [
            {"email": a.email, "name": a.name, "response": a.response, "is_self": a.is_self}
            for a in meeting.attendees])
    row: dict[str, object] = {
        "uid": meeting.uid,
        "recurrence_id": meeting.recurrence_id,
        "series_uid": meeting.series_uid,
        # Whatever a provider read, no control characters: PostgreSQL can't store a NUL.
        "title": calendar_text(meeting.title),
        "start": meeting.start,
        "end": meeting.end,
        "all_day": meeting.all_day,
        "start_date": meeting.start_date,
        "end_date": meeting.end_date,
        "status": meeting.status,
        "attendees": people[id(meeting.attendees)][1],
        "attendee_count": meeting.listed_attendees,
        "organizer": meeting.organizer,
        "location": calendar_text(meeting.location),
        "description": calendar_text(meeting.description),
        "conference_url": meeting.conference_url,
        "updated_at": datetime.now(UTC),
    }
    row["search_text"] = search_text(str(row["title"]), people[id(meeting.attendees)][1])
    row["content_hash"] = _digest(
        row, counted=meeting.listed_attendees != len(meeting.attendees))
    return row


def _digest(row: dict[str, object], *, counted: bool) -> str:
    # The count joins the hash only when attendees were left out (`counted`), so the
    # hashes of meetings stored before it was counted stay the same (no rewrite of every row).
    # The search text is the title and attendees again: hashing it would only rewrite rows
    # stored before it existed.
    untouched = {"updated_at", "search_text"} | (set() if counted else {"attendee_count"})
    stable = {k: v for k, v in row.items() if k not in untouched}
    return hashlib.sha256(json.dumps(stable, default=str, sort_keys=True).encode()).hexdigest()


def _record_failure(session: Session, source_id: int, error: SourceError, settings: Settings,
                    now: datetime) -> None:
    source = session.get(Source, source_id)
    if source is None:
        return
    repeated = source.last_error == str(error)
    source.failure_count = (source.failure_count or 0) + 1
    source.status = error.status
    source.last_error = str(error)
    # The wait a server asked for (Retry-After) holds the lock: a push notification or a
    # "Sync now" in the meantime claims nothing, and the one sync due then reads it all.
    source.locked_until = now + error.retry_in if error.retry_in else None
    if error.cursor is not None:
        source.cursor = error.cursor  # what failed, so the same calendar isn't read again
    # A revoked grant or a vanished calendar waits for the user; retrying changes nothing.
    paused = error.status in PAUSED
    source.next_sync_at = None if paused else now + _retry_delay(
        error, source.failure_count, repeated, settings)


def _retry_delay(error: SourceError, failures: int, repeated: bool,
                 settings: Settings) -> timedelta:
    interval = timedelta(minutes=settings.sync_interval_minutes)
    if error.transient:
        return max(backoff(failures, FIRST_RETRY, MAX_BACKOFF), error.retry_in or timedelta())
    if not repeated:
        return interval  # the user has to fix it; look again at the usual pace
    # The same failure again: nothing changed, so look ever less often, up to the longest
    # wait. A changed calendar is still read at once on "Sync now" or a new upload.
    longest = timedelta(hours=settings.sync_retry_max_hours)
    return backoff(failures, interval, max(longest, interval))

