"""Meetings read from a user's sources: listing them by start, counting one source's, and
adopting the answered ones a removed source left behind when a calendar reads them again."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, exists, func, select, tuple_, update
from sqlalchemy.orm import Session, aliased

from calsync.db import rows_changed
from calsync.domain.vocabulary import TOUCHED, MeetingStatus
from calsync.models import Meeting, Prompt, Source, User
from calsync.providers.base import ChangeSet
from calsync.services import paging

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SourceMeetings:
    """What a source's page counts: its meetings that take place, and those answered."""

    confirmed: int
    answered: int


def list_meetings(session: Session, user: User, *, source_id: int | None = None,
                  start_from: datetime | None = None, start_before: datetime | None = None,
                  limit: int, after: list[Any] | None = None) -> paging.Paged[Meeting]:
    """The user's meetings by start time, from <= start < before, of one source or all."""
    query = select(Meeting).where(Meeting.user_id == user.id)
    if source_id is not None:
        query = query.where(Meeting.source_id == source_id)
    if start_from is not None:
        query = query.where(Meeting.start >= start_from)
    if start_before is not None:
        query = query.where(Meeting.start < start_before)
    return paging.page(session, query, order=[Meeting.start, Meeting.id], descending=False,
                       limit=limit, after=after)


def source_meetings(session: Session, source: Source) -> SourceMeetings:
    confirmed = session.scalar(select(func.count(Meeting.id)).where(
        Meeting.source_id == source.id, Meeting.status == MeetingStatus.CONFIRMED)) or 0
    answered = session.scalar(
        select(func.count(Prompt.id)).join(Meeting, Prompt.meeting_id == Meeting.id)
        .where(Meeting.source_id == source.id, Prompt.status.in_(TOUCHED))) or 0
    return SourceMeetings(confirmed, answered)


def adopt_detached(session: Session, source: Source, changes: ChangeSet, *, batch: int) -> None:
    """Attach to `source` the user's detached meetings (kept, answered, when their source was
    removed: `sources.delete_source`) that this read names again by uid and recurrence id,
    so a calendar connected again finds its answered meetings instead of importing and
    prompting them twice. Called by the sync before it loads the source's rows. Nothing is
    asked unless the user has a detached meeting; then one UPDATE per `batch` keys of the
    read. Part of the caller's unit of work."""
    if session.scalar(select(Meeting.id).where(Meeting.source_id.is_(None),
                                               Meeting.user_id == source.user_id).limit(1)) is None:
        return
    keys = sorted({(m.uid, m.recurrence_id) for m in changes.meetings})
    adopted = sum(rows_changed(session.execute(
        update(Meeting).where(Meeting.id.in_(_adoptable(source, keys[start:start + batch])))
        .values(source_id=source.id), execution_options={"synchronize_session": False}))
        for start in range(0, len(keys), batch))
    if adopted:
        log.info("source %s adopted %s detached meetings", source.id, adopted)


def _adoptable(source: Source, keys: list[tuple[str, str]]) -> Select[int]:
    """Ids of the user's detached meetings with these keys, one per key: the oldest, when two
    removed sources both kept it; none the source already holds (imported again before
    adoption existed), as its unique key allows one."""
    detached, held = aliased(Meeting), aliased(Meeting)
    return (select(func.min(detached.id))
            .where(detached.source_id.is_(None),
                   # The UIDs alone too: the lookup then probes the (source, uid, ...) index
                   # per UID instead of scanning every user's detached rows.
                   detached.uid.in_(sorted({uid for uid, _rid in keys})),
                   detached.user_id == source.user_id,
                   tuple_(detached.uid, detached.recurrence_id).in_(keys),
                   ~exists().where(held.source_id == source.id, held.uid == detached.uid,
                                   held.recurrence_id == detached.recurrence_id))
            .group_by(detached.uid, detached.recurrence_id))
