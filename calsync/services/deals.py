"""A user's deals: listing with touch counts and flags, one deal's timeline, making one by hand.

How touches group into deals and what status follows is decided in `calsync.domain.deals`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from calsync.errors import NotFound, ValidationFailed
from calsync.models import Deal, FollowUp, Prompt, User
from calsync.services.prompts import deals_without_next_touch


@dataclass(frozen=True)
class DealSummary:
    deal: Deal
    touches: int
    next_followup: FollowUp | None
    needs_next_touch: bool


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str  # "touch" (an asked meeting or follow-up) | "followup" (a planned one)
    prompt: Prompt | None = None
    followup: FollowUp | None = None


def get_deal(session: Session, user: User, deal_id: int) -> Deal:
    deal = session.get(Deal, deal_id)
    if deal is None or deal.user_id != user.id:
        raise NotFound("No such deal.")
    return deal


def get_followup(session: Session, user: User, followup_id: int) -> FollowUp:
    followup = session.get(FollowUp, followup_id)
    if followup is None or followup.user_id != user.id:
        raise NotFound("No such follow-up.")
    return followup


def create_deal(session: Session, user: User, name: str) -> Deal:
    name = name.strip()
    if not name:
        raise ValidationFailed("name", "give the deal a name.")
    deal = Deal(user_id=user.id, name=name[:200], key=None)
    session.add(deal)
    session.flush()
    return deal


def deals_query(user: User, status: str | None = None):  # type: ignore[no-untyped-def]
    query = select(Deal).where(Deal.user_id == user.id)
    if status is not None:
        query = query.where(Deal.status == status)
    return query.order_by(Deal.id.desc())


def summarise(session: Session, user: User, deals: list[Deal]) -> list[DealSummary]:
    """Touch counts, next planned follow-up and the no-next-touch flag, in three queries."""
    ids = [deal.id for deal in deals]
    counts = dict(session.execute(
        select(Prompt.deal_id, func.count(Prompt.id))
        .where(Prompt.deal_id.in_(ids), Prompt.status == "answered")
        .group_by(Prompt.deal_id)).all())
    upcoming: dict[int, FollowUp] = {}
    planned = select(FollowUp).where(FollowUp.deal_id.in_(ids), FollowUp.status == "planned")
    for followup in session.scalars(planned.order_by(FollowUp.start.desc())):
        upcoming[followup.deal_id] = followup  # ends on the earliest planned one
    flagged = deals_without_next_touch(session, user)
    return [DealSummary(deal, counts.get(deal.id, 0), upcoming.get(deal.id), deal.id in flagged)
            for deal in deals]


def timeline(session: Session, deal: Deal) -> list[TimelineEntry]:
    """Every touch (asked meetings and follow-ups, answered or not) and every follow-up."""
    entries = [
        TimelineEntry(prompt.touch_at, "touch", prompt=prompt)
        for prompt in session.scalars(select(Prompt).where(Prompt.deal_id == deal.id))
    ]
    prompted = {e.prompt.followup_id for e in entries if e.prompt and e.prompt.followup_id}
    entries += [
        TimelineEntry(followup.start, "followup", followup=followup)
        for followup in session.scalars(select(FollowUp).where(FollowUp.deal_id == deal.id))
        if followup.id not in prompted
    ]
    return sorted(entries, key=lambda entry: entry.at)
