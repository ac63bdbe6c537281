"""Prompts: created when a meeting or follow-up has ended, listed (the inbox), woken from snooze.

Answering them lives in `calsync.services.answers`; the rules for who gets asked are in the domain.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    exists,
    func,
    insert,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, object_session, selectinload

from calsync.config import Settings
from calsync.db import rows_changed
from calsync.domain.cadence import Suggestion, suggest_next
from calsync.domain.deals import Counterpart, counterpart_of, decides_status
from calsync.domain.meeting import Attendee, MeetingData
from calsync.domain.prompting import PromptRules, prompt_decision
from calsync.domain.slots import Busy
from calsync.domain.vocabulary import (
    AWAITING_ANSWER,
    TOUCHED,
    CancelReason,
    Channel,
    DealStatus,
    DismissReason,
    FollowUpKind,
    FollowUpStatus,
    MeetingStatus,
    Outcome,
    PromptStatus,
)
from calsync.errors import NotFound, ValidationFailed
from calsync.models import Deal, FollowUp, Meeting, Prompt, SkippedSeries, Source, User
from calsync.services import cadences, paging, prompt_limits, prompt_mail
from calsync.services.search import meeting_has, text_has, words

# Meetings judged per transaction: a flood of ended meetings never holds the write lock long.
PROMPT_PAGE = 200
# What every list of prompts shows of each: loaded with the page, not one by one.
EAGER = (selectinload(Prompt.meeting), selectinload(Prompt.followup),
         selectinload(Prompt.deal))
# The open deals with no next touch the inbox names; the rest are only counted.
UNPLANNED_NAMED = 20
# The most prompts put away at once: more than a page of the inbox holds.
PUT_AWAY_MAX = 500


def meeting_data(meeting: Meeting) -> MeetingData:
    return MeetingData(
        uid=meeting.uid, recurrence_id=meeting.recurrence_id, title=meeting.title,
        start=meeting.start, end=meeting.end, all_day=meeting.all_day,
        start_date=meeting.start_date, end_date=meeting.end_date, status=meeting.status,
        attendees=tuple(Attendee(**a) for a in meeting.attendees or ()),
        organizer=meeting.organizer, location=meeting.location,
        description=meeting.description, series_uid=meeting.series_uid,
        conference_url=meeting.conference_url, attendee_count=meeting.attendee_count or 0,
    )


def create_due_prompts(session: Session, settings: Settings, now: datetime,
                       user_id: int | None = None) -> int:
    """Prompt every meeting and follow-up that has ended and has no prompt yet; returns how many.

    Commits a page of meetings at a time (each page is a unit of work), so a flood of
    ended meetings never holds the write lock long; the follow-ups' prompts at the end.
    """
    created = _prompt_meetings(session, settings, now, user_id)
    created += _prompt_followups(session, settings, now, user_id)
    session.commit()
    return created


def _prompt_meetings(session: Session, settings: Settings, now: datetime,
                     user_id: int | None) -> int:
    due = _due_meetings(settings, now)
    if user_id is not None:
        return _prompt_user_meetings(session, settings, now, user_id, due)
    users = list(session.scalars(select(Meeting.user_id).where(*due).distinct()))
    return sum(_prompt_user_meetings(session, settings, now, uid, due) for uid in users)


def _due_meetings(settings: Settings, now: datetime) -> list[ColumnElement[bool]]:
    """Ended meetings within the lookback that have no prompt and no reason to skip yet."""
    skipped = exists().where(
        SkippedSeries.source_id == Meeting.source_id,
        SkippedSeries.series_uid == Meeting.series_uid,
        Meeting.series_uid != "",
    )
    return [
        Meeting.end <= now - timedelta(minutes=settings.prompt_grace_minutes),
        Meeting.end >= now - timedelta(days=settings.prompt_lookback_days),
        Meeting.status == MeetingStatus.CONFIRMED,
        Meeting.all_day.is_(False),
        Meeting.prompt_skip.is_(None),
        ~exists().where(Prompt.meeting_id == Meeting.id),
        ~skipped,
    ]


def _prompt_user_meetings(session: Session, settings: Settings, now: datetime, user_id: int,
                          due: list[ColumnElement[bool]]) -> int:
    """Judge one user's due meetings a page at a time, each page its own transaction, and
    prompt at most what the limits allow (see calsync.services.prompt_limits)."""
    user = session.get(User, user_id)
    assert user is not None
    rules = cadences.rules_for(user, settings)
    allowed = prompt_limits.allowed(session, settings, user_id, now)
    query = select(Meeting).where(*due, Meeting.user_id == user_id).order_by(
        Meeting.end, Meeting.id).limit(PROMPT_PAGE)
    created, after = 0, None
    deals: dict[str, int] = {}  # committed with each page, so later pages use them as they are
    while created < allowed:
        page = list(session.scalars(query if after is None else query.where(
            tuple_(Meeting.end, Meeting.id) > after)))
        if not page:
            return created
        after = (page[-1].end, page[-1].id)
        try:
            created += _judge(session, settings, user, rules, page, now, allowed - created,
                              deals)
            session.commit()
        except IntegrityError:
            # The sync's pass and the tick's raced to this user's prompts or deals; the
            # unique keys let one win, and the other leaves the rest to it.
            session.rollback()
            return created
    prompt_limits.hold_back(session, settings, user_id, now, due)
    return created


def _judge(session: Session, settings: Settings, user: User, rules: PromptRules,
           page: list[Meeting], now: datetime, room: int, deals: dict[str, int]) -> int:
    """Prompt up to `room` meetings of `page`, each with its email; remember why the others
    are skipped. `deals` is the user's deal ids by key found so far (see `deal_ids`)."""
    chosen: list[tuple[Meeting, Counterpart]] = []
    for meeting in page:
        data = meeting_data(meeting)
        decision = prompt_decision(data, rules, now)
        if decision.prompt and len(chosen) < room:
            chosen.append((meeting, counterpart_of(data, rules)))
        elif decision.reason.remembered:
            meeting.prompt_skip = decision.reason  # stable reasons: don't judge it again
    deal_ids(session, user.id, [counterpart for _meeting, counterpart in chosen], deals)
    created = [Prompt(user_id=user.id, meeting_id=meeting.id, deal_id=deals[counterpart.key],
                      touch_at=meeting.end, status=PromptStatus.PENDING, created_at=now)
               for meeting, counterpart in chosen]
    session.add_all(created)
    prompt_mail.prompts_due(session, settings, created, now)
    return len(created)


def _prompt_followups(session: Session, settings: Settings, now: datetime,
                      user_id: int | None) -> int:
    grace = timedelta(minutes=settings.prompt_grace_minutes)
    query = select(FollowUp).where(
        FollowUp.status == FollowUpStatus.PLANNED,
        FollowUp.end <= now - grace,
        ~exists().where(Prompt.followup_id == FollowUp.id),
    )
    if user_id is not None:
        query = query.where(FollowUp.user_id == user_id)
    created = [Prompt(user_id=followup.user_id, followup_id=followup.id,
                      deal_id=followup.deal_id, touch_at=followup.end,
                      status=PromptStatus.PENDING) for followup in session.scalars(query)]
    session.add_all(created)
    prompt_mail.prompts_due(session, settings, created, now)
    return len(created)


def deal_ids(session: Session, user_id: int, counterparts: Sequence[Counterpart],
             known: dict[str, int]) -> None:
    """Add to `known` (deal id by key) the deal of each counterpart: the user's deals not
    known yet read in one query, those met for the first time created in one INSERT (named
    as the first of `counterparts` with their key calls them). Part of the caller's unit of
    work: when another pass created one of the same deals first, the unique key (user, key)
    fails this INSERT with IntegrityError, and the caller leaves the rest to that pass."""
    names: dict[str, str] = {}
    for counterpart in counterparts:
        if counterpart.key not in known:
            names.setdefault(counterpart.key, counterpart.name[:200])
    if not names:
        return
    for key, deal_id in session.execute(select(Deal.key, Deal.id).where(
            Deal.user_id == user_id, Deal.key.in_(names))):
        known[str(key)] = deal_id
    new = [{"user_id": user_id, "key": key, "name": name} for key, name in names.items()
           if key not in known]
    if new:
        for key, deal_id in session.execute(insert(Deal).returning(Deal.key, Deal.id), new):
            known[str(key)] = deal_id


def wake_snoozed(session: Session, now: datetime, user_id: int | None = None) -> None:
    """Snoozes that ran out become pending again (commits); a read-only check when none did."""
    due = [Prompt.status == PromptStatus.SNOOZED, Prompt.snoozed_until <= now]
    if user_id is not None:
        due.append(Prompt.user_id == user_id)
    if session.scalar(select(Prompt.id).where(*due).limit(1)) is None:
        return  # the inbox is read on every page view: don't take a write lock for nothing
    session.execute(update(Prompt).where(*due).values(status=PromptStatus.PENDING,
                                                      snoozed_until=None))
    session.commit()


def put_away(session: Session, user: User, prompt_ids: Collection[int], *,
             snooze_until: datetime | None = None, now: datetime | None = None) -> int:
    """Several prompts at once (the inbox's selection): snoozed until `snooze_until`, or,
    without it, not a sales meeting, as `answers.snooze` and `answers.dismiss` do one prompt
    (notes kept as they are). Prompts answered or put away meanwhile, or not the user's,
    are left alone. One unit of work: commits once; returns how many were put away."""
    now = now or datetime.now(UTC)
    if not prompt_ids:
        raise ValidationFailed("prompt_ids", "pick at least one prompt.")
    if len(prompt_ids) > PUT_AWAY_MAX:
        raise ValidationFailed("prompt_ids", f"pick at most {PUT_AWAY_MAX} prompts at once.")
    if snooze_until is not None and (snooze_until.tzinfo is None or snooze_until <= now):
        raise ValidationFailed("until", "choose a time in the future.")
    values: dict[str, Any] = (
        {"status": PromptStatus.DISMISSED, "dismiss_reason": DismissReason.NOT_SALES}
        if snooze_until is None else
        {"status": PromptStatus.SNOOZED, "snoozed_until": snooze_until})
    # One UPDATE: its WHERE re-checks each prompt's owner and status under the write lock.
    done = session.execute(update(Prompt).where(
        Prompt.user_id == user.id, Prompt.id.in_(set(prompt_ids)),
        Prompt.status.in_(AWAITING_ANSWER)).values(**values).execution_options(
        synchronize_session="fetch"))
    session.commit()
    return rows_changed(done)


def get_prompt(session: Session, user: User, prompt_id: int) -> Prompt:
    prompt = session.get(Prompt, prompt_id)
    if prompt is None or prompt.user_id != user.id:
        raise NotFound("No such prompt.")
    return prompt


def prompts_query(user: User, status: PromptStatus | None = None) -> Select[Prompt]:
    """The user's prompts (of one status, or all), newest touch first."""
    query = select(Prompt).where(Prompt.user_id == user.id)
    if status is not None:
        query = query.where(Prompt.status == status)
    return query.order_by(Prompt.touch_at.desc(), Prompt.id.desc())


def list_prompts(session: Session, user: User, status: PromptStatus | None = None, *,
                 limit: int,
                 after: list[Any] | None = None, offset: int = 0,
                 search: str = "") -> paging.Paged[Prompt]:
    """A page of the user's prompts, newest touch first, with their meetings and deals:
    after the key `after` (the API) or from `offset` (the inbox); only those `matching`
    the `search` words when there are any."""
    query = prompts_query(user, status).order_by(None).options(*EAGER)
    if search.strip():
        query = query.where(matching(search))
    return paging.page(session, query, order=[Prompt.touch_at, Prompt.id], descending=True,
                       limit=limit, after=after, offset=offset)


def matching(search: str) -> ColumnElement[bool]:
    """Prompts whose meeting (title or attendee) or follow-up title or deal name holds every
    word of `search`, in any case (calsync.services.search)."""
    meeting = select(Meeting.id).where(Meeting.id == Prompt.meeting_id)
    followup = select(FollowUp.id).where(FollowUp.id == Prompt.followup_id)
    deal = select(Deal.id).where(Deal.id == Prompt.deal_id)
    return and_(*(or_(exists(meeting.where(meeting_has(word))),
                      exists(followup.where(text_has(FollowUp.summary, word))),
                      exists(deal.where(text_has(Deal.name, word))))
                  for word in words(search)))


@dataclass(frozen=True)
class Inbox:
    """One page of the inbox and what it says around the prompts."""

    pending: list[Prompt]  # newest touch first
    contexts: dict[int, TouchContext]  # by prompt id
    total: int  # pending prompts on every page, searched for or not
    matching: int  # the pending prompts the search finds (the total without one)
    unplanned: list[Deal]  # the first UNPLANNED_NAMED open deals with no next touch, by name
    unplanned_count: int
    snoozed: int
    has_sources: bool


def read_inbox(session: Session, user: User, *, page: int, page_size: int,
               search: str = "") -> Inbox:
    """Page `page` (from 1) of the pending prompts, only those `matching` the `search` when
    there is one. Read only: `wake_snoozed` first."""
    pending = list_prompts(session, user, PromptStatus.PENDING, limit=page_size,
                           offset=(page - 1) * page_size, search=search).items
    total = _count(session, user, PromptStatus.PENDING)
    unplanned_ids = deals_without_next_touch(session, user)
    unplanned = list(session.scalars(select(Deal).where(Deal.id.in_(unplanned_ids))
                                     .order_by(Deal.name).limit(UNPLANNED_NAMED)))
    has_sources = session.scalar(
        select(Source.id).where(Source.user_id == user.id).limit(1)) is not None
    return Inbox(pending=pending, contexts=touch_contexts(session, pending), total=total,
                 matching=_count(session, user, PromptStatus.PENDING, search) if search.strip()
                 else total, unplanned=unplanned,
                 unplanned_count=len(unplanned_ids),
                 snoozed=_count(session, user, PromptStatus.SNOOZED),
                 has_sources=has_sources)


def _count(session: Session, user: User, status: PromptStatus, search: str = "") -> int:
    query = select(func.count(Prompt.id)).where(Prompt.user_id == user.id,
                                                Prompt.status == status)
    return session.scalar(query.where(matching(search)) if search.strip() else query) or 0


@dataclass(frozen=True)
class TouchContext:
    """Where a prompt's touch stands in its deal: answered (or covered) touches before it,
    and the channel promised at the last one; and what its page's suggestions must avoid."""

    touches_before: int
    promised_channel: Channel | None
    # The user's meetings and planned follow-ups around the page's suggestions (None: not
    # loaded, suggestion_for loads its own) ...
    busy: Sequence[Busy] | None = None
    # ... and the slots already suggested on the page, by prompt id: shared by the page's
    # contexts, so two prompts (of one deal or not) never suggest the same half hour.
    suggested: dict[int, Busy] = field(default_factory=dict)


# How far past the page's latest touch its suggestions are looked for in the calendar: the
# cadence's usual gaps and a few full days after them.
BUSY_WINDOW = timedelta(days=45)


def touch_contexts(session: Session, prompts: list[Prompt],
                   now: datetime | None = None) -> dict[int, TouchContext]:
    """The context of every prompt in three queries, however many prompts a page shows."""
    deal_ids = {p.deal_id for p in prompts if p.deal_id is not None}
    answered = session.execute(
        select(Prompt.id, Prompt.deal_id, Prompt.touch_at, FollowUp.channel)
        .outerjoin(FollowUp, FollowUp.id == Prompt.planned_followup_id)
        .where(Prompt.deal_id.in_(deal_ids), Prompt.status.in_(TOUCHED))
        .order_by(Prompt.touch_at, Prompt.id)).all() if deal_ids else []
    busy = _busy_for(session, prompts, now or datetime.now(UTC))
    suggested: dict[int, Busy] = {}
    contexts = {}
    for prompt in prompts:
        earlier = [(pid, channel) for pid, deal, at, channel in answered
                   if deal == prompt.deal_id and pid != prompt.id and at <= prompt.touch_at]
        promised = [channel for _pid, channel in earlier if channel]
        # A follow-up's own channel is what was promised for it; otherwise the channel
        # of the next step planned at the latest earlier touch.
        channel = prompt.followup.channel if prompt.followup is not None else None
        contexts[prompt.id] = TouchContext(
            len(earlier), channel or (promised[-1] if promised else None), busy, suggested)
    return contexts


def _busy_for(session: Session, prompts: list[Prompt], now: datetime) -> list[Busy]:
    """The busy times the prompts' suggestions could run into: from now (a suggestion is
    never in the past) to BUSY_WINDOW after the latest touch."""
    if not prompts:
        return []
    latest = max(max(p.touch_at for p in prompts), now)
    return busy_between(session, prompts[0].user_id, now - timedelta(days=1),
                        latest + BUSY_WINDOW)


def busy_between(session: Session, user_id: int, start: datetime, end: datetime, *,
                 exclude_followup: int | None = None) -> list[Busy]:
    """The user's confirmed meetings (from every calendar) and planned follow-ups that
    overlap [start, end), in one query. All-day events mark a day (a holiday, a birthday,
    travel), not a time the user is in a meeting, so they leave the day free."""
    meetings = select(Meeting.start, Meeting.end, Meeting.title).where(
        Meeting.user_id == user_id, Meeting.status == MeetingStatus.CONFIRMED,
        Meeting.all_day.is_(False), Meeting.start < end, Meeting.end > start)
    followups = select(FollowUp.start, FollowUp.end, FollowUp.summary).where(
        FollowUp.user_id == user_id, FollowUp.status == FollowUpStatus.PLANNED,
        FollowUp.start < end, FollowUp.end > start,
        FollowUp.id != (exclude_followup if exclude_followup is not None else -1))
    rows = session.execute(meetings.union_all(followups)).all()
    return [Busy(begin, finish, title or "Untitled meeting")
            for begin, finish, title in rows if finish > begin]


def touch_counts(session: Session, deal_ids: Collection[int]) -> dict[int, int]:
    """Each deal's touches, answered or covered (0 for a deal with none), in one query."""
    counts = dict(session.execute(
        select(Prompt.deal_id, func.count(Prompt.id))
        .where(Prompt.deal_id.in_(deal_ids), Prompt.status.in_(TOUCHED))
        .group_by(Prompt.deal_id)).all())
    return {deal_id: counts.get(deal_id, 0) for deal_id in deal_ids}


def deal_touches(session: Session, deal_id: int) -> int:
    return touch_counts(session, [deal_id])[deal_id]


def is_after_sale(prompt: Prompt) -> bool:
    """Whether the prompt asks about a touch of a won deal (a check-in, a referral ask, an
    up-sell review, a follow-through after the win): its answer never reopens or closes the
    deal (see calsync.domain.deals.decides_status). Read only."""
    touch = prompt.followup
    if touch is None or prompt.deal is None:
        return False
    status = prompt.deal.status
    if status is DealStatus.WON and touch.kind is FollowUpKind.FOLLOW_THROUGH:
        status = _won_before(prompt)  # this follow-through's own yes won it: a sales touch
    return not decides_status(touch.kind, status)


def _won_before(prompt: Prompt) -> DealStatus:
    """WON when another yes of the prompt's deal came at or before its touch, else OPEN.
    Read only."""
    session = object_session(prompt)
    assert session is not None
    earlier_yes = session.scalar(select(Prompt.id).where(
        Prompt.deal_id == prompt.deal_id, Prompt.id != prompt.id,
        Prompt.status == PromptStatus.ANSWERED, Prompt.outcome == Outcome.YES,
        Prompt.touch_at <= prompt.touch_at).limit(1))
    return DealStatus.WON if earlier_yes is not None else DealStatus.OPEN


def suggestion_for(session: Session, settings: Settings, user: User, prompt: Prompt,
                   now: datetime | None = None, context: TouchContext | None = None
                   ) -> Suggestion:
    """What the cadence suggests as the next touch after this prompt's touch, in a free
    slot: clear of the user's meetings, planned follow-ups and the suggestions already
    made on the same page (the context's)."""
    now = now or datetime.now(UTC)
    context = context or touch_contexts(session, [prompt], now)[prompt.id]
    busy = context.busy if context.busy is not None else _busy_for(session, [prompt], now)
    others = [slot for pid, slot in context.suggested.items() if pid != prompt.id]
    suggestion = suggest_next(
        cadences.cadence_for(user, settings),
        touches=context.touches_before + 1,
        last_touch_at=prompt.touch_at,
        last_channel=context.promised_channel,
        tz=ZoneInfo(user.timezone),
        now=now,
        busy=[*busy, *others],
        after_sale=is_after_sale(prompt),
    )
    end = suggestion.start + timedelta(minutes=suggestion.duration_minutes)
    context.suggested[prompt.id] = Busy(suggestion.start, end, "another suggestion")
    return suggestion


def booked_ahead(now: datetime) -> ColumnElement[bool]:
    """A follow-up covered by a meeting booked with them (calsync.services.booked) that is
    still ahead at `now`: the meeting is its deal's next touch. For a query that has
    `Meeting` joined on `FollowUp.booked_meeting_id`."""
    return and_(FollowUp.status == FollowUpStatus.CANCELLED,
                FollowUp.cancel_reason == CancelReason.BOOKED,
                Meeting.status == MeetingStatus.CONFIRMED, Meeting.end > now)


def touch_ahead(now: datetime) -> ColumnElement[bool]:
    """A follow-up that stands for its deal's next touch: planned, or `booked_ahead`."""
    booked = exists().where(Meeting.id == FollowUp.booked_meeting_id, booked_ahead(now))
    return or_(FollowUp.status == FollowUpStatus.PLANNED, booked.correlate_except(Meeting))


def deals_without_next_touch(session: Session, user: User,
                             now: datetime | None = None) -> set[int]:
    """Open deals with nothing planned and no meeting booked ahead: the ones at risk of
    being forgotten."""
    ahead = exists().where(FollowUp.deal_id == Deal.id, touch_ahead(now or datetime.now(UTC)))
    query = select(Deal.id).where(Deal.user_id == user.id, Deal.status == DealStatus.OPEN,
                                  ~ahead)
    return set(session.scalars(query))


def reset_prompt_skips(session: Session, user: User) -> None:
    """The user's rules changed: meetings judged before are judged again. Part of the
    caller's unit of work."""
    session.execute(update(Meeting).where(Meeting.user_id == user.id)
                    .values(prompt_skip=None))
