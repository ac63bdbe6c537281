"""Meetings read from a user's sources: listing them by start, and counting one source's."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from calsync.domain.vocabulary import TOUCHED, MeetingStatus
from calsync.models import Meeting, Prompt, Source, User
from calsync.services import paging


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
