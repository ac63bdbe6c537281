"""A user's deals: listing with touch counts and flags, one deal's timeline, making one by hand
and renaming it; the follow-ups planned for them.

How touches group into deals and what status follows is decided in `calsync.domain.deals`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from calsync.domain.vocabulary import DealStatus, FollowUpStatus, TimelineKind
from calsync.errors import NotFound, ValidationFailed
from calsync.models import Deal, FollowUp, Prompt, User
from calsync.services import paging
from calsync.services.prompts import deals_without_next_touch, touch_counts

# Longest deal name kept: names come from calendars and from people typing.
MAX_NAME = 200


@dataclass(frozen=True)
class DealSummary:
    deal: Deal
    touches: int
    next_followup: FollowUp | None
    needs_next_touch: bool


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: TimelineKind
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
    """A deal made by hand (to move a touch to). Part of the caller's unit of work."""
    name = name.strip()
    if not name:
        raise ValidationFailed("name", "give the deal a name.")
    deal = Deal(user_id=user.id, name=name[:MAX_NAME], key=None)
    session.add(deal)
    session.flush()
    return deal


def rename_deal(session: Session, user: User, deal_id: int, name: str) -> Deal:
    """Give the user's deal a new name; a blank one keeps the old. Commits."""
    deal = get_deal(session, user, deal_id)
    deal.name = name.strip()[:MAX_NAME] or deal.name
    session.commit()
    return deal


def list_deals(session: Session, user: User, status: DealStatus | None = None, *, limit: int,
               after: list[Any] | None = None, offset: int = 0) -> paging.Paged[Deal]:
    """A page of the user's deals (of one status, or all), newest first: after the key
    `after` (the API) or from `offset` (the pages)."""
    query: Select[Deal] = select(Deal).where(Deal.user_id == user.id)
    if status is not None:
        query = query.where(Deal.status == status)
    return paging.page(session, query, order=[Deal.id], descending=True, limit=limit,
                       after=after, offset=offset)


def deal_with_timeline(session: Session, user: User,
                       deal_id: int) -> tuple[DealSummary, list[TimelineEntry]]:
    """The user's deal, summarised, and its timeline."""
    deal = get_deal(session, user, deal_id)
    [summary] = summarise(session, user, [deal])
    return summary, timeline(session, deal)


def summarise(session: Session, user: User, deals: list[Deal]) -> list[DealSummary]:
    """Touch counts, next planned follow-up and the no-next-touch flag, in three queries."""
    if not deals:
        return []
    ids = [deal.id for deal in deals]
    counts = touch_counts(session, ids)
    upcoming: dict[int, FollowUp] = {}
    planned = select(FollowUp).where(FollowUp.deal_id.in_(ids),
                                     FollowUp.status == FollowUpStatus.PLANNED)
    for followup in session.scalars(planned.order_by(FollowUp.start.desc())):
        upcoming[followup.deal_id] = followup  # ends on the earliest planned one
    flagged = deals_without_next_touch(session, user)
    return [DealSummary(deal, counts[deal.id], upcoming.get(deal.id), deal.id in flagged)
            for deal in deals]


def timeline(session: Session, deal: Deal) -> list[TimelineEntry]:
    """Every touch (asked meetings and follow-ups, answered or not) and every follow-up."""
    entries = [
        TimelineEntry(prompt.touch_at, TimelineKind.TOUCH, prompt=prompt)
        for prompt in session.scalars(select(Prompt).where(Prompt.deal_id == deal.id))
    ]
    prompted = {e.prompt.followup_id for e in entries if e.prompt and e.prompt.followup_id}
    entries += [
        TimelineEntry(followup.start, TimelineKind.FOLLOWUP, followup=followup)
        for followup in session.scalars(select(FollowUp).where(FollowUp.deal_id == deal.id))
        if followup.id not in prompted
    ]
    return sorted(entries, key=lambda entry: entry.at)


def list_followups(session: Session, user: User, status: FollowUpStatus | None = None, *,
                   limit: int,
                   after: list[Any] | None = None) -> paging.Paged[FollowUp]:
    """A page of the user's follow-ups (of one status, or all) by start, earliest first."""
    query: Select[FollowUp] = select(FollowUp).where(FollowUp.user_id == user.id)
    if status is not None:
        query = query.where(FollowUp.status == status)
    return paging.page(session, query, order=[FollowUp.start, FollowUp.id], descending=False,
                       limit=limit, after=after)
