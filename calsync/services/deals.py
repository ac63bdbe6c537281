"""A user's deals: listing them sorted and searched, with touch counts, first and last touch
and the next follow-up; one deal's timeline; finding one by name to move a touch to; making one
by hand and renaming it; the follow-ups planned for them; the deals gone cold.

How touches group into deals, what a deal is called and what status follows is decided in
`calsync.domain.deals`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Select,
    Subquery,
    and_,
    case,
    exists,
    func,
    or_,
    select,
)
from sqlalchemy.orm import Session

from calsync.config import Settings
from calsync.domain.cadence import Cadence
from calsync.domain.cold import cold_since
from calsync.domain.deals import DealSort, is_overdue
from calsync.domain.vocabulary import (
    TOUCHED,
    DealStatus,
    FollowUpStatus,
    TimelineKind,
)
from calsync.errors import NotFound, ValidationFailed
from calsync.models import Deal, FollowUp, Meeting, Prompt, User
from calsync.services import cadences, paging
from calsync.services.prompts import booked_ahead
from calsync.services.search import meeting_has, text_has, words

# Longest deal name kept: names come from calendars and from people typing.
MAX_NAME = 200
# The deals the "belongs to another deal?" picker lists at once: a search finds the rest.
PICKER_SIZE = 10
# The cold deals the coach names, longest cold first.
COLD_LISTED = 20
# Open deals first, then the won, then the lost.
_STATUS_ORDER = {DealStatus.OPEN: 0, DealStatus.WON: 1, DealStatus.LOST: 2}


@dataclass(frozen=True)
class DealSummary:
    deal: Deal
    touches: int
    next_followup: FollowUp | None  # the earliest planned one
    needs_next_touch: bool  # open, and nothing planned
    since: datetime | None  # the first touch
    last_touch: datetime | None
    overdue: bool  # open, and the next follow-up's time is over with no word on it
    cold_since: datetime | None = None  # when it went cold (calsync.domain.cold); None: warm
    # The first meeting booked with them that covered a follow-up and is still ahead
    # (calsync.services.prompts.booked_ahead).
    booked: Meeting | None = None

    @property
    def cold(self) -> bool:
        return self.cold_since is not None

    @property
    def booked_next(self) -> Meeting | None:
        """The booked meeting when it is the deal's next touch: nothing planned comes first."""
        if self.booked is None or (self.next_followup is not None
                                   and self.next_followup.start <= self.booked.start):
            return None
        return self.booked


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: TimelineKind
    prompt: Prompt | None = None
    followup: FollowUp | None = None
    booked: Meeting | None = None  # the meeting booked ahead that covered `followup`


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
    """Give the user's deal a new name (the page and the API rename this way). Commits;
    raises ValidationFailed (field "name") for a blank one."""
    deal = get_deal(session, user, deal_id)
    name = " ".join(name.split())
    if not name:
        raise ValidationFailed("name", "give the deal a name.")
    deal.name = name[:MAX_NAME]
    session.commit()
    return deal


def list_deals(session: Session, user: User, status: DealStatus | None = None, *,
               search: str = "", sort: DealSort = DealSort.NEWEST, limit: int,
               after: list[Any] | None = None, offset: int = 0,
               now: datetime | None = None,
               settings: Settings | None = None) -> paging.Paged[DealSummary]:
    """A page of the user's deals, summarised: of one status (or all), only those `matching`
    the `search` words when there are any, in the `sort` order; after the key `after` (the
    API) or from `offset` (the pages). Two queries, whatever the page's size. Read only.

    The newest-first order pages by the last deal's id; the others, whose keys change as
    touches are answered, by position (["touches", 100]). Raises ValidationFailed (field
    "cursor") for a key of another order. Whether each is cold follows the user's cadence
    (the configured one with `settings`, else the built-in one) in their time zone."""
    facts, planned = _touch_facts(user), _next_planned(user)
    query = (select(Deal, facts.c.touches, facts.c.since, facts.c.last_touch)
             .outerjoin(facts, facts.c.deal_id == Deal.id)
             .outerjoin(planned, planned.c.deal_id == Deal.id)
             .where(Deal.user_id == user.id))
    if status is not None:
        query = query.where(Deal.status == status)
    if search.strip():
        query = query.where(matching(search))
    if after is not None:
        if sort is DealSort.NEWEST:
            query = query.where(Deal.id < _id_key(after))
        else:
            offset = _position_key(after, sort)
    query = query.order_by(*_order(sort, facts, planned)).offset(offset or None).limit(limit + 1)
    rows = session.execute(query).all()
    more = len(rows) > limit
    rows = rows[:limit]
    summaries = _summaries(session, user, rows, now or datetime.now(UTC),
                           _cadence(user, settings))
    if not more:
        return paging.Paged(summaries, None)
    key = [rows[-1][0].id] if sort is DealSort.NEWEST else [sort.value, offset + limit]
    return paging.Paged(summaries, key)


def matching(search: str) -> ColumnElement[bool]:
    """Deals whose name, or one of whose meetings (title or attendee), holds every word of
    `search`, in any case (calsync.services.search)."""
    return and_(*(or_(text_has(Deal.name, word), _met_about(word)) for word in words(search)))


def _met_about(word: str) -> ColumnElement[bool]:
    """One of the deal's meetings holds `word` in its title or attendees."""
    return exists(select(Prompt.id).join(Meeting, Meeting.id == Prompt.meeting_id)
                  .where(Prompt.deal_id == Deal.id, meeting_has(word)))


def pick_deals(session: Session, user: User, search: str = "", *,
               leave_out: int | None = None) -> list[Deal]:
    """Up to PICKER_SIZE of the user's deals to move a touch to, but `leave_out` (the deal it
    is in): those whose name holds every word of `search`, names starting with it first;
    with no search, those touched last. Open deals before closed ones either way."""
    query = select(Deal).where(Deal.user_id == user.id)
    if leave_out is not None:
        query = query.where(Deal.id != leave_out)
    typed = words(search)
    status_order = case(_STATUS_ORDER, value=Deal.status)
    if typed:
        query = query.where(*(text_has(Deal.name, word) for word in typed))
        starts = case((text_has(Deal.name, typed[0], anywhere=False), 0), else_=1)
        query = query.order_by(starts, status_order, func.lower(Deal.name), Deal.id.desc())
    else:
        facts = _touch_facts(user)
        query = (query.outerjoin(facts, facts.c.deal_id == Deal.id)
                 .order_by(status_order, facts.c.last_touch.is_(None),
                           facts.c.last_touch.desc(), Deal.id.desc()))
    return list(session.scalars(query.limit(PICKER_SIZE)))


def deal_with_timeline(session: Session, user: User, deal_id: int,
                       settings: Settings | None = None
                       ) -> tuple[DealSummary, list[TimelineEntry]]:
    """The user's deal, summarised, and its timeline."""
    deal = get_deal(session, user, deal_id)
    return summarise(session, user, deal, settings=settings), timeline(session, deal)


def summarise(session: Session, user: User, deal: Deal,
              now: datetime | None = None, settings: Settings | None = None) -> DealSummary:
    """The deal's touches, first and last touch and next follow-up, in two queries."""
    facts = _touch_facts(user)
    row = session.execute(select(Deal, facts.c.touches, facts.c.since, facts.c.last_touch)
                          .outerjoin(facts, facts.c.deal_id == Deal.id)
                          .where(Deal.id == deal.id)).one()
    [summary] = _summaries(session, user, [row], now or datetime.now(UTC),
                           _cadence(user, settings))
    return summary


def cold_deals(session: Session, settings: Settings, user: User,
               now: datetime | None = None, *, limit: int = COLD_LISTED) -> list[DealSummary]:
    """The user's open deals gone cold, longest cold first, at most `limit`: two queries
    however many deals are open. Read only."""
    now = now or datetime.now(UTC)
    facts = _touch_facts(user)
    rows = session.execute(select(Deal, facts.c.touches, facts.c.since, facts.c.last_touch)
                           .outerjoin(facts, facts.c.deal_id == Deal.id)
                           .where(Deal.user_id == user.id, Deal.status == DealStatus.OPEN)).all()
    cold = [summary for summary in _summaries(session, user, rows, now,
                                              cadences.cadence_for(user, settings))
            if summary.cold_since is not None]
    cold.sort(key=lambda summary: (summary.cold_since, -summary.deal.id))
    return cold[:limit]


def _cadence(user: User, settings: Settings | None) -> Cadence:
    """The user's cadence: the configured one with `settings`, else the built-in one, with
    the user's own changes on top."""
    if settings is not None:
        return cadences.cadence_for(user, settings)
    return Cadence.from_mapping(user.cadence) if user.cadence else Cadence()


def _summaries(session: Session, user: User, rows: Sequence[Any], now: datetime,
               cadence: Cadence) -> list[DealSummary]:
    """Rows of (deal, touches, since, last touch) summarised with their planned follow-ups
    (the next one, and whether the deal went cold), read in one query. A meeting booked with
    them that covered a follow-up (calsync.services.booked) is their next touch while it is
    ahead: the deal is neither without a next touch nor cold."""
    ids = [row[0].id for row in rows]
    upcoming: dict[int, FollowUp] = {}
    planned_ends: dict[int, list[datetime]] = {}
    booked: dict[int, Meeting] = {}
    if ids:
        planned = (select(FollowUp, Meeting)
                   .outerjoin(Meeting, Meeting.id == FollowUp.booked_meeting_id)
                   .where(FollowUp.deal_id.in_(ids),
                          or_(FollowUp.status == FollowUpStatus.PLANNED, booked_ahead(now))))
        for followup, meeting in session.execute(planned.order_by(FollowUp.start.desc(),
                                                                  FollowUp.id.desc())):
            if followup.status is FollowUpStatus.PLANNED:
                upcoming[followup.deal_id] = followup  # ends on the earliest planned one
                planned_ends.setdefault(followup.deal_id, []).append(followup.end)
            else:
                first = booked.get(followup.deal_id)
                if first is None or meeting.start < first.start:
                    booked[followup.deal_id] = meeting
                planned_ends.setdefault(followup.deal_id, []).append(meeting.end)
    tz = ZoneInfo(user.timezone)
    summaries = []
    for deal, touches, since, last_touch in rows:
        next_followup = upcoming.get(deal.id)
        summaries.append(DealSummary(
            deal=deal, touches=touches or 0, next_followup=next_followup,
            needs_next_touch=(deal.status == DealStatus.OPEN and next_followup is None
                              and deal.id not in booked),
            since=since, last_touch=last_touch,
            overdue=is_overdue(deal.status, next_followup.end if next_followup else None, now),
            cold_since=cold_since(deal.status, planned_ends.get(deal.id, ()), touches or 0,
                                  last_touch, cadence, tz, now),
            booked=booked.get(deal.id)))
    return summaries


def _touch_facts(user: User) -> Subquery:
    """Per deal of the user: its touches (answered or covered prompts, as touch_counts),
    the first (since) and the last touch's time."""
    return (select(Prompt.deal_id.label("deal_id"), func.count(Prompt.id).label("touches"),
                   func.min(Prompt.touch_at).label("since"),
                   func.max(Prompt.touch_at).label("last_touch"))
            .where(Prompt.user_id == user.id, Prompt.deal_id.is_not(None),
                   Prompt.status.in_(TOUCHED))
            .group_by(Prompt.deal_id).subquery("touch_facts"))


def _next_planned(user: User) -> Subquery:
    """Per deal of the user: the start of its earliest planned follow-up."""
    return (select(FollowUp.deal_id.label("deal_id"), func.min(FollowUp.start).label("next_at"))
            .where(FollowUp.user_id == user.id, FollowUp.status == FollowUpStatus.PLANNED)
            .group_by(FollowUp.deal_id).subquery("next_planned"))


def _order(sort: DealSort, facts: Subquery, planned: Subquery) -> list[ColumnElement[Any]]:
    """The ORDER BY of a sort; the newest deal first breaks every tie, so pages are stable.
    Nulls are ordered by an explicit term: SQLite and PostgreSQL put them at opposite ends."""
    newest = Deal.id.desc()
    status = case(_STATUS_ORDER, value=Deal.status)
    # The earliest planned follow-up first (those overdue are the earliest), then open deals
    # with nothing planned (about to be forgotten), then the closed ones.
    by_next = [planned.c.next_at.is_(None), planned.c.next_at.asc(), status]
    if sort is DealSort.NEXT:
        return [*by_next, newest]
    if sort is DealSort.LAST_TOUCH:
        return [facts.c.last_touch.is_(None), facts.c.last_touch.desc(), newest]
    if sort is DealSort.TOUCHES:
        return [func.coalesce(facts.c.touches, 0).desc(), newest]
    if sort is DealSort.STATUS:
        return [status, *by_next, newest]
    return [newest]


def _id_key(after: list[Any]) -> int:
    """The last deal's id of a newest-first page's key."""
    if len(after) != 1 or not isinstance(after[0], int) or isinstance(after[0], bool):
        raise paging.invalid_cursor()
    return after[0]


def _position_key(after: list[Any], sort: DealSort) -> int:
    """Where the next page of a sorted list starts, from its key [sort, position]."""
    if (len(after) != 2 or after[0] != sort.value or not isinstance(after[1], int)
            or isinstance(after[1], bool) or after[1] < 0):
        raise paging.invalid_cursor()
    return after[1]


def timeline(session: Session, deal: Deal, now: datetime | None = None) -> list[TimelineEntry]:
    """Every touch (asked meetings and follow-ups, answered or not) and every follow-up; a
    follow-up covered by a meeting booked with them carries that meeting while it is ahead
    (once it has happened, its prompt is a touch of its own)."""
    entries = [
        TimelineEntry(prompt.touch_at, TimelineKind.TOUCH, prompt=prompt)
        for prompt in session.scalars(select(Prompt).where(Prompt.deal_id == deal.id))
    ]
    prompted = {e.prompt.followup_id for e in entries if e.prompt and e.prompt.followup_id}
    rows = session.execute(
        select(FollowUp, Meeting)
        .outerjoin(Meeting, and_(Meeting.id == FollowUp.booked_meeting_id,
                                 booked_ahead(now or datetime.now(UTC))))
        .where(FollowUp.deal_id == deal.id))
    entries += [
        TimelineEntry(followup.start, TimelineKind.FOLLOWUP, followup=followup, booked=meeting)
        for followup, meeting in rows if followup.id not in prompted
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
