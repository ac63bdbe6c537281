"""Booked meetings covering planned follow-ups: after a sync, the follow-ups a new or moved
meeting with the same counterpart comes before are cancelled (reason `booked`, their events
taken back from the calendar through the outbox, and out of the feed); the inbox names them
with an undo. A booked meeting cancelled before it is held gives its follow-up back.

Which meetings cover which follow-ups is `calsync.domain.booked`'s rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session

from calsync.config import Settings
from calsync.domain.booked import GRACE, BookedCandidate, PlannedTouch, covers
from calsync.domain.cadence import keeps_planned
from calsync.domain.deals import counterpart_of
from calsync.domain.prompting import is_skipped_kind
from calsync.domain.vocabulary import (
    CancelReason,
    FollowUpKind,
    FollowUpStatus,
    MeetingStatus,
)
from calsync.errors import ValidationFailed
from calsync.jobs import writeback
from calsync.models import Deal, FollowUp, Meeting, Prompt, Source, User
from calsync.services import cadences
from calsync.services.deals import get_followup
from calsync.services.prompts import meeting_data

# How long the inbox names a follow-up a booked meeting covered.
NOTICE_DAYS = 7
# The most notices the inbox shows at once.
NOTICE_LIMIT = 5


@dataclass(frozen=True)
class BookedNotice:
    followup: FollowUp
    meeting: Meeting
    deal: Deal


def cover_booked(session: Session, settings: Settings, source_id: int,
                 now: datetime | None = None) -> int:
    """Cancel the user's planned follow-ups that the source's new or moved meetings cover
    (called once per sync, after its meetings are applied); returns how many. They are found
    in two queries whatever the number of meetings; only those covered are loaded and
    changed. Follow-ups whose booked meeting was cancelled are planned again first
    (`replan_uncovered`). Commits."""
    now = now or datetime.now(UTC)
    replanned = replan_uncovered(session, source_id, now)
    source = session.get(Source, source_id)
    if source is None:
        return 0
    planned = _planned(session, source.user_id, now)
    if not planned:
        if replanned:
            session.commit()
        return 0
    user = session.get(User, source.user_id)
    assert user is not None
    meetings = _candidates(session, source, planned, now, settings, user)
    covered = covers(planned.values(), list(meetings.values()), now)
    for followup in session.scalars(select(FollowUp).where(FollowUp.id.in_(covered))):
        followup.cancel(now)
        followup.cancel_reason = CancelReason.BOOKED
        followup.booked_meeting_id = covered[followup.id]
        session.flush()
        writeback.followup_changed(session, followup)
    session.commit()
    return len(covered)


def replan_uncovered(session: Session, source_id: int, now: datetime) -> int:
    """Plan again the follow-ups whose booked meeting on this source was cancelled before it
    was held: the deal's next touch is gone, so its follow-up comes back at its own time
    (still ahead, as the meeting came before it). Not when the deal has since closed (and
    doesn't keep that kind) or planned another touch. Returns how many; part of the
    caller's unit of work."""
    rows = session.execute(
        select(FollowUp, Deal)
        .join(Meeting, Meeting.id == FollowUp.booked_meeting_id)
        .join(Deal, Deal.id == FollowUp.deal_id)
        .where(Meeting.source_id == source_id, Meeting.status == MeetingStatus.CANCELLED,
               Meeting.start > now, FollowUp.status == FollowUpStatus.CANCELLED,
               FollowUp.cancel_reason == CancelReason.BOOKED, FollowUp.start > now)).all()
    replanned = 0
    for followup, deal in rows:
        if keeps_planned(deal.status, followup.kind) and not _planned_ahead(session, deal, now):
            # `booked_meeting_id` stays, so the inbox can say why it came back.
            followup.plan_again(now)
            session.flush()
            writeback.followup_changed(session, followup)
            replanned += 1
    return replanned


def _planned_ahead(session: Session, deal: Deal, now: datetime) -> bool:
    return bool(session.scalar(select(exists().where(
        FollowUp.deal_id == deal.id, FollowUp.status == FollowUpStatus.PLANNED,
        FollowUp.start > now))))


def _planned(session: Session, user_id: int, now: datetime) -> dict[int, PlannedTouch]:
    """The user's follow-ups still planned ahead, with their deal's key and the meetings
    whose answers planned them."""
    rows = session.execute(
        select(FollowUp.id, Deal.key, FollowUp.start, FollowUp.changed_at, FollowUp.kind,
               Prompt.meeting_id)
        .join(Deal, Deal.id == FollowUp.deal_id)
        .outerjoin(Prompt, Prompt.planned_followup_id == FollowUp.id)
        .where(FollowUp.user_id == user_id, FollowUp.status == FollowUpStatus.PLANNED,
               FollowUp.start > now))
    planned: dict[int, PlannedTouch] = {}
    for fid, key, start, changed_at, kind, meeting_id in rows:
        known = planned.get(fid)
        by = (known.planned_by if known else frozenset()) | (
            {meeting_id} if meeting_id is not None else set())
        # A promise's follow-up is working on what was promised: a meeting doesn't deliver it.
        planned[fid] = PlannedTouch(fid, key, start, changed_at, frozenset(by),
                                    coverable=kind is not FollowUpKind.PROMISE)
    return planned


def _candidates(session: Session, source: Source, planned: dict[int, PlannedTouch],
                now: datetime, settings: Settings, user: User) -> dict[int, BookedCandidate]:
    """The source's meetings that could cover one of `planned`: starting between GRACE ago
    and the last of them, not before the first was planned and changed since; with their
    counterparts."""
    own = exists().where(FollowUp.uid == Meeting.uid, FollowUp.user_id == Meeting.user_id)
    first_planned = min(p.changed_at for p in planned.values())
    rows = session.execute(
        select(Meeting, own.label("own"))
        .where(Meeting.source_id == source.id, Meeting.status == MeetingStatus.CONFIRMED,
               Meeting.all_day.is_(False),
               Meeting.start >= max(now - GRACE, first_planned),
               Meeting.start < max(p.start for p in planned.values()),
               Meeting.updated_at > first_planned))
    rules = cadences.rules_for(user, settings)
    candidates = {}
    for meeting, own_event in rows:
        data = meeting_data(meeting)
        candidates[meeting.id] = BookedCandidate(
            id=meeting.id, key=counterpart_of(data, rules).key, start=meeting.start,
            updated_at=meeting.updated_at, all_day=meeting.all_day,
            cancelled=meeting.status == MeetingStatus.CANCELLED, own_event=bool(own_event),
            skipped=is_skipped_kind(data, rules))
    return candidates


def unbook(session: Session, user: User, followup_id: int,
           now: datetime | None = None) -> FollowUp:
    """Undo a booked meeting's covering: the follow-up is planned again and written back to
    the calendar. The same meeting won't cover it again unless it moves. Commits once;
    raises ValidationFailed when it wasn't covered by a booked meeting."""
    now = now or datetime.now(UTC)
    followup = get_followup(session, user, followup_id)
    if followup.status is not FollowUpStatus.CANCELLED \
            or followup.cancel_reason is not CancelReason.BOOKED:
        raise ValidationFailed("followup", "this follow-up wasn't covered by a booked meeting.")
    followup.plan_again(now)  # later than the meeting's last change: it covers no more
    followup.booked_meeting_id = None
    session.flush()
    writeback.followup_changed(session, followup)
    session.commit()
    return followup


def booked_notices(session: Session, user: User,
                   now: datetime | None = None) -> list[BookedNotice]:
    """The user's follow-ups a booked meeting covered, or planned again once it was
    cancelled, in the last NOTICE_DAYS days; newest first, at most NOTICE_LIMIT: one query.
    Read only."""
    now = now or datetime.now(UTC)
    since = now - timedelta(days=NOTICE_DAYS)
    covered = and_(FollowUp.status == FollowUpStatus.CANCELLED,
                   FollowUp.cancel_reason == CancelReason.BOOKED, FollowUp.cancelled_at >= since)
    replanned = and_(FollowUp.status == FollowUpStatus.PLANNED,
                     Meeting.status == MeetingStatus.CANCELLED, FollowUp.changed_at >= since)
    rows = session.execute(
        select(FollowUp, Meeting, Deal)
        .join(Meeting, Meeting.id == FollowUp.booked_meeting_id)
        .join(Deal, Deal.id == FollowUp.deal_id)
        .where(FollowUp.user_id == user.id, or_(covered, replanned))
        .order_by(func.coalesce(FollowUp.cancelled_at, FollowUp.changed_at).desc(),
                  FollowUp.id.desc()).limit(NOTICE_LIMIT))
    return [BookedNotice(followup, meeting, deal) for followup, meeting, deal in rows]
