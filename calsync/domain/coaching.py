"""The daily coach's rules: what is due today, what was missed, which deals need a touch or
a definite answer, the last 7 days' record, and when a user's digest is due.

Pure: plain facts in, plain lists out, times aware, "today" in the user's zone.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from calsync.domain.cadence import Cadence
from calsync.domain.promises import PromisesKept, promises_kept
from calsync.domain.vocabulary import (
    DealStatus,
    FollowUpKind,
    FollowUpStatus,
    MissedReason,
    PromptStatus,
    Timeliness,
)

RECORD_DAYS = 7
# A digest not sent at its hour (the clocks skipped it, or no worker ran) still goes out
# within this many hours of it, once: a whole missed morning is not worth a late email.
DIGEST_WINDOW_HOURS = 3


@dataclass(frozen=True)
class FollowUpFact:
    id: int
    deal_id: int
    deal_name: str
    summary: str
    start: datetime
    end: datetime
    status: FollowUpStatus
    cancelled_at: datetime | None = None
    prompt_status: PromptStatus | None = None  # of the prompt asking how it went, if any
    answered_at: datetime | None = None  # when that prompt was answered
    missed_reason: MissedReason | None = None
    missed_note: str = ""
    kind: FollowUpKind = FollowUpKind.FOLLOW_UP
    promise_due: datetime | None = None  # a promise's deadline given to the client
    delivered_at: datetime | None = None  # when a promise was delivered


def kept(followups: Iterable[FollowUpFact], tz: ZoneInfo,
         since: datetime | None = None) -> PromisesKept:
    """The delivered promises among `followups` (since `since`) by how they were kept."""
    return promises_kept(((f.delivered_at, f.promise_due) for f in followups
                          if f.delivered_at is not None and f.promise_due is not None),
                         tz, since)


@dataclass(frozen=True)
class PromptFact:
    id: int
    title: str
    touch_at: datetime


@dataclass(frozen=True)
class DealFact:
    id: int
    name: str
    status: DealStatus
    touches: int  # answered touches
    next_touch: datetime | None  # the earliest planned follow-up, if any


@dataclass(frozen=True)
class ColdDeal:
    """An open deal gone cold (calsync.domain.cold), and since when."""

    id: int
    name: str
    cold_since: datetime


@dataclass(frozen=True)
class WeekRecord:
    """The last RECORD_DAYS days: how the follow-ups whose time fell in them were done."""

    since: datetime
    on_time: int
    late: int
    missed: int
    reasons: Mapping[MissedReason, int]  # reasons given for the late and missed ones
    explained: tuple[FollowUpFact, ...]  # those with a reason, in time order


@dataclass(frozen=True)
class Coaching:
    due_today: tuple[FollowUpFact, ...]
    missed: tuple[FollowUpFact, ...]  # those still without a reason first
    prompts_waiting: tuple[PromptFact, ...]
    unplanned_deals: tuple[DealFact, ...]
    deals_to_close: tuple[DealFact, ...]
    record: WeekRecord
    # Promises delivered in the record's days: early, on time, late.
    promises: PromisesKept = PromisesKept()
    cold: tuple[ColdDeal, ...] = ()  # longest cold first


def coach(followups: Iterable[FollowUpFact], prompts: Iterable[PromptFact],
          deals: Iterable[DealFact], cadence: Cadence, tz: ZoneInfo, now: datetime,
          cold: Iterable[ColdDeal] = ()) -> Coaching:
    """Everything the coach says to one user at `now`; `cold` as given, longest cold first."""
    followups = sorted(followups, key=lambda f: (f.start, f.id))
    cold = tuple(cold)
    gone_cold = {deal.id for deal in cold}
    deals = sorted(deals, key=lambda d: (d.name.casefold(), d.id))
    return Coaching(
        cold=cold,
        due_today=tuple(f for f in followups if is_due_today(f, tz, now)),
        missed=tuple(sorted((f for f in followups if is_missed(f, now)),
                            key=lambda f: f.missed_reason is not None)),
        prompts_waiting=tuple(sorted(prompts, key=lambda p: (p.touch_at, p.id))),
        # A deal without a next touch is named once: a cold one under "Going cold" only.
        # Cold is the stronger word (it says since when) and its advice, plan the next
        # touch, is the same. "Ask for a definite answer" is other advice: it stays.
        unplanned_deals=tuple(d for d in deals if d.status is DealStatus.OPEN
                              and d.next_touch is None and d.id not in gone_cold),
        deals_to_close=tuple(d for d in deals if needs_definite_answer(d, cadence)),
        record=week_record(followups, cadence, tz, now),
        promises=kept(followups, tz, now - timedelta(days=RECORD_DAYS)),
    )


def is_due_today(followup: FollowUpFact, tz: ZoneInfo, now: datetime) -> bool:
    """Planned for later today, in the user's zone, and not over yet."""
    return (followup.status is FollowUpStatus.PLANNED and followup.end > now
            and followup.start.astimezone(tz).date() == now.astimezone(tz).date())


def is_missed(followup: FollowUpFact, now: datetime) -> bool:
    """Still planned, its time over, and nobody said how it went (nor dismissed the question)."""
    unanswered = followup.prompt_status is None or followup.prompt_status.awaiting_answer
    return followup.status is FollowUpStatus.PLANNED and followup.end <= now and unanswered


def needs_definite_answer(deal: DealFact, cadence: Cadence) -> bool:
    """Open after as many touches as the cadence gives before asking for a yes or no."""
    return deal.status is DealStatus.OPEN and deal.touches >= cadence.suggest_close_after


def timeliness(followup: FollowUpFact, cadence: Cadence, tz: ZoneInfo,
               now: datetime) -> Timeliness | None:
    """How a follow-up was done; None while its time is not over, or when it was cancelled
    before its time (the plan changed: nothing was missed)."""
    if followup.end > now:
        return None
    if followup.cancelled_at is not None and followup.cancelled_at <= followup.start:
        return None
    if followup.answered_at is None:
        return Timeliness.MISSED
    if followup.answered_at <= one_working_day_after(followup.start, cadence, tz):
        return Timeliness.ON_TIME
    return Timeliness.LATE


def one_working_day_after(moment: datetime, cadence: Cadence, tz: ZoneInfo) -> datetime:
    """The same wall time on the next working day (Friday 10:00 -> Monday 10:00)."""
    local = moment.astimezone(tz)
    day = local.date() + timedelta(days=1)
    while day.weekday() not in cadence.working_days:
        day += timedelta(days=1)
    return _wall_time(day, local.timetz().replace(tzinfo=None), tz)


def week_record(followups: Iterable[FollowUpFact], cadence: Cadence, tz: ZoneInfo,
                now: datetime) -> WeekRecord:
    """Follow-ups whose time ended in the last RECORD_DAYS days, counted by timeliness."""
    since = now - timedelta(days=RECORD_DAYS)
    counts: Counter[Timeliness] = Counter()
    explained = []
    for followup in followups:
        if not since < followup.end <= now:
            continue
        kind = timeliness(followup, cadence, tz, now)
        if kind is None:
            continue
        counts[kind] += 1
        if kind is not Timeliness.ON_TIME and followup.missed_reason is not None:
            explained.append(followup)
    explained.sort(key=lambda f: (f.start, f.id))
    reasons = Counter(f.missed_reason for f in explained if f.missed_reason is not None)
    return WeekRecord(since=since, on_time=counts[Timeliness.ON_TIME],
                      late=counts[Timeliness.LATE], missed=counts[Timeliness.MISSED],
                      reasons={reason: reasons[reason] for reason in MissedReason
                               if reasons[reason]},
                      explained=tuple(explained))


def digest_day(now: datetime, tz: ZoneInfo, digest_hour: int, cadence: Cadence) -> date | None:
    """The user's local date when their digest is due at `now`: a working day, from
    `digest_hour` o'clock local time for DIGEST_WINDOW_HOURS; None otherwise. On a day the
    clocks skip that hour, the first moment after it counts."""
    local = now.astimezone(tz)
    day = local.date()
    if day.weekday() not in cadence.working_days:
        return None
    due = _wall_time(day, time(digest_hour), tz)
    if due <= now < due + timedelta(hours=DIGEST_WINDOW_HOURS):
        return day
    return None


def _wall_time(day: date, wall: time, tz: ZoneInfo) -> datetime:
    local = datetime.combine(day, wall, tzinfo=tz)
    # Through UTC: a wall time the clocks skip becomes the moment after the gap.
    return local.astimezone(UTC).astimezone(tz)


def reschedule_slot(cadence: Cadence, tz: ZoneInfo, now: datetime) -> datetime:
    """Where a missed follow-up moves by default: the usual time on the next working day."""
    local = now.astimezone(tz)
    usual = time(cadence.usual_hour, cadence.usual_minute)
    return one_working_day_after(_wall_time(local.date(), usual, tz), cadence, tz)
