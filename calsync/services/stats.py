"""The dashboard: loads a user's deals, follow-ups and answered meetings in three queries
and hands them to `calsync.domain.stats`. Read only."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from calsync.config import Settings
from calsync.domain import stats
from calsync.domain.coaching import FollowUpFact
from calsync.domain.vocabulary import PromptStatus
from calsync.models import Deal, FollowUp, Prompt, User
from calsync.services import cadences


def dashboard(session: Session, settings: Settings, user: User,
              now: datetime | None = None) -> stats.Stats:
    """Every figure of the user's dashboard at `now`."""
    now = now or datetime.now(UTC)
    tz = ZoneInfo(user.timezone)
    since = stats.window_start(tz, now)
    return stats.dashboard(deal_touches(session, user), followup_facts(session, user, since),
                           meeting_answers(session, user, since),
                           cadences.cadence_for(user, settings), tz, now)


def deal_touches(session: Session, user: User) -> list[stats.DealTouches]:
    """Every deal of the user with its answered touches."""
    answered = and_(Prompt.deal_id == Deal.id, Prompt.status == PromptStatus.ANSWERED)
    rows = session.execute(
        select(Deal.status, func.count(Prompt.id)).outerjoin(Prompt, answered)
        .where(Deal.user_id == user.id).group_by(Deal.id, Deal.status))
    return [stats.DealTouches(status, touches) for status, touches in rows]


def followup_facts(session: Session, user: User, since: datetime) -> list[FollowUpFact]:
    """The user's follow-ups whose time ended since `since`, with how their prompt stands."""
    rows = session.execute(
        select(FollowUp, Deal.name, Prompt.status, Prompt.answered_at)
        .join(Deal, Deal.id == FollowUp.deal_id)
        .outerjoin(Prompt, Prompt.followup_id == FollowUp.id)
        .where(FollowUp.user_id == user.id, FollowUp.end >= since))
    return [FollowUpFact(id=f.id, deal_id=f.deal_id, deal_name=deal_name, summary=f.summary,
                         start=f.start, end=f.end, status=f.status, cancelled_at=f.cancelled_at,
                         prompt_status=prompt_status,
                         # A prompt answered, then put away, was not answered after all.
                         answered_at=answered_at if prompt_status is PromptStatus.ANSWERED
                         else None,
                         missed_reason=f.missed_reason, missed_note=f.missed_note)
            for f, deal_name, prompt_status, answered_at in rows]


def meeting_answers(session: Session, user: User, since: datetime) -> list[stats.MeetingAnswer]:
    """When each of the user's meetings that ended since `since` ended and was answered."""
    rows = session.execute(
        select(Prompt.touch_at, Prompt.answered_at)
        .where(Prompt.user_id == user.id, Prompt.meeting_id.is_not(None),
               Prompt.status == PromptStatus.ANSWERED, Prompt.touch_at >= since))
    return [stats.MeetingAnswer(ended, answered) for ended, answered in rows
            if answered is not None]
