"""One prompt: its page (the answer, changing it, moving it to another deal) and its actions.

Answer, snooze, dismiss and "it didn't happen" post here from the inbox and the prompt page;
the last three post the whole prompt form, so a note typed into it is kept. A refusal shows
the prompt again with everything typed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import Field

from calsync.db import get_session
from calsync.domain.coaching import FollowUpFact
from calsync.domain.deals import after_sale_question
from calsync.domain.promises import promised_for
from calsync.domain.vocabulary import Channel, Outcome
from calsync.errors import PromptAlreadyAnswered, ValidationFailed
from calsync.services import answers, cadences, prompts
from calsync.services.answers import Answer, NextStep
from calsync.web import current_settings
from calsync.web.pages import bp, prompt_extras
from calsync.web.pages.display import combine, when
from calsync.web.pages.forms import AnswerForm, DidntHappenForm, DismissForm, MoveForm, SnoozeForm
from calsync.web.pages.inbox import MAX_SEARCH, prompt_view

if TYPE_CHECKING:
    from calsync.models import FollowUp, Prompt, User

# Where a service's field name shows up on the answer form.
ANSWER_FIELDS = {
    "outcome": "outcome", "note": "note", "no_reason": "no_reason",
    "next_step": "summary", "next_step.summary": "summary", "next_step.start": "date",
    "next_step.duration_minutes": "duration", "next_step.channel": "channel", "deal": "outcome",
    "next_step.promise_due": "promise_date", "next_step.value_note": "value_note",
}
# The same for a new time given to a meeting that didn't happen.
RESCHEDULE_FIELDS = {"next_step.start": "reschedule_date",
                     "next_step.duration_minutes": "reschedule_duration"}
# The didn't-happen fields shown with their errors; the rest show on the answer form.
RESCHEDULE_SHOWN = ("reschedule_date", "reschedule_time", "reschedule_duration")


def _prompt(prompt_id: int) -> Prompt:
    return prompts.get_prompt(get_session(), current_user, prompt_id)


def _back(prompt: Prompt, return_to: str | None) -> Response:
    if return_to == "prompt":
        return redirect(url_for("pages.prompt", prompt_id=prompt.id))
    return _to_inbox()


def _to_inbox() -> Response:
    """The inbox again, with the search it showed, at the row the inbox said comes after
    this one (`next_prompt`): the page focuses it, so the keyboard carries on there."""
    next_id = request.form.get("next_prompt", type=int)
    q = request.form.get("q", "").strip()[:MAX_SEARCH] or None
    return redirect(url_for("pages.inbox", q=q,
                            _anchor=f"prompt-{next_id}" if next_id else None))


def _render_prompt(prompt: Prompt, answer: AnswerForm | None = None, status: int = 200, *,
                   didnt_happen: DidntHappenForm | None = None,
                   conflict: bool = False) -> tuple[str, int]:
    """The prompt's page; `conflict` says the answer posted was not applied because the
    prompt was answered (or put away) since the page was loaded."""
    user: User = current_user
    view = prompt_view(get_session(), user, prompt, "prompt", answer,
                       didnt_happen=didnt_happen)
    return render_template("prompt.html", view=view, conflict=conflict), status


@bp.get("/prompts/<int:prompt_id>")
@login_required
def prompt(prompt_id: int) -> tuple[str, int]:
    prompt = _prompt(prompt_id)
    covered = prompt_extras.covered_notice(prompt)  # what covered it, with Undo
    if covered is not None:
        flash(covered)
    return _render_prompt(prompt)


@bp.post("/prompts/<int:prompt_id>/answer")
@login_required
def answer(prompt_id: int) -> Response | tuple[str, int]:
    prompt = _prompt(prompt_id)
    user: User = current_user
    form = AnswerForm()
    answer_ = _read_answer(form, ZoneInfo(user.timezone)) if form.validate() else None
    if answer_ is None:
        return _render_prompt(prompt, form, 422)
    seen = form.version.data or None
    try:
        result = answers.answer_prompt(get_session(), current_settings(), user, prompt,
                                       answer_, replace=seen is None, seen=seen)
    except PromptAlreadyAnswered:
        # Shown again as typed, now carrying the current version: sending it again is the
        # user's "change it".
        form.version.data = answers.version(prompt)
        return _render_prompt(prompt, form, 409, conflict=True)
    except ValidationFailed as error:
        _add_error(getattr(form, ANSWER_FIELDS.get(error.field, "outcome")), error.message)
        return _render_prompt(prompt, form, 422)
    title = prompt_view_title(prompt)
    if result.followup is not None:
        promised = answers.promise_text(result.followup)
        # A summary may end in its own "?" or ".": a middle dot, not a comma, parts it
        # from its time.
        flash(f"Next step planned for {title}: {result.followup.summary} · "
              f"{when(result.followup.start)} ({result.followup.channel.label})"
              + (f", {promised}." if promised else "."))
    elif prompts.is_after_sale(prompt) and prompt.followup is not None:
        asked = after_sale_question(prompt.followup.kind)
        said = asked.yes if result.prompt.outcome == Outcome.YES else asked.no
        flash(f"{title}: {said}. The deal stays won.")
    elif result.prompt.outcome == Outcome.YES:
        flash(f"{title}: marked as a yes. The deal is won.{_planned_words(result.planned)}")
    else:
        no_reason = result.prompt.no_reason
        reason = f" ({no_reason.label.lower()})" if no_reason else ""
        flash(f"{title}: marked as a no{reason}. The deal is lost."
              f"{_planned_words(result.planned)}")
    if result.warning:
        flash(result.warning, "warning")
    covered = prompt_extras.answer_notice(result)  # the older prompts it covered, with Undo
    if covered is not None:
        flash(covered)
    offer = prompt_extras.after_sale_notice(result)  # the after-sale touches not planned
    if offer is not None:
        flash(offer)
    return _back(prompt, form.return_to.data)


def _planned_words(planned: list[FollowUp]) -> str:
    """" Planned: Satisfaction check-in on Thu 2 Jan 10:00, …" or nothing."""
    if not planned:
        return ""
    return " Planned: " + ", ".join(f"{f.kind.label} {when(f.start)}" for f in planned) + "."


def _add_error(field: Field, message: str) -> None:
    # A service's message follows its field name ("next_step.start: that time…"); beside the
    # field on a page it starts a sentence.
    field.errors = [*field.errors, message[:1].upper() + message[1:]]


def _read_answer(form: AnswerForm, tz: ZoneInfo) -> Answer | None:
    """The form as an Answer; None (with errors on the form) when a next step is incomplete."""
    outcome = form.outcome.data or ""
    note = (form.note.data or "").strip()
    if outcome == Outcome.YES:
        after_sale = tuple(form.after_sale.data or ()) if form.after_sale_shown.data else None
        return Answer(outcome=outcome, note=note, after_sale=after_sale)
    if outcome != Outcome.NEXT_STEP:
        reason = (form.no_reason.data or None) if outcome == Outcome.NO else None
        revisit = bool(form.revisit.data) or not form.revisit_shown.data
        return Answer(outcome=outcome, note=note, no_reason=reason, revisit=revisit)
    summary, day, at = form.summary.data, form.date.data, form.time.data
    missing = [(form.summary, "Say what the next step is."), (form.date, "Pick a date."),
               (form.time, "Pick a time.")]
    for field, message in missing:
        if not field.data:
            _add_error(field, message)
    promise_day, promise_at = form.promise_date.data, form.promise_time.data
    if bool(promise_day) != bool(promise_at):
        _add_error(form.promise_date, "Give both the date and the time you promised them.")
        return None
    if not (summary and day and at):
        return None
    due = combine(promise_day, promise_at, tz) if promise_day and promise_at else None
    step = NextStep(summary=summary, start=combine(day, at, tz),
                    duration_minutes=form.duration.data or 30, channel=form.channel.data or "",
                    promise_due=due, value_note=(form.value_note.data or "").strip())
    return Answer(outcome=Outcome.NEXT_STEP, note=note, next_step=step)


def _keep_typed(prompt: Prompt, refused: FlaskForm,
                error: ValidationFailed | None = None) -> tuple[str, int]:
    """The prompt's page again (422) after snooze, "not a sales meeting" or "it didn't
    happen" was refused: everything typed stays, each reason beside its field."""
    answer_form = AnswerForm()  # the whole prompt form was posted: it holds what was typed
    didnt = refused if isinstance(refused, DidntHappenForm) else None
    reasons = [(name, message) for name, messages in refused.errors.items() if name
               for message in messages if didnt is None or name not in RESCHEDULE_SHOWN]
    if error is not None:
        reasons.append((RESCHEDULE_FIELDS.get(error.field, error.field), error.message))
    for name, message in reasons:
        if didnt is not None and name in RESCHEDULE_SHOWN:
            _add_error(didnt[name], message)
        else:
            _add_error(answer_form[name] if name == "note" else answer_form.outcome, message)
    return _render_prompt(prompt, answer_form, 422, didnt_happen=didnt)


def prompt_view_title(prompt: Prompt) -> str:
    if prompt.meeting is not None:
        return f"“{prompt.meeting.title or 'Untitled meeting'}”"
    return f"“{prompt.followup.summary}”" if prompt.followup is not None else "The meeting"


@bp.post("/prompts/<int:prompt_id>/snooze")
@login_required
def snooze(prompt_id: int) -> Response | tuple[str, int]:
    prompt = _prompt(prompt_id)
    user: User = current_user
    form = SnoozeForm()
    if not form.validate():
        return _keep_typed(prompt, form)
    cadence = cadences.cadence_for(user, current_settings())
    until = answers.snooze_until(form.until.data or "", ZoneInfo(user.timezone),
                                 datetime.now(UTC), cadence.usual_hour)
    try:
        answers.snooze(get_session(), prompt, until, note=form.note.data)
    except ValidationFailed as error:
        return _keep_typed(prompt, form, error)
    flash(f"Snoozed {prompt_view_title(prompt)} until {when(until)}.")
    return _to_inbox()


@bp.post("/prompts/<int:prompt_id>/dismiss")
@login_required
def dismiss(prompt_id: int) -> Response | tuple[str, int]:
    prompt = _prompt(prompt_id)
    form = DismissForm()
    if not form.validate():
        return _keep_typed(prompt, form)
    skip = bool(form.skip_series.data)
    try:
        answers.dismiss(get_session(), prompt, skip_series=skip, note=form.note.data)
    except ValidationFailed as error:
        return _keep_typed(prompt, form, error)
    series = " calsync won't ask about this series again." if skip else ""
    flash(f"{prompt_view_title(prompt)} is not a sales meeting: no touch counted.{series}")
    return _to_inbox()


@bp.post("/prompts/<int:prompt_id>/didnt-happen")
@login_required
def didnt_happen(prompt_id: int) -> Response | tuple[str, int]:
    prompt = _prompt(prompt_id)
    user: User = current_user
    form = DidntHappenForm()
    if not form.validate():
        return _keep_typed(prompt, form)
    day, at = form.reschedule_date.data, form.reschedule_time.data
    title = prompt_view_title(prompt)
    step = None
    if form.action.data == "reschedule":
        if not (day and at):
            _add_error(form.reschedule_time if day else form.reschedule_date,
                       "To reschedule, give both a date and a time.")
            return _keep_typed(prompt, form)
        followup = prompt.followup
        step = NextStep(
            summary=prompt.meeting.title if prompt.meeting else title.strip("“”"),
            start=combine(day, at, ZoneInfo(user.timezone)),
            duration_minutes=form.reschedule_duration.data or 30,
            channel=followup.channel if followup is not None else Channel.MEETING)
    try:
        planned = answers.didnt_happen(get_session(), user, prompt, step, note=form.note.data)
    except ValidationFailed as error:
        return _keep_typed(prompt, form, error)
    if planned is not None:
        flash(f"{title} didn't happen; rescheduled to {when(planned.start)}. No touch counted.")
    else:
        flash(f"{title} didn't happen. No touch counted.")
    return _to_inbox()


@bp.app_template_filter("promised")
def promised(followup: FollowUp | FollowUpFact) -> str:
    """"promised for Fri 5 Dec 16:00" (in the user's zone) for a promise follow-up, empty
    for any other."""
    if followup.promise_due is None:
        return ""
    return promised_for(followup.promise_due, ZoneInfo(current_user.timezone))


@bp.app_template_filter("promise_kept")
def promise_kept(followup: FollowUp) -> str:
    """"early", "on time" or "late" once a promise is delivered; empty before."""
    timing = answers.promise_kept(followup)
    return timing.replace("_", " ") if timing is not None else ""


@bp.post("/prompts/<int:prompt_id>/delivered")
@login_required
def delivered(prompt_id: int) -> Response:
    """"Delivered": what the promise promised is with the client now; the follow-through
    is planned (the API's POST /followups/<id>/delivered)."""
    prompt = _prompt(prompt_id)
    user: User = current_user
    if not FlaskForm().validate() or prompt.followup is None:
        flash("That form expired; try again.", "error")
        return redirect(url_for("pages.prompt", prompt_id=prompt.id))
    try:
        delivery = answers.deliver(get_session(), current_settings(), user, prompt.followup)
    except ValidationFailed as error:
        flash(error.message[:1].upper() + error.message[1:], "error")
        return redirect(url_for("pages.prompt", prompt_id=prompt.id))
    kept = delivery.timing.replace("_", " ")
    flash(f"Delivered {kept}: {prompt_view_title(prompt)}. Follow-through planned for "
          f"{when(delivery.follow_through.start)}.")
    # From the inbox, on to its next row; from the prompt's page, that page and its record.
    if request.form.get("return_to") == "inbox":
        return _to_inbox()
    return redirect(url_for("pages.prompt", prompt_id=prompt.id))


@bp.post("/prompts/<int:prompt_id>/not-yet")
@login_required
def not_yet(prompt_id: int) -> Response:
    """"Not yet": the promise's follow-up moves before the deadline (warned when it can't)."""
    prompt = _prompt(prompt_id)
    user: User = current_user
    if not FlaskForm().validate():
        flash("That form expired; try again.", "error")
        return redirect(url_for("pages.prompt", prompt_id=prompt.id))
    try:
        result = answers.not_yet(get_session(), current_settings(), user, prompt)
    except ValidationFailed as error:
        flash(error.message[:1].upper() + error.message[1:], "error")
        return redirect(url_for("pages.prompt", prompt_id=prompt.id))
    flash(f"Not delivered yet: {prompt_view_title(prompt)} moved to "
          f"{when(prompt.followup.start if prompt.followup else result.until)}; "
          "calsync asks again then.")
    if result.warning:
        flash(result.warning, "warning")
    return _to_inbox()


@bp.post("/prompts/<int:prompt_id>/move")
@login_required
def move(prompt_id: int) -> Response:
    prompt = _prompt(prompt_id)
    user: User = current_user
    session = get_session()
    form = MoveForm()
    if not form.validate():
        flash("That form expired; try again.", "error")
        return redirect(url_for("pages.prompt", prompt_id=prompt.id))
    name = (form.new_deal.data or "").strip()
    if not name and not form.deal_id.data:
        flash("Pick one of your deals, or type a name for a new one.", "error")
        return redirect(url_for("pages.prompt", prompt_id=prompt.id))
    # A typed name wins over the picked deal: the name is the newer intent.
    deal = answers.move_to_chosen_deal(session, user, prompt, new_name=name or None,
                                       deal_id=None if name else form.deal_id.data)
    flash(f"Moved to the deal “{deal.name}”.")
    return redirect(url_for("pages.prompt", prompt_id=prompt.id))

