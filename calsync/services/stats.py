"""The dashboard: loads a user's deals, follow-ups and answered meetings in three queries
and hands them to `calsync.domain.stats`. Read only."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from calsync.config import Settings
from calsync.domain import stats
from calsync.domain.vocabulary import TOUCHED
from calsync.models import Deal, FollowUp, Prompt, User
from calsync.services import cadences, coach


def dashboard(session: Session, settings: Settings, user: User,
              now: datetime | None = None) -> stats.Stats:
    """Every figure of the user's dashboard at `now`."""
    now = now or datetime.now(UTC)
    tz = ZoneInfo(user.timezone)
    since = stats.window_start(tz, now)
    ended = coach.followup_facts(session, user, FollowUp.end >= since)
    return stats.dashboard(deal_touches(session, user), ended,
                           meeting_answers(session, user, since),
                           cadences.cadence_for(user, settings), tz, now)


def deal_touches(session: Session, user: User) -> list[stats.DealTouches]:
    """Every deal of the user with its touches (answered, or covered by a later answer)."""
    answered = and_(Prompt.deal_id == Deal.id, Prompt.status.in_(TOUCHED))
    rows = session.execute(
        select(Deal.status, func.count(Prompt.id)).outerjoin(Prompt, answered)
        .where(Deal.user_id == user.id).group_by(Deal.id, Deal.status))
    return [stats.DealTouches(status, touches) for status, touches in rows]


def meeting_answers(session: Session, user: User, since: datetime) -> list[stats.MeetingAnswer]:
    """When each of the user's meetings that ended since `since` ended and was answered (a
    covered one: when the answer that covered it was given)."""
    rows = session.execute(
        select(Prompt.touch_at, Prompt.answered_at)
        .where(Prompt.user_id == user.id, Prompt.meeting_id.is_not(None),
               Prompt.status.in_(TOUCHED), Prompt.touch_at >= since))
    return [stats.MeetingAnswer(ended, answered) for ended, answered in rows
            if answered is not None]
