"""Prompts ("how did it go?") and everything a user does with one: answer, snooze, dismiss,
say it did not happen, or move it to another deal."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from calsync.db import get_session
from calsync.errors import ValidationFailed
from calsync.services import answers, deals, prompts
from calsync.services.answers import Answer, NextStep
from calsync.web import current_settings
from calsync.web.api.bodies import (
    AnswerIn,
    BulkIn,
    DeliveredIn,
    DidntHappenIn,
    DismissIn,
    MoveToDealIn,
    NextStepIn,
    PromptQuery,
    SnoozeIn,
)
from calsync.web.api.pagination import decode, encode
from calsync.web.api.registry import api_user, route, user_time
from calsync.web.api.schemas import BulkOut, DeliveryOut, PromptActionOut, PromptList, PromptOut
from calsync.web.api.serialize import PromptRenderer, followup_out

if TYPE_CHECKING:
    from calsync.models import Prompt


@route("/prompts", "GET", response=PromptList, query=PromptQuery)
def list_prompts(query: PromptQuery) -> PromptList:
    """List prompts, newest touch first; `status=pending` is the inbox, `q` its search."""
    session, user, now = get_session(), api_user(), datetime.now(UTC)
    prompts.wake_snoozed(session, now, user.id)
    found = prompts.list_prompts(session, user, query.status, limit=query.limit,
                                 after=decode(query.cursor, "prompts"), search=query.q)
    renderer = PromptRenderer(session, current_settings(), user, now)
    renderer.preload(found.items)
    return PromptList(items=[renderer.out(row) for row in found.items],
                      next_cursor=encode("prompts", found.next_key))


@route("/prompts/bulk", "POST", response=BulkOut, body=BulkIn)
def put_away_prompts(body: BulkIn) -> BulkOut:
    """Put several prompts away at once: not a sales meeting, or snoozed until `until`.

    The inbox's "select several". One unit of work: all of them change, or none.
    """
    session, user = get_session(), api_user()
    if body.action == "snooze" and body.until is None:
        raise ValidationFailed("until", "give the time to ask again when snoozing.")
    until = user_time(body.until) if body.action == "snooze" and body.until else None
    changed = prompts.put_away(session, user, body.prompt_ids, snooze_until=until)
    return BulkOut(changed=changed)


@route("/prompts/<int:prompt_id>", "GET", response=PromptOut)
def get_prompt(prompt_id: int) -> PromptOut:
    """One prompt with its meeting, deal, suggestion and outcome."""
    session, user, now = get_session(), api_user(), datetime.now(UTC)
    prompts.wake_snoozed(session, now, user.id)
    prompt = prompts.get_prompt(session, user, prompt_id)
    return PromptRenderer(session, current_settings(), user, now).out(prompt)


@route("/prompts/<int:prompt_id>/answer", "POST", response=PromptActionOut, body=AnswerIn)
def answer_prompt(prompt_id: int, body: AnswerIn) -> PromptActionOut:
    """Answer (or change the answer to) a prompt: yes, no, or a next step.

    A next step plans a follow-up (returned in `followup`, with the cadence's spacing
    `warning` when it is too close to this touch); it must be in the future and at most two
    years ahead. Yes and no close the deal. A prompt that already has an answer (or was
    dismissed) answers 409 `prompt_already_answered` unless the body says `"replace": true`.
    A next step in a time already taken is saved, and `warning` names what it clashes with.
    A first answer covers the deal's older prompts still waiting: their ids in `covered`.
    A yes plans the after-sale touches (`after_sale`), a no for bad timing a revisit; both
    listed in `followups`. A next step with `promise_due` is a promise, planned ahead of it;
    a third follow-up within 7 days without a meeting with them gets a `warning`.
    A prompt of an after-sale touch (kind check_in, referral, upsell, or a follow_through
    after the win) never reopens or closes its won deal: yes means done, no not now, and a
    next step plans another touch of the same kind; no `deal.won`/`deal.lost` is sent.
    """
    session, settings, user = get_session(), current_settings(), api_user()
    prompt = prompts.get_prompt(session, user, prompt_id)
    renderer = PromptRenderer(session, settings, user)
    step = None if body.next_step is None else _next_step(body.next_step, renderer, prompt)
    after_sale = tuple(body.after_sale) if body.after_sale is not None else None
    answer = Answer(outcome=body.outcome, note=body.note, no_reason=body.no_reason,
                    next_step=step, after_sale=after_sale, revisit=body.revisit)
    result = answers.answer_prompt(session, settings, user, prompt, answer, renderer.now,
                                   replace=body.replace)
    out = renderer.action_out(result.prompt, result.followup, result.warning)
    out.covered = [covered.id for covered in result.covered]
    out.followups = [followup_out(planned) for planned in result.planned]
    return out


@route("/prompts/<int:prompt_id>/uncover", "POST", response=PromptOut)
def uncover_prompt(prompt_id: int) -> PromptOut:
    """Undo "covered by a later answer": the prompt waits for its own answer again (409
    `prompt_closed` when it is not covered)."""
    session, user = get_session(), api_user()
    prompt = prompts.get_prompt(session, user, prompt_id)
    answers.uncover(session, user, prompt)
    return PromptRenderer(session, current_settings(), user).out(prompt)


@route("/prompts/<int:prompt_id>/snooze", "POST", response=PromptOut, body=SnoozeIn)
def snooze_prompt(prompt_id: int, body: SnoozeIn) -> PromptOut:
    """Ask again later: the prompt leaves the inbox until `until`, with the `note` given."""
    session, user = get_session(), api_user()
    prompt = prompts.get_prompt(session, user, prompt_id)
    answers.snooze(session, prompt, user_time(body.until), note=body.note)
    return PromptRenderer(session, current_settings(), user).out(prompt)


@route("/prompts/<int:prompt_id>/dismiss", "POST", response=PromptOut, body=DismissIn,
       body_required=False)
def dismiss_prompt(prompt_id: int, body: DismissIn) -> PromptOut:
    """Not a sales meeting: no answer and no touch; `skip_series` silences its series. A
    `note` is kept with the prompt."""
    session, user = get_session(), api_user()
    prompt = prompts.get_prompt(session, user, prompt_id)
    answers.dismiss(session, prompt, skip_series=body.skip_series, note=body.note)
    return PromptRenderer(session, current_settings(), user).out(prompt)


@route("/prompts/<int:prompt_id>/didnt_happen", "POST", response=PromptActionOut,
       body=DidntHappenIn, body_required=False)
def didnt_happen(prompt_id: int, body: DidntHappenIn) -> PromptActionOut:
    """The meeting did not take place: no outcome, no touch; `reschedule` plans its new time.
    A `note` is kept with the prompt and the new time."""
    session, settings, user = get_session(), current_settings(), api_user()
    prompt = prompts.get_prompt(session, user, prompt_id)
    renderer = PromptRenderer(session, settings, user)
    step = None
    if body.reschedule is not None:
        step = _next_step(body.reschedule, renderer, prompt, field="reschedule")
    try:
        followup = answers.didnt_happen(session, user, prompt, step, renderer.now,
                                        note=body.note)
    except ValidationFailed as exc:
        raise _renamed(exc, "reschedule") from exc
    return renderer.action_out(prompt, followup)


@route("/prompts/<int:prompt_id>/not_yet", "POST", response=PromptActionOut,
       errors=("422",))
def promise_not_yet(prompt_id: int) -> PromptActionOut:
    """A promise's prompt: not delivered yet. Its follow-up moves to the next usual working
    time before the promised deadline (or an hour from now) and the prompt asks again then;
    `warning` says when no time before the deadline is left. 422 for any other prompt."""
    session, settings, user = get_session(), current_settings(), api_user()
    prompt = prompts.get_prompt(session, user, prompt_id)
    renderer = PromptRenderer(session, settings, user)
    result = answers.not_yet(session, settings, user, prompt, renderer.now)
    return renderer.action_out(prompt, prompt.followup, result.warning)


@route("/followups/<int:followup_id>/delivered", "POST", response=DeliveryOut,
       body=DeliveredIn, body_required=False)
def promise_delivered(followup_id: int, body: DeliveredIn) -> DeliveryOut:
    """What a promise follow-up promised was delivered (`at`, default now): records whether
    it beat the deadline (early, on time, late), answers the promise's prompt, plans the
    follow-through and emits `promise.delivered`. Sent again, it answers the delivery
    already recorded. 422 for a follow-up that is not a promise."""
    session, user = get_session(), api_user()
    followup = deals.get_followup(session, user, followup_id)
    at = user_time(body.at) if body.at is not None else None
    delivery = answers.deliver(session, current_settings(), user, followup, at)
    return DeliveryOut(followup=followup_out(delivery.followup), timing=delivery.timing,
                       follow_through=followup_out(delivery.follow_through),
                       prompt_id=delivery.prompt.id if delivery.prompt is not None else None)


@route("/prompts/<int:prompt_id>/deal", "POST", response=PromptOut, body=MoveToDealIn)
def move_prompt(prompt_id: int, body: MoveToDealIn) -> PromptOut:
    """Move the touch (and what it planned) to another deal: `deal_id`, or `name` for a new one."""
    session, user = get_session(), api_user()
    prompt = prompts.get_prompt(session, user, prompt_id)
    answers.move_to_chosen_deal(session, user, prompt, deal_id=body.deal_id, new_name=body.name)
    return PromptRenderer(session, current_settings(), user).out(prompt)


def _next_step(step: NextStepIn, renderer: PromptRenderer, prompt: Prompt,
               field: str = "next_step") -> NextStep:
    """The service's NextStep, with the cadence's defaults for what the body left out."""
    duration, channel = step.duration_minutes, step.channel
    if duration is None or channel is None:
        suggestion = prompts.suggestion_for(renderer.session, renderer.settings, renderer.user,
                                            prompt, renderer.now)
        duration = duration if duration is not None else suggestion.duration_minutes
        channel = channel if channel is not None else suggestion.channel
    due = user_time(step.promise_due) if step.promise_due is not None else None
    result = NextStep(summary=step.summary, start=user_time(step.start),
                      duration_minutes=duration, channel=channel, promise_due=due,
                      value_note=step.value_note)
    try:
        answers.check_next_step(result, renderer.now)
    except ValidationFailed as exc:
        raise _renamed(exc, field) from exc
    return result


def _renamed(error: ValidationFailed, prefix: str) -> ValidationFailed:
    """The service names next-step fields `next_step.*`; a reschedule's are `reschedule.*`."""
    head, dot, rest = error.field.partition(".")
    if head != "next_step" or not dot:
        return error
    renamed = ValidationFailed(f"{prefix}.{rest}", error.message)
    renamed.hint = error.hint
    return renamed
