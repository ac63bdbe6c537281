"""Writes follow-ups back to the user's calendar: picks the receiving source, records the
write in the outbox, and performs it idempotently through the source's provider."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from calsync import providers
from calsync.config import Settings
from calsync.domain.meeting import MeetingData
from calsync.domain.promises import answer_ask, event_lines, event_prefix
from calsync.domain.vocabulary import (
    PAUSED,
    FollowUpStatus,
    MeetingStatus,
    WriteStatus,
)
from calsync.errors import PluginError, SourceError
from calsync.feed.cache import answer_url
from calsync.jobs.outbox import record
from calsync.models import FollowUp, OutboxEntry, Source, User
from calsync.providers.base import FOLLOWUP_MARK, OutgoingEvent
from calsync.services import webhooks
from calsync.services.credentials import provider_for

WRITE = "write_followup"


def event_id_for(followup: FollowUp) -> str:
    """Google-valid (base32hex, lowercase, 5-1024 chars) and fixed for the follow-up's life,
    so a retried insert can only ever find its own event."""
    raw = f"calsync{followup.uid}".encode()
    return base64.b32hexencode(raw).decode().rstrip("=").lower()


def writable_source(session: Session, user_id: int) -> Source | None:
    """The source that receives follow-ups: the user's first one that can take writes."""
    candidates = session.scalars(select(Source).where(
        Source.user_id == user_id, Source.status.not_in(PAUSED)).order_by(Source.id))
    for source in candidates:
        if _can_write(source) and (source.options or {}).get("calendar_written"):
            return source
    return None


def _can_write(source: Source) -> bool:
    try:
        return providers.load(source.kind).supports_write
    except PluginError:
        return False


def followup_changed(session: Session, followup: FollowUp) -> None:
    """Record the write a created, changed or cancelled follow-up needs. Part of the
    caller's unit of work (the change and its write commit together): only flushes."""
    webhooks.followup_changed(session, followup)  # every change reaches the CRMs too
    if followup.target_source_id is None:
        if followup.status == FollowUpStatus.CANCELLED:
            return  # never written anywhere: nothing to take back
        target = writable_source(session, followup.user_id)
        if target is None:
            followup.write_status = WriteStatus.NOT_APPLICABLE
            return
        _aim(followup, target)
    _record_write(session, followup)


def write_upcoming(session: Session, user_id: int) -> None:
    """When a source has just become writable (connected, or its calendar_written chosen):
    the user's planned follow-ups still ahead that no calendar received (planned while none
    could) get it as their target, and their writes are recorded; past ones stay as they
    are. Part of the caller's unit of work: only flushes."""
    target = writable_source(session, user_id)
    if target is None:
        return
    waiting = session.scalars(select(FollowUp).where(
        FollowUp.user_id == user_id, FollowUp.target_source_id.is_(None),
        FollowUp.status == FollowUpStatus.PLANNED, FollowUp.end > datetime.now(UTC))
        .order_by(FollowUp.start)).all()
    for followup in waiting:
        _aim(followup, target)
        _record_write(session, followup)


def _aim(followup: FollowUp, target: Source) -> None:
    """Make `target` receive a follow-up that had no target. What it knew of an event (left
    when its source was removed) is another calendar's: the write starts afresh."""
    followup.target_source_id = target.id
    followup.remote_calendar_id = followup.remote_event_id = followup.remote_etag = None
    followup.written_start = followup.written_end = None


def _record_write(session: Session, followup: FollowUp) -> None:
    """The write a targeted follow-up needs, pending in the outbox."""
    session.flush()
    followup.write_status = WriteStatus.PENDING
    followup.write_error = None
    record(session, user_id=followup.user_id, kind=WRITE, followup_id=followup.id,
           source_id=followup.target_source_id)


def write_followup(session: Session, settings: Settings, entry: OutboxEntry) -> None:
    """Performs a `write_followup` entry: make the calendar match the follow-up as it is now
    (not as it was when queued)."""
    followup = session.get(FollowUp, entry.followup_id)
    source = session.get(Source, entry.source_id)
    if followup is None or source is None:
        return  # deleted since: nothing left to write
    if source.status in PAUSED:
        raise SourceError(f"“{source.name}” can't receive follow-ups right now "
                          f"({source.status.replace('_', ' ')}).")
    with provider_for(settings, source) as (provider, ref):
        if followup.status == FollowUpStatus.CANCELLED:
            # Not only when an id was stored: a worker killed between inserting the event
            # and recording its id leaves an event we only know by its derived id.
            provider.delete_event(ref, _calendar_of(followup, source),
                                  followup.remote_event_id or event_id_for(followup))
            followup.remote_etag = None
        else:
            remote = provider.write_event(ref, outgoing_event(session, settings, followup, source))
            followup.written_start, followup.written_end = followup.start, followup.end
            followup.remote_calendar_id = remote.calendar_id
            followup.remote_event_id = remote.event_id
            followup.remote_etag = remote.etag
    followup.write_status = WriteStatus.WRITTEN
    followup.write_error = None


def outgoing_event(session: Session, settings: Settings, followup: FollowUp,
                   source: Source) -> OutgoingEvent:
    user = session.get(User, followup.user_id)
    assert user is not None
    deal_link = f"{settings.base_url.rstrip('/')}/deals/{followup.deal_id}"
    delivered = followup.delivered_at is not None
    lines = [followup.note, "",
             *event_lines(followup.kind, followup.promise_due, followup.value_note,
                          ZoneInfo(user.timezone), followup.delivered_at),
             f"Channel: {followup.channel.event_label}",  # as the feed labels it
             f"Deal: {followup.deal.name} — {deal_link}", "Planned with calsync.", "",
             f"{answer_ask(followup.kind, delivered)} {answer_url(settings, followup)}"]
    return OutgoingEvent(
        calendar_id=_calendar_of(followup, source),
        event_id=followup.remote_event_id or event_id_for(followup),
        summary=event_prefix(followup.kind, delivered)
        + f"{followup.channel.label}: {followup.deal.name} — {followup.summary}",
        description="\n".join(lines).strip(),
        start=followup.start.astimezone(UTC),
        end=followup.end.astimezone(UTC),
        timezone=user.timezone,
        status=followup.status,
        # A promise delivered is nothing left to do: no reminder of it.
        reminder_minutes=None if followup.delivered_at else settings.reminder_minutes,
        private_properties={FOLLOWUP_MARK: followup.uid, "calsync_followup_id": str(followup.id),
                            "calsync_deal_id": str(followup.deal_id)},
        etag=followup.remote_etag or "",
        times_changed=(followup.written_start, followup.written_end)
        != (followup.start, followup.end),
    )


def _calendar_of(followup: FollowUp, source: Source) -> str:
    """The calendar that has (or gets) the follow-up's event: where it was written, or
    the one the source writes to now."""
    return followup.remote_calendar_id or str(
        (source.options or {}).get("calendar_written", "primary"))


def followup_moved_at_source(followup: FollowUp, start: datetime, end: datetime,
                             etag: str) -> None:
    """The user moved calsync's event in their calendar: the follow-up follows, and is not
    written back again (the calendar already has it)."""
    followup.written_start, followup.written_end = start, end
    if (followup.start, followup.end) == (start, end):
        followup.remote_etag = etag or followup.remote_etag
        return
    followup.start, followup.end = start, end
    followup.sequence += 1
    followup.changed_at = datetime.now(UTC)
    followup.remote_etag = etag or followup.remote_etag


def apply_own_events(session: Session, source: Source, meetings: list[MeetingData],
                     deleted: list[tuple[str, str]], read_started: datetime
                     ) -> tuple[list[MeetingData], set[tuple[str, str]]]:
    """Take calsync's own follow-up events out of a sync: moved there moves the follow-up
    here, deleted there cancels it. Returns the meetings and deletions left to import.

    A read that began before calsync's own write of a follow-up landed, or while one is
    under way, may have caught the calendar mid-change (an item missing between two reads
    of one sync): it says nothing about that follow-up, whose next sync will."""
    mine = {f.remote_event_id: f for f in session.scalars(select(FollowUp).where(
        FollowUp.target_source_id == source.id, FollowUp.remote_event_id.is_not(None)))}
    named = {m.uid for m in meetings if m.extra.get(FOLLOWUP_MARK)} | {k[0] for k in deleted}
    unsettled = _writing_since(session, [mine[uid].id for uid in named if uid in mine],
                               read_started)
    later = {uid for uid, f in mine.items() if f.id in unsettled}
    mine = {uid: f for uid, f in mine.items() if uid not in later}
    foreign = []
    for meeting in meetings:
        followup = mine.get(meeting.uid) if meeting.extra.get(FOLLOWUP_MARK) else None
        if meeting.extra.get(FOLLOWUP_MARK) and followup is None:
            continue  # calsync's event for a follow-up that is gone: never a meeting
        if followup is None:
            foreign.append(meeting)
        elif meeting.status == MeetingStatus.CANCELLED:
            _deleted_there(followup)
        elif followup.status == FollowUpStatus.CANCELLED:
            # Still there though calsync took it back (its delete was overtaken, or a read
            # mistook it for deleted): the calendar is put right, not the follow-up moved;
            # a delete the calendar refused for good shows as failed, and is not repeated.
            if followup.write_status != WriteStatus.FAILED:
                _record_write(session, followup)
        else:
            followup_moved_at_source(followup, meeting.start, meeting.end,
                                     meeting.extra.get("etag", ""))
    remaining = set()
    for key in deleted:
        followup = mine.get(key[0])
        if followup is not None:
            _deleted_there(followup)
        elif key[0] not in later:
            remaining.add(key)
    return foreign, remaining


def _writing_since(session: Session, followup_ids: list[int], since: datetime) -> set[int]:
    """Of these follow-ups, those whose write landed at `since` or later, or is under way
    (leased by a worker). One merely waiting to be retried doesn't count: a deletion seen
    meanwhile must still cancel it, or the retry would write the event afresh."""
    now = datetime.now(UTC)
    found: set[int] = set()
    for start in range(0, len(followup_ids), 500):  # IN lists every database accepts
        batch = followup_ids[start:start + 500]
        found.update(session.scalars(select(OutboxEntry.followup_id).where(
            OutboxEntry.kind == WRITE, OutboxEntry.followup_id.in_(batch),
            OutboxEntry.done_at >= since)))
        found.update(session.scalars(select(FollowUp.id).where(
            FollowUp.id.in_(batch), FollowUp.write_leased_until > now)))
    return found


def _deleted_there(followup: FollowUp) -> None:
    """A read found the follow-up's event gone. If calsync's own last write took it back (a
    delete leaves no ETag; a follow-up planned again waits for its event to be written
    afresh) the read saw calsync's doing, not the user's: nothing changes."""
    if followup.remote_etag:
        _cancelled_at_source(followup)


def _cancelled_at_source(followup: FollowUp) -> None:
    """Deleted in the calendar: cancelled here, and nothing left to delete there."""
    followup.cancel(datetime.now(UTC))
    followup.remote_etag = None
