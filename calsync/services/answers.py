"""Answering a prompt: yes, no or a next step; changing an answer; snoozing and dismissing.

The deal's status and the planned follow-up always follow the latest answers. A note typed
with any of these actions is kept with the prompt. An answer covers the deal's older prompts
still waiting (the deal moved on): they count as touches and leave the inbox until undone.
A next step can be a promise to the client: it is worked on a margin ahead of the deadline,
and delivering it plans the follow-through (see calsync.domain.promises).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, object_session

from calsync.config import Settings
from calsync.domain.cadence import (
    AFTER_SALE,
    Cadence,
    after_sale_times,
    crowding_warning,
    keeps_planned,
    next_usual_slot,
    spacing_warning,
    touch_after,
)
from calsync.domain.deals import (
    CHANNELS,
    NO_REASONS,
    OUTCOMES,
    deal_status,
    deciding_answer,
)
from calsync.domain.promises import (
    catch_up_start,
    follow_through_at,
    promise_timing,
    promised_for,
    work_start,
)
from calsync.domain.slots import Busy, clash
from calsync.domain.text import calendar_text
from calsync.domain.vocabulary import (
    AWAITING_ANSWER,
    TOUCHED,
    Channel,
    DealStatus,
    DismissReason,
    FollowUpKind,
    FollowUpStatus,
    NoReason,
    Outcome,
    PromiseTiming,
    PromptStatus,
)
from calsync.errors import NotFound, PromptAlreadyAnswered, PromptClosed, ValidationFailed
from calsync.jobs import writeback
from calsync.models import Deal, FollowUp, Meeting, Prompt, SkippedSeries, User
from calsync.services import deals, prompts, webhooks
from calsync.services.cadences import cadence_for

MAX_NOTE = 20_000
MAX_VALUE_NOTE = 500
# How far ahead a next step may be planned: further is a typo (2062 for 2026), not a plan.
MAX_AHEAD = timedelta(days=2 * 365)


@dataclass(frozen=True)
class NextStep:
    summary: str
    start: datetime
    duration_minutes: int
    channel: str  # as given: a Channel once `check_next_step` accepts it
    # A deadline promised to the client: the step is then worked on ahead of it.
    promise_due: datetime | None = None
    value_note: str = ""  # "what will you bring them?"
    # Kept when a follow-up is moved (a check-in stays a check-in); None: a promise when
    # `promise_due` is given, else a plain follow-up.
    kind: FollowUpKind | None = None


@dataclass(frozen=True)
class Answer:
    # As given by a page or the API: an Outcome and a NoReason once `answer_prompt` checks them.
    outcome: str
    note: str = ""
    no_reason: str | None = None
    next_step: NextStep | None = None
    # With a yes: the after-sale touches to plan (check_in, referral, upsell); None: the
    # user's cadence's choice. With a no for bad timing: whether to plan a revisit.
    after_sale: tuple[str, ...] | None = None
    revisit: bool = True


@dataclass(frozen=True)
class AnswerResult:
    prompt: Prompt
    followup: FollowUp | None
    warning: str | None
    # The deal's older prompts this answer covered just now (oldest first).
    covered: list[Prompt] = field(default_factory=list)
    # The touches a yes (after-sale) or a no for bad timing (revisit) planned just now.
    planned: list[FollowUp] = field(default_factory=list)


# What a yes or a no for bad timing plans, in words for the follow-up's summary.
TOUCH_SUMMARIES: dict[FollowUpKind, str] = {
    FollowUpKind.CHECK_IN: "Check in: are they happy with it?",
    FollowUpKind.REFERRAL: "Ask whom else it could help",
    FollowUpKind.UPSELL: "Review what more they could use",
    FollowUpKind.REVISIT: "Ask again: is the time right now?",
}


def answer_prompt(session: Session, settings: Settings, user: User, prompt: Prompt,
                  answer: Answer, now: datetime | None = None, *, replace: bool = True,
                  seen: str | None = None) -> AnswerResult:
    """Record (or change) the answer to `prompt`; commits. Without `replace`, an answer or
    dismissal already recorded is only replaced when `seen` (the `version` the caller
    showed) is still the prompt's, or by the very same answer. A first answer covers the
    deal's older prompts still waiting (`covered` in the result); a next step's time that
    runs into a meeting is saved, with the clash in `warning`. Raises ValidationFailed,
    PromptClosed, PromptAlreadyAnswered."""
    now = now or datetime.now(UTC)
    answer = _storable(answer)
    _check_answer(answer, user, now)
    _lock(session, prompt)
    answer = _promise_carried(answer, prompt)
    if prompt.status is PromptStatus.WITHDRAWN:
        raise PromptClosed("This meeting was cancelled, so there is nothing to answer.")
    if not (replace or prompt.status.awaiting_answer or seen == version(prompt)
            or _recorded(prompt, answer)):
        raise PromptAlreadyAnswered(recorded_answer(prompt), prompt.answered_at)
    after_sale = prompts.is_after_sale(prompt)
    if after_sale:
        answer = _after_sale_answer(answer, prompt)
    first_answer = prompt.status is not PromptStatus.ANSWERED
    outcome = Outcome(answer.outcome)
    prompt.status = PromptStatus.ANSWERED
    prompt.outcome = outcome
    prompt.note = answer.note
    prompt.no_reason = (NoReason(answer.no_reason)
                        if outcome is Outcome.NO and answer.no_reason is not None else None)
    prompt.answered_at = now
    prompt.snoozed_until = None
    prompt.dismiss_reason = None
    prompt.covered_by_id = None
    if prompt.followup is not None:
        prompt.followup.status = FollowUpStatus.DONE
    # A changed answer keeps what it covered (and what was undone stays undone).
    covered = _cover_older(session, prompt, now) if first_answer else []
    # The deal's status first, so every event of this answer (followup.created too) tells
    # the CRM the same status.
    if prompt.deal is not None:
        refresh_deal(session, prompt.deal, now)
    followup: FollowUp | None = None
    warning: str | None = None
    if answer.next_step is not None:
        cadence = cadence_for(user, settings)
        followup = _plan(session, user, prompt, answer.next_step, answer.note, now,
                         cadence=cadence)
        warnings = (spacing_warning(cadence, prompt.touch_at, followup.start),
                    _crowding_warning(session, prompt, followup.start, followup.id),
                    _after_promise_warning(user, followup),
                    _clash_warning(session, user, followup))
        warning = " ".join(w for w in warnings if w) or None
    elif prompt.planned_followup is not None:
        cancel_followup(session, prompt.planned_followup, now)
    planned: list[FollowUp] = []
    if prompt.deal is not None and not after_sale:
        planned = _plan_after_answer(session, settings, user, prompt, answer, now,
                                     changed=not first_answer)
    webhooks.answer_recorded(session, prompt)
    session.commit()
    return AnswerResult(prompt, followup, warning, covered, planned)


def _promise_carried(answer: Answer, prompt: Prompt) -> Answer:
    """A next step answering an undelivered promise's prompt goes on working towards that
    promise (its deadline and what it brings them), unless the step makes a promise of its
    own: answered with an ordinary next step, the promise must not be dropped unseen."""
    promise = prompt.followup
    step = answer.next_step
    if (step is None or step.promise_due is not None or promise is None
            or promise.kind is not FollowUpKind.PROMISE or promise.delivered_at is not None):
        return answer
    carried = replace(step, promise_due=promise.promise_due, kind=FollowUpKind.PROMISE,
                      value_note=step.value_note or promise.value_note)
    return replace(answer, next_step=carried)


def _after_sale_answer(answer: Answer, prompt: Prompt) -> Answer:
    """An after-sale touch's answer: a next step is another touch of the same won deal (a
    check-in's stays a check-in, so the won deal keeps it); after-sale touches come only
    with the yes that won it. Raises ValidationFailed."""
    if answer.after_sale:
        raise ValidationFailed("after_sale", "this touch is of a deal already won: only the "
                                             "yes that wins a deal plans after-sale touches.")
    touch = prompt.followup
    step = answer.next_step
    if step is None or touch is None:
        return answer
    kind = touch.kind if touch.kind in AFTER_SALE else FollowUpKind.CHECK_IN
    return replace(answer, next_step=replace(step, kind=kind))


def _plan_after_answer(session: Session, settings: Settings, user: User, prompt: Prompt,
                       answer: Answer, now: datetime, *, changed: bool) -> list[FollowUp]:
    """After a yes, the after-sale touches asked for (or the cadence's); after a no for bad
    timing, a revisit. A kind already planned on the deal is not planned twice (an answer
    sent again); a `changed` answer also cancels those of its deal's planned after-sale
    touches and revisit it no longer asks for. Part of the caller's unit of work."""
    deal = prompt.deal
    assert deal is not None
    cadence = cadence_for(user, settings)
    tz = ZoneInfo(user.timezone)
    touch_at = max(prompt.touch_at, now)
    wanted: list[tuple[FollowUpKind, datetime]] = []
    if prompt.outcome is Outcome.YES and deal.status is DealStatus.WON:
        kinds = (cadence.after_sale if answer.after_sale is None
                 else {FollowUpKind(kind) for kind in answer.after_sale})
        wanted = after_sale_times(cadence, kinds, touch_at, tz)
    elif prompt.no_reason is NoReason.BAD_TIMING and answer.revisit and (
            deal.status is DealStatus.LOST):
        wanted = [(FollowUpKind.REVISIT, touch_after(cadence, touch_at, cadence.revisit_days,
                                                      tz))]
    kinds = {kind for kind, _start in wanted}
    already = set()
    for touch in session.scalars(select(FollowUp).where(
            FollowUp.deal_id == deal.id, FollowUp.status == FollowUpStatus.PLANNED,
            FollowUp.kind.in_(TOUCH_SUMMARIES))):
        if touch.kind in kinds:
            already.add(touch.kind)
        elif changed:
            cancel_followup(session, touch, now)
    planned = []
    for kind, start in wanted:
        if kind in already:
            continue
        touch = FollowUp(user_id=user.id, deal_id=deal.id, uid=f"{uuid.uuid4()}@calsync",
                         sequence=0, created_at=now, changed_at=now, kind=kind,
                         summary=TOUCH_SUMMARIES[kind], start=start.astimezone(UTC),
                         end=start.astimezone(UTC)
                         + timedelta(minutes=cadence.default_duration_minutes),
                         channel=_last_channel(prompt) or cadence.default_channel, note="",
                         status=FollowUpStatus.PLANNED)
        session.add(touch)
        session.flush()
        writeback.followup_changed(session, touch)
        planned.append(touch)
    return planned


def plan_after_sale(session: Session, settings: Settings, user: User, prompt: Prompt,
                    kinds: tuple[str, ...], now: datetime | None = None) -> list[FollowUp]:
    """The after-sale touches `kinds` planned after the yes already given to `prompt` (the
    one click each offered once the yes is recorded); a kind planned already is not planned
    twice. Commits; raises NotFound and ValidationFailed (no yes that won the deal)."""
    now = now or datetime.now(UTC)
    if prompt.user_id != user.id:
        raise NotFound("No such prompt.")
    _lock(session, prompt)
    answer = Answer(Outcome.YES, after_sale=kinds)
    _check_answer(answer, user, now)
    if (prompt.outcome is not Outcome.YES or prompt.deal is None
            or prompt.deal.status is not DealStatus.WON or prompts.is_after_sale(prompt)):
        raise ValidationFailed("after_sale", "only the yes that won a deal plans after-sale "
                                             "touches.")
    planned = _plan_after_answer(session, settings, user, prompt, answer, now, changed=False)
    session.commit()
    return planned


def after_sale_planned(session: Session, deal: Deal) -> set[FollowUpKind]:
    """The after-sale touches the deal has planned. Read only."""
    return set(session.scalars(select(FollowUp.kind).where(
        FollowUp.deal_id == deal.id, FollowUp.status == FollowUpStatus.PLANNED,
        FollowUp.kind.in_(AFTER_SALE))))


def _last_channel(prompt: Prompt) -> Channel | None:
    """The channel of the touch answered when it was a follow-up (a meeting has none)."""
    return prompt.followup.channel if prompt.followup is not None else None


def _crowding_warning(session: Session, prompt: Prompt, start: datetime,
                      followup_id: int | None) -> str | None:
    """A sentence when a follow-up at `start` (`followup_id` itself, if planned already) is
    the deal's third within a week without an answer from them: a meeting with them is
    their answer, so only follow-ups (done or planned) since the deal's latest meeting
    count. Read only."""
    if prompt.deal_id is None:
        return None
    last_meeting = session.scalar(select(func.max(Prompt.touch_at)).where(
        Prompt.deal_id == prompt.deal_id, Prompt.meeting_id.is_not(None),
        Prompt.status.in_([*TOUCHED, *AWAITING_ANSWER])))
    others = select(FollowUp.start).where(
        FollowUp.deal_id == prompt.deal_id, FollowUp.id != followup_id,
        FollowUp.status.in_((FollowUpStatus.PLANNED, FollowUpStatus.DONE)))
    if last_meeting is not None:
        others = others.where(FollowUp.start > last_meeting)
    return crowding_warning(list(session.scalars(others)), start)


def _cover_older(session: Session, prompt: Prompt, now: datetime) -> list[Prompt]:
    """The deal's prompts older than `prompt` and still waiting are covered by its answer:
    a touch each (at its own time), no longer a question. Part of the caller's unit of
    work."""
    if prompt.deal_id is None:
        return []
    older = list(session.scalars(
        select(Prompt).where(Prompt.user_id == prompt.user_id, Prompt.deal_id == prompt.deal_id,
                             Prompt.id != prompt.id, Prompt.status.in_(AWAITING_ANSWER),
                             Prompt.touch_at < prompt.touch_at)
        .order_by(Prompt.touch_at, Prompt.id)))
    for covered in older:
        covered.status = PromptStatus.COVERED
        covered.covered_by_id = prompt.id
        covered.answered_at = now  # when the covering answer was given
        covered.snoozed_until = None
        if covered.followup is not None and covered.followup.status is FollowUpStatus.PLANNED:
            covered.followup.status = FollowUpStatus.DONE
    session.flush()
    return older


def _release_covered(session: Session, prompt: Prompt) -> list[Prompt]:
    """The prompts `prompt`'s answer covered wait again: undone, or the answer moved to
    another deal. Part of the caller's unit of work."""
    covered = list(session.scalars(select(Prompt).where(
        Prompt.covered_by_id == prompt.id, Prompt.status == PromptStatus.COVERED)))
    for waiting in covered:
        _wait_again(waiting)
    session.flush()
    return covered


def _wait_again(prompt: Prompt) -> None:
    prompt.status = PromptStatus.PENDING
    prompt.covered_by_id = None
    prompt.answered_at = None
    if prompt.followup is not None and prompt.followup.status is FollowUpStatus.DONE:
        prompt.followup.status = FollowUpStatus.PLANNED


def uncover(session: Session, user: User, prompt: Prompt) -> Prompt:
    """Undo "covered by a later answer": the prompt waits for its own answer again.
    Commits; raises NotFound (another user's prompt) and PromptClosed (not covered)."""
    if prompt.user_id != user.id:
        raise NotFound("No such prompt.")
    _lock(session, prompt)
    if prompt.status is not PromptStatus.COVERED:
        raise PromptClosed("This prompt is not covered by another answer, so there is "
                           "nothing to undo.")
    _wait_again(prompt)
    session.commit()
    return prompt


def uncover_all(session: Session, user: User, answered: Prompt) -> list[Prompt]:
    """Undo everything `answered`'s answer covered (the Undo offered right after it): those
    prompts wait again. Commits; raises NotFound for another user's prompt."""
    if answered.user_id != user.id:
        raise NotFound("No such prompt.")
    _lock(session, answered)
    released = _release_covered(session, answered)
    session.commit()
    return released


def covering_answer(prompt: Prompt) -> str:
    """What covered a prompt, in words: "your answer on “Pricing call” (Next step)"."""
    by = prompt.covered_by
    if by is None:
        return "a later answer"
    outcome = f" ({by.outcome.label})" if by.outcome is not None else ""
    return f"your answer on {touch_title(by)}{outcome}"


def touch_title(prompt: Prompt) -> str:
    """The touch a prompt asks about, quoted: its meeting's title or its follow-up's."""
    if prompt.meeting is not None:
        return f"“{prompt.meeting.title or 'Untitled meeting'}”"
    return f"“{prompt.followup.summary}”" if prompt.followup is not None else "the meeting"


def _clash_warning(session: Session, user: User, followup: FollowUp) -> str | None:
    """A sentence naming the meeting (or follow-up) a planned time runs into, if any: the
    answer is saved anyway, the user may mean it. Part of the caller's unit of work."""
    return clash_message(session, user, followup.start, followup.end,
                         exclude_followup=followup.id)


def clash_for(session: Session, user: User, prompt: Prompt, start: datetime,
              duration_minutes: int) -> str | None:
    """What a next step at `start` for `prompt` would clash with, and whether it would crowd
    the deal (a third touch within a week), in sentences (None when neither): the check
    made while the user picks a time, so the warning comes before it is planned. Read only."""
    if start.tzinfo is None:
        raise ValidationFailed("start", "give a time with its UTC offset.")
    if not 5 <= duration_minutes <= 24 * 60:
        raise ValidationFailed("duration_minutes", "use 5 to 1440 minutes.")
    warnings = (clash_message(session, user, start, start + timedelta(minutes=duration_minutes),
                              exclude_followup=prompt.planned_followup_id),
                _crowding_warning(session, prompt, start, prompt.planned_followup_id))
    return " ".join(w for w in warnings if w) or None


def clash_message(session: Session, user: User, start: datetime, end: datetime, *,
                  exclude_followup: int | None = None) -> str | None:
    """"Tue 3 Dec 10:00 clashes with “Weekly pipeline review”." or None. Read only."""
    busy = prompts.busy_between(session, user.id, start, end,
                                exclude_followup=exclude_followup)
    hit: Busy | None = clash(start, end, busy)
    if hit is None:
        return None
    local = start.astimezone(ZoneInfo(user.timezone))
    return f"{local:%a} {local.day} {local:%b %H:%M} clashes with “{hit.title}”."


def _recorded(prompt: Prompt, answer: Answer) -> bool:
    """Whether `answer` is the one the prompt already has: sent twice (a double click, a
    retried request), it is no conflict."""
    if prompt.status is not PromptStatus.ANSWERED or (prompt.outcome, prompt.note) != (
            answer.outcome, answer.note):
        return False
    if answer.next_step is None:
        return answer.outcome != Outcome.NO or prompt.no_reason == answer.no_reason
    step, planned = answer.next_step, prompt.planned_followup
    return planned is not None and planned.status is FollowUpStatus.PLANNED and (
        planned.summary, planned.start, planned.end, planned.channel) == (
        step.summary.strip(), step.start, step.start + timedelta(minutes=step.duration_minutes),
        step.channel)


def recorded_answer(prompt: Prompt) -> str:
    """The answer a prompt has, in words: "Yes", "No", "Next step", why it was put away, or
    the later answer that covered it."""
    if prompt.status is PromptStatus.COVERED:
        return f"covered by {covering_answer(prompt)}"
    if prompt.outcome is not None:
        return prompt.outcome.label
    return prompt.dismiss_reason.label if prompt.dismiss_reason is not None else ""


def version(prompt: Prompt) -> str:
    """What a page remembers of the prompt it showed, to tell whether it was answered or put
    away since: its status and when it was last answered."""
    answered = prompt.answered_at.isoformat() if prompt.answered_at is not None else ""
    return f"{prompt.status}@{answered}"


def _lock(session: Session, prompt: Prompt) -> None:
    """Serialise changes to one prompt (a double click sends two answers): a no-op UPDATE
    takes the row lock on PostgreSQL and the write lock on SQLite; then read what an
    earlier answer already did, so it plans one follow-up, not two."""
    session.execute(update(Prompt).where(Prompt.id == prompt.id).values(status=Prompt.status))
    session.refresh(prompt)


def _check_answer(answer: Answer, user: User, now: datetime) -> None:
    if answer.outcome not in OUTCOMES:
        raise ValidationFailed("outcome", f"use one of: {', '.join(OUTCOMES)}.")
    _check_note(answer.note)
    if answer.no_reason is not None and answer.no_reason not in NO_REASONS:
        raise ValidationFailed("no_reason", f"use one of: {', '.join(NO_REASONS)}.")
    if answer.after_sale is not None:
        names = [kind.value for kind in AFTER_SALE]
        if answer.outcome != Outcome.YES:
            raise ValidationFailed("after_sale", "only a yes plans after-sale touches.")
        if not set(answer.after_sale) <= set(names):
            raise ValidationFailed("after_sale", f"use any of: {', '.join(names)}.")
    if (answer.outcome == Outcome.NEXT_STEP) != (answer.next_step is not None):
        raise ValidationFailed("next_step", "a next step answer needs what, when and channel "
                                            "(and only a next step has them).")
    if answer.next_step is not None:
        check_next_step(answer.next_step, now)
        _check_promise(answer.next_step, now)


def _check_promise(step: NextStep, now: datetime) -> None:
    """A promise's deadline is a real time ahead; the value note is short (it goes on the
    calendar event)."""
    if len(step.value_note) > MAX_VALUE_NOTE:
        raise ValidationFailed("next_step.value_note",
                               f"keep it under {MAX_VALUE_NOTE} characters.")
    due = step.promise_due
    if due is None:
        return
    if due.tzinfo is None:
        raise ValidationFailed("next_step.promise_due", "give a time with its UTC offset.")
    if due <= now:
        raise ValidationFailed("next_step.promise_due", "that time has already passed: "
                                                        "promise a time in the future.")
    if due > now + MAX_AHEAD:
        raise ValidationFailed("next_step.promise_due", "that is more than two years ahead: "
                                                        "check the year.")


def _check_note(note: str) -> None:
    if len(note) > MAX_NOTE:
        raise ValidationFailed("note", f"keep notes under {MAX_NOTE} characters.")


def check_next_step(step: NextStep, now: datetime) -> None:
    """Refuse a next step (or a new time) that can't be meant: incomplete, in the past, or more
    than two years ahead. Raises ValidationFailed naming the `next_step.*` field."""
    if not step.summary.strip():
        raise ValidationFailed("next_step.summary", "say what the next step is.")
    if len(step.summary) > 500:
        raise ValidationFailed("next_step.summary", "keep it under 500 characters.")
    if step.start.tzinfo is None:
        raise ValidationFailed("next_step.start", "give a time with its UTC offset.")
    if not 1970 <= step.start.year <= 2200:
        raise ValidationFailed("next_step.start", "give a date between 1970 and 2200.")
    if not 5 <= step.duration_minutes <= 24 * 60:
        raise ValidationFailed("next_step.duration_minutes", "use 5 to 1440 minutes.")
    if step.channel not in CHANNELS:
        raise ValidationFailed("next_step.channel", f"use one of: {', '.join(CHANNELS)}.")
    # The page picks whole minutes, so the minute that is running now still counts.
    if step.start < now.replace(second=0, microsecond=0):
        raise ValidationFailed("next_step.start", "that time has already passed: "
                                                  "pick one in the future.")
    if step.start > now + MAX_AHEAD:
        raise ValidationFailed("next_step.start", "that is more than two years ahead: "
                                                  "check the year.")


def _storable(answer: Answer) -> Answer:
    """The answer without control characters: PostgreSQL can't store a NUL, and the note and
    summary go on to calendars, which must not carry any (RFC 5545)."""
    step = answer.next_step
    if step is not None:
        step = replace(step, summary=calendar_text(step.summary),
                       value_note=calendar_text(step.value_note).strip())
    return replace(answer, note=calendar_text(answer.note), next_step=step)


def _plan(session: Session, user: User, prompt: Prompt, step: NextStep, note: str,
          now: datetime, *, cadence: Cadence | None = None) -> FollowUp:
    """Create the prompt's follow-up, or change the one an earlier answer planned. A
    promise (with `cadence`) is worked on the cadence's margin ahead of its deadline,
    unless the time given is earlier still or that margin has already begun."""
    followup = prompt.planned_followup
    if followup is None:
        if prompt.deal is None:
            raise ValidationFailed("deal", "this prompt has no deal to plan a follow-up for.")
        followup = FollowUp(user_id=user.id, deal_id=prompt.deal.id,
                            uid=f"{uuid.uuid4()}@calsync", sequence=0, created_at=now)
        session.add(followup)
        prompt.planned_followup = followup
    else:
        followup.sequence += 1
    followup.summary = step.summary.strip()
    start = step.start.astimezone(UTC)
    length = timedelta(minutes=step.duration_minutes)
    if step.promise_due is not None and cadence is not None:
        tz = ZoneInfo(user.timezone)
        ahead = work_start(step.promise_due, cadence.promise_margin_days, cadence.working_days,
                           tz).astimezone(UTC)
        if ahead >= now:
            start = min(start, ahead)
        elif start + length > step.promise_due:
            # The margin has begun and the time given misses the deadline: the soonest time
            # before it, as Not yet plans it.
            start, _fits = _catch_up(cadence, tz, step.promise_due, length, now)
    followup.kind = step.kind or (FollowUpKind.PROMISE if step.promise_due is not None
                                  else FollowUpKind.FOLLOW_UP)
    followup.promise_due = (step.promise_due.astimezone(UTC)
                            if step.promise_due is not None else None)
    followup.value_note = step.value_note
    followup.start = start
    followup.end = followup.start + length
    followup.channel = Channel(step.channel)
    followup.note = note
    followup.status = FollowUpStatus.PLANNED
    followup.cancelled_at = None
    followup.changed_at = now
    session.flush()
    writeback.followup_changed(session, followup)
    return followup


def cancel_followup(session: Session, followup: FollowUp, now: datetime) -> None:
    """Cancel a planned follow-up and hand the change to the write-back. Part of the
    caller's unit of work."""
    if followup.cancel(now):
        writeback.followup_changed(session, followup)


def refresh_deal(session: Session, deal: Deal, now: datetime) -> None:
    """Set the deal's status from its answered touches; a closed deal drops its plans. Part
    of the caller's unit of work."""
    answers = [(touch_at, outcome, kind, prompt_id)
               for touch_at, outcome, kind, prompt_id in session.execute(
                   select(Prompt.touch_at, Prompt.outcome, FollowUp.kind, Prompt.id)
                   .outerjoin(FollowUp, FollowUp.id == Prompt.followup_id)
                   .where(Prompt.deal_id == deal.id, Prompt.status == PromptStatus.ANSWERED))
               if outcome]
    touches = [(touch_at, outcome) for touch_at, outcome, _kind, _id in answers]
    kinds = [kind for _at, _outcome, kind, _id in answers]
    status = deal_status(touches, kinds)
    if status == deal.status:
        return
    was, deal.status = deal.status, status
    deal.closed_at = now if status.closed else None
    if status.closed:  # by an answer, or a touch moved in from another deal
        deciding = deciding_answer(touches, kinds)
        prompt = session.get(Prompt, answers[deciding][3]) if deciding is not None else None
        assert prompt is not None  # a closed deal has the answer that closed it
        webhooks.deal_closed(session, deal, prompt)
    elif was.closed:
        webhooks.deal_reopened(session, deal, was)
    planned = select(FollowUp).where(FollowUp.deal_id == deal.id,
                                     FollowUp.status == FollowUpStatus.PLANNED,
                                     FollowUp.start > now)
    for followup in session.scalars(planned):
        # Each dropped too when the deal's status moves away again (a won deal reopened).
        if not keeps_planned(status, followup.kind):
            cancel_followup(session, followup, now)


def snooze(session: Session, prompt: Prompt, until: datetime, now: datetime | None = None, *,
           note: str | None = None) -> None:
    """Ask again at `until`: the prompt leaves the inbox till then, with the `note` typed so
    far (None keeps the stored one). Commits."""
    now = now or datetime.now(UTC)
    if not prompt.status.awaiting_answer:
        raise PromptClosed("Only a prompt waiting for an answer can be snoozed.")
    if until.tzinfo is None or until <= now:
        raise ValidationFailed("until", "choose a time in the future.")
    _keep_note(prompt, note)
    prompt.status = PromptStatus.SNOOZED
    prompt.snoozed_until = until
    session.commit()


def snooze_until(choice: str, tz: ZoneInfo, now: datetime, usual_hour: int) -> datetime:
    """The end of a snooze picked by name: an hour, tomorrow morning, or next week."""
    if choice == "hour":
        return now + timedelta(hours=1)
    days = {"tomorrow": 1, "next_week": 7}.get(choice)
    if days is None:
        raise ValidationFailed("until", "choose hour, tomorrow or next_week.")
    local = (now.astimezone(tz) + timedelta(days=days)).replace(
        hour=usual_hour, minute=0, second=0, microsecond=0)
    return local.astimezone(UTC)


def dismiss(session: Session, prompt: Prompt, *, skip_series: bool = False,
            note: str | None = None) -> None:
    """Not a sales meeting: no answer, no touch; optionally never ask about the series again.
    The `note` is kept with the prompt (None keeps the stored one). Commits."""
    if not prompt.status.awaiting_answer:
        raise PromptClosed("Only a prompt waiting for an answer can be dismissed.")
    _keep_note(prompt, note)
    prompt.status = PromptStatus.DISMISSED
    prompt.dismiss_reason = DismissReason.NOT_SALES
    meeting = prompt.meeting
    if skip_series and meeting is not None and meeting.source_id and meeting.series_uid:
        exists = session.scalar(select(SkippedSeries.id).where(
            SkippedSeries.user_id == prompt.user_id, SkippedSeries.source_id == meeting.source_id,
            SkippedSeries.series_uid == meeting.series_uid))
        if exists is None:
            session.add(SkippedSeries(user_id=prompt.user_id, source_id=meeting.source_id,
                                      series_uid=meeting.series_uid))
        same_series = select(Meeting.id).where(Meeting.source_id == meeting.source_id,
                                               Meeting.series_uid == meeting.series_uid)
        session.execute(update(Prompt).where(
            Prompt.user_id == prompt.user_id, Prompt.meeting_id.in_(same_series),
            Prompt.status.in_(AWAITING_ANSWER)).values(
            status=PromptStatus.DISMISSED, dismiss_reason=DismissReason.NOT_SALES))
    session.commit()


def didnt_happen(session: Session, user: User, prompt: Prompt, reschedule: NextStep | None,
                 now: datetime | None = None, *, note: str | None = None) -> FollowUp | None:
    """A no-show or a moved meeting: no outcome and no touch, optionally a new time for it.
    The `note` is kept with the prompt and the new time (None keeps the stored one). Commits."""
    now = now or datetime.now(UTC)
    _lock(session, prompt)
    if not prompt.status.awaiting_answer:
        raise PromptClosed("Only a prompt waiting for an answer can be marked as not happened.")
    _keep_note(prompt, note)
    followup = None
    if reschedule is not None:
        check_next_step(reschedule, now)
        followup = _plan(session, user, prompt, reschedule, prompt.note, now)
    prompt.status = PromptStatus.DISMISSED
    prompt.dismiss_reason = DismissReason.DIDNT_HAPPEN
    session.commit()
    return followup


def _keep_note(prompt: Prompt, note: str | None) -> None:
    """Store the note typed with an action that is not an answer, so it is there when the
    prompt comes back. Part of the caller's unit of work."""
    if note is None:
        return
    note = calendar_text(note).strip()
    _check_note(note)
    prompt.note = note


def move_to_chosen_deal(session: Session, user: User, prompt: Prompt, *,
                        deal_id: int | None = None, new_name: str | None = None) -> Deal:
    """Move the touch to one of the user's deals (`deal_id`) or to a new one (`new_name`):
    exactly one of them. The page and the API both move this way. Commits; raises
    ValidationFailed (field "deal_id" when neither or both are given, "name" when blank)."""
    if (deal_id is None) == (new_name is None):
        raise ValidationFailed("deal_id", "give either deal_id or name (for a new deal).")
    if new_name is not None:
        deal = deals.create_deal(session, user, new_name)
    else:
        deal = deals.get_deal(session, user, deal_id or 0)
    move_to_deal(session, user, prompt, deal)
    return deal


def move_to_deal(session: Session, user: User, prompt: Prompt, deal: Deal,
                 now: datetime | None = None) -> None:
    """Reassign a touch (and what it planned) to another of the user's deals. Commits."""
    now = now or datetime.now(UTC)
    if deal.user_id != user.id:
        raise NotFound("No such deal.")
    previous = prompt.deal
    if previous is not None and previous.id != deal.id:
        _release_covered(session, prompt)  # its answer no longer speaks for that deal
    prompt.deal = deal
    if prompt.planned_followup is not None:
        prompt.planned_followup.deal_id = deal.id
        prompt.planned_followup.changed_at = now
        prompt.planned_followup.sequence += 1
        session.flush()
        writeback.followup_changed(session, prompt.planned_followup)
    session.flush()
    refresh_deal(session, deal, now)
    if previous is not None and previous.id != deal.id:
        refresh_deal(session, previous, now)
    session.commit()


# --- promises: delivered, not yet -------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    followup: FollowUp  # the promise, now delivered
    timing: PromiseTiming
    follow_through: FollowUp  # the touch planned after it
    prompt: Prompt | None  # the promise's prompt, answered by the delivery (None: not due yet)


@dataclass(frozen=True)
class NotYet:
    until: datetime  # when the prompt asks "Delivered?" again
    warning: str | None  # the deadline can no longer be met


def promise_kept(followup: FollowUp) -> PromiseTiming | None:
    """How a delivered promise was kept (early, on time, late: in its owner's zone); None
    until it is delivered. Read only."""
    if followup.promise_due is None or followup.delivered_at is None:
        return None
    return promise_timing(followup.delivered_at, followup.promise_due, _zone_of(followup))


def promise_text(followup: FollowUp) -> str:
    """"promised for Fri 5 Dec 16:00" in its owner's zone; empty for no promise."""
    if followup.promise_due is None:
        return ""
    return promised_for(followup.promise_due, _zone_of(followup))


def _zone_of(followup: FollowUp) -> ZoneInfo:
    session = object_session(followup)
    user = session.get(User, followup.user_id) if session is not None else None
    return ZoneInfo(user.timezone if user is not None else "UTC")


def deliver(session: Session, settings: Settings, user: User, followup: FollowUp,
            at: datetime | None = None, now: datetime | None = None) -> Delivery:
    """What was promised was delivered `at` (default now): recorded against the deadline,
    the promise's prompt answered (a next step: the follow-through), and the follow-through
    planned the cadence's follow_through_days working days later. Delivering again gives
    the delivery already recorded. Commits; raises NotFound and ValidationFailed."""
    now = now or datetime.now(UTC)
    at = at or now
    if followup.user_id != user.id:
        raise NotFound("No such follow-up.")
    if followup.kind is not FollowUpKind.PROMISE or followup.promise_due is None:
        raise ValidationFailed("followup", "only a promise to the client can be delivered.")
    if at.tzinfo is None:
        raise ValidationFailed("at", "give a time with its UTC offset.")
    if at > now + timedelta(minutes=1):
        raise ValidationFailed("at", "that time is still to come: say when it was delivered.")
    prompt = session.scalar(select(Prompt).where(Prompt.followup_id == followup.id))
    if prompt is not None:
        _lock(session, prompt)
    session.refresh(followup)
    through = _follow_through_of(session, followup)
    if followup.delivered_at is not None and through is not None:
        timing = promise_kept(followup)
        assert timing is not None
        return Delivery(followup, timing, through, prompt)
    if followup.status is FollowUpStatus.CANCELLED:
        raise ValidationFailed("followup", "this follow-up was cancelled: answer its deal's "
                                           "latest prompt instead.")
    followup.delivered_at = at.astimezone(UTC)
    followup.status = FollowUpStatus.DONE
    followup.changed_at = now
    # Its event and feed entry say it is delivered (no longer work to do).
    followup.sequence += 1
    session.flush()
    writeback.followup_changed(session, followup)
    through = _plan_follow_through(session, settings, user, followup, now)
    answered = prompt is not None and prompt.status.awaiting_answer
    if prompt is not None and answered:
        prompt.status = PromptStatus.ANSWERED
        prompt.outcome = Outcome.NEXT_STEP
        prompt.answered_at = now
        prompt.snoozed_until = None
        prompt.planned_followup = through
        _cover_older(session, prompt, now)
    refresh_deal(session, followup.deal, now)
    timing = promise_kept(followup)
    assert timing is not None
    webhooks.promise_delivered(session, followup, timing)
    if prompt is not None and answered:
        webhooks.answer_recorded(session, prompt)  # its answer: the follow-through
    session.commit()
    return Delivery(followup, timing, through, prompt)


def _follow_through_of(session: Session, promise: FollowUp) -> FollowUp | None:
    """The follow-through a delivery planned for `promise`: its deal's, made since."""
    if promise.delivered_at is None:
        return None
    return session.scalar(
        select(FollowUp).where(FollowUp.deal_id == promise.deal_id,
                               FollowUp.kind == FollowUpKind.FOLLOW_THROUGH,
                               FollowUp.created_at >= promise.changed_at)
        .order_by(FollowUp.id.desc()).limit(1))


def _plan_follow_through(session: Session, settings: Settings, user: User, promise: FollowUp,
                         now: datetime) -> FollowUp:
    """The follow-through touch after a delivery, its four steps in its event. Part of the
    caller's unit of work."""
    cadence = cadence_for(user, settings)
    tz = ZoneInfo(user.timezone)
    start = follow_through_at(promise.delivered_at or now, cadence.follow_through_days,
                              cadence.working_days, tz,
                              time(cadence.usual_hour, cadence.usual_minute))
    if start < now:  # delivered long ago: the soonest usual slot instead
        start = next_usual_slot(cadence, now, tz)
    through = FollowUp(user_id=user.id, deal_id=promise.deal_id, uid=f"{uuid.uuid4()}@calsync",
                       sequence=0, created_at=now, changed_at=now,
                       kind=FollowUpKind.FOLLOW_THROUGH,
                       summary=f"Follow through: {promise.summary}",
                       start=start.astimezone(UTC),
                       end=start.astimezone(UTC)
                       + timedelta(minutes=cadence.default_duration_minutes),
                       channel=promise.channel, note="", value_note=promise.value_note,
                       status=FollowUpStatus.PLANNED)
    session.add(through)
    session.flush()
    writeback.followup_changed(session, through)
    return through


def not_yet(session: Session, settings: Settings, user: User, prompt: Prompt,
            now: datetime | None = None) -> NotYet:
    """Not delivered yet: the promise's follow-up moves to the next usual working time
    before the deadline (or an hour from now when that is too late), and its prompt asks
    again then. When no time before the deadline is left, the warning says so. Commits;
    raises PromptClosed and ValidationFailed."""
    now = now or datetime.now(UTC)
    _lock(session, prompt)
    followup = prompt.followup
    if followup is None or followup.kind is not FollowUpKind.PROMISE or (
            followup.promise_due is None):
        raise ValidationFailed("followup", "only a promise to the client can be not yet "
                                           "delivered.")
    if not prompt.status.awaiting_answer:
        raise PromptClosed("Only a prompt waiting for an answer can be asked again later.")
    cadence = cadence_for(user, settings)
    tz = ZoneInfo(user.timezone)
    length = followup.end - followup.start
    due = followup.promise_due
    start, fits = _catch_up(cadence, tz, due, length, now)
    warning = None if fits else (f"You {promise_text(followup)}, and there is no time left "
                                 "before it: tell them when it will come.")
    followup.start, followup.end = start, start + length
    followup.sequence += 1
    followup.changed_at = now
    session.flush()
    writeback.followup_changed(session, followup)
    prompt.status = PromptStatus.SNOOZED
    prompt.snoozed_until = followup.end
    session.commit()
    return NotYet(followup.end, warning)


def _catch_up(cadence: Cadence, tz: ZoneInfo, due: datetime, length: timedelta,
              now: datetime) -> tuple[datetime, bool]:
    """The soonest time before the deadline `due` to work on a promise whose margin has
    begun (see calsync.domain.promises.catch_up_start), in UTC, and whether it fits."""
    usual = next_usual_slot(cadence, now + timedelta(minutes=1), tz).astimezone(UTC)
    start, fits = catch_up_start(due, length, usual, now)
    return start.astimezone(UTC), fits


def _after_promise_warning(user: User, followup: FollowUp) -> str | None:
    """A sentence when a promise's working follow-up is planned after its deadline."""
    if followup.promise_due is None or followup.end <= followup.promise_due:
        return None
    return (f"That is after your promise to them ({promise_text(followup)}): plan the work "
            "before it.")
