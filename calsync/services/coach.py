"""The daily coach: what is due today, what was missed and why, and the last week's record.

Loads a user's follow-ups, prompts and deals and hands them to `calsync.domain.coaching`;
records why a follow-up was missed and moves a missed follow-up to a new time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from calsync.config import Settings
from calsync.domain import coaching
from calsync.domain.coaching import Coaching, DealFact, FollowUpFact, PromptFact
from calsync.domain.text import calendar_text
from calsync.domain.vocabulary import (
    DealStatus,
    FollowUpStatus,
    MissedReason,
    PromptStatus,
)
from calsync.errors import ValidationFailed
from calsync.models import Deal, FollowUp, Meeting, Prompt, User
from calsync.services import answers, cadences, prompts
from calsync.services.deals import cold_deals, get_followup

MAX_MISSED_NOTE = 2_000
REASONS = tuple(reason.value for reason in MissedReason)


def record_missed_reason(session: Session, user: User, followup_id: int, reason: str,
                         note: str = "", now: datetime | None = None) -> FollowUp:
    """Record why the user's follow-up `followup_id` was missed (a second answer replaces
    the first); commits. Raises NotFound, and ValidationFailed (field "reason" or "note")
    for an unknown reason, OTHER without a note, or a follow-up whose time has not passed."""
    now = now or datetime.now(UTC)
    if reason not in REASONS:
        raise ValidationFailed("reason", f"use one of: {', '.join(REASONS)}.")
    note = calendar_text(note).strip()
    if reason == MissedReason.OTHER and not note:
        raise ValidationFailed("note", "say in a few words why it was missed.")
    if len(note) > MAX_MISSED_NOTE:
        raise ValidationFailed("note", f"keep the note under {MAX_MISSED_NOTE} characters.")
    followup = get_followup(session, user, followup_id)
    if followup.start > now:
        raise ValidationFailed("reason", "this follow-up's time has not come yet.")
    followup.missed_reason = MissedReason(reason)
    followup.missed_note = note
    followup.missed_reason_at = now
    session.commit()
    return followup


def coaching_for(session: Session, settings: Settings, user: User,
                 now: datetime | None = None) -> Coaching:
    """What the coach says to `user` at `now`: today's and missed follow-ups, prompts
    waiting, deals gone cold, to plan or to close, and the last 7 days' record. Read only."""
    now = now or datetime.now(UTC)
    cold = [coaching.ColdDeal(s.deal.id, s.deal.name, s.cold_since)
            for s in cold_deals(session, settings, user, now) if s.cold_since is not None]
    return coaching.coach(_followups(session, user, now), _prompts_waiting(session, user),
                          _open_deals(session, user, now),
                          cadences.cadence_for(user, settings),
                          ZoneInfo(user.timezone), now, cold)


def _followups(session: Session, user: User, now: datetime) -> list[FollowUpFact]:
    """Every planned follow-up (a missed one stays missed until it is dealt with) and every
    one whose time ended within the record's days."""
    since = now - timedelta(days=coaching.RECORD_DAYS)
    return followup_facts(session, user,
                          or_(FollowUp.status == FollowUpStatus.PLANNED, FollowUp.end > since))


def followup_facts(session: Session, user: User,
                   *where: ColumnElement[bool]) -> list[FollowUpFact]:
    """The user's follow-ups that match `where`, each with its deal's name and how its
    prompt stands, as the coach and the dashboard judge them. Read only."""
    rows = session.execute(
        select(FollowUp, Deal.name, Prompt.status, Prompt.answered_at)
        .join(Deal, Deal.id == FollowUp.deal_id)
        .outerjoin(Prompt, Prompt.followup_id == FollowUp.id)
        .where(FollowUp.user_id == user.id, *where)).all()
    return [FollowUpFact(
        id=followup.id, deal_id=followup.deal_id, deal_name=deal_name,
        summary=followup.summary, start=followup.start, end=followup.end,
        status=followup.status, cancelled_at=followup.cancelled_at,
        prompt_status=prompt_status,
        # A prompt answered, then put away, was not answered after all; one covered by a
        # later answer of its deal was, when that answer was given.
        answered_at=answered_at if prompt_status is not None and prompt_status.counts_as_touch
        else None,
        missed_reason=followup.missed_reason, missed_note=followup.missed_note or "",
        kind=followup.kind, promise_due=followup.promise_due,
        delivered_at=followup.delivered_at)
        for followup, deal_name, prompt_status, answered_at in rows]


def _prompts_waiting(session: Session, user: User) -> list[PromptFact]:
    rows = session.execute(
        select(Prompt.id, Meeting.title, FollowUp.summary, Prompt.touch_at)
        .outerjoin(Meeting, Meeting.id == Prompt.meeting_id)
        .outerjoin(FollowUp, FollowUp.id == Prompt.followup_id)
        .where(Prompt.user_id == user.id, Prompt.status == PromptStatus.PENDING)).all()
    return [PromptFact(id=pid, title=title or summary or "Untitled meeting", touch_at=touch_at)
            for pid, title, summary, touch_at in rows]


def _open_deals(session: Session, user: User, now: datetime) -> list[DealFact]:
    """Open deals with their next touch: the first planned follow-up, else a meeting booked
    with them that is still ahead (calsync.services.booked)."""
    planned = (select(func.min(FollowUp.start))
               .where(FollowUp.deal_id == Deal.id, FollowUp.status == FollowUpStatus.PLANNED)
               .correlate(Deal).scalar_subquery())
    booked = (select(func.min(Meeting.start))
              .join(FollowUp, FollowUp.booked_meeting_id == Meeting.id)
              .where(FollowUp.deal_id == Deal.id, prompts.booked_ahead(now))
              .correlate(Deal).scalar_subquery())
    next_touch = func.coalesce(planned, booked)
    rows = session.execute(select(Deal.id, Deal.name, next_touch).where(
        Deal.user_id == user.id, Deal.status == DealStatus.OPEN)).all()
    touches = prompts.touch_counts(session, [deal_id for deal_id, _name, _next in rows])
    return [DealFact(id=deal_id, name=name, status=DealStatus.OPEN, touches=touches[deal_id],
                     next_touch=next_at)
            for deal_id, name, next_at in rows]


def reschedule_slot(settings: Settings, user: User, now: datetime | None = None) -> datetime:
    """The time a missed follow-up moves to unless the user picks another."""
    return coaching.reschedule_slot(cadences.cadence_for(user, settings), ZoneInfo(user.timezone),
                                    now or datetime.now(UTC))


def reschedule_missed(session: Session, user: User, followup_id: int, start: datetime,
                      now: datetime | None = None) -> FollowUp:
    """Move a missed follow-up to `start`, in one step: the missed one is cancelled (it stays
    missed in the record), its question is put away as "didn't happen", and a new follow-up
    like it (its kind, its promise, what it brings them) is planned at `start`. Commits
    (through answers.didnt_happen). Raises NotFound, ValidationFailed (field "start"),
    PromptClosed."""
    now = now or datetime.now(UTC)
    missed = get_followup(session, user, followup_id)
    if missed.status is not FollowUpStatus.PLANNED or missed.end > now:
        raise ValidationFailed("start", "only a missed follow-up can be rescheduled here.")
    if start.tzinfo is None or start <= now:
        raise ValidationFailed("start", "choose a time in the future.")
    prompt = _prompt_of(session, missed)
    step = answers.NextStep(
        summary=missed.summary, start=start, channel=missed.channel,
        duration_minutes=int((missed.end - missed.start).total_seconds() // 60),
        promise_due=missed.promise_due, value_note=missed.value_note, kind=missed.kind)
    answers.cancel_followup(session, missed, now)
    planned = answers.didnt_happen(session, user, prompt, step, now)
    assert planned is not None  # a reschedule always plans one
    return planned


def _prompt_of(session: Session, followup: FollowUp) -> Prompt:
    """The follow-up's "how did it go?" prompt, asked now if the grace period has not
    passed yet: the new follow-up hangs off it like any other reschedule."""
    prompt = session.scalar(select(Prompt).where(Prompt.followup_id == followup.id))
    if prompt is None:
        prompt = Prompt(user_id=followup.user_id, followup_id=followup.id,
                        deal_id=followup.deal_id, touch_at=followup.end,
                        status=PromptStatus.PENDING)
        session.add(prompt)
        session.flush()
    return prompt
