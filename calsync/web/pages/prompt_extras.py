"""What surrounds an answer: the prompts it covered (a notice with Undo, and undoing one
covered prompt from its page), and the live check of a picked time against the calendar.

The notices are flashed, so they show wherever the answer lands (the inbox or the prompt's
page) in base.html's flash area; their Undo is a real form, no script needed.
"""

from __future__ import annotations

from datetime import date, time
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from markupsafe import Markup
from werkzeug.wrappers import Response

from calsync.db import get_session
from calsync.domain.cadence import AFTER_SALE, in_days
from calsync.domain.deals import after_sale_question
from calsync.domain.vocabulary import DealStatus, FollowUpKind, Outcome, PromptStatus
from calsync.errors import ValidationFailed
from calsync.services import answers, cadences, prompts
from calsync.web import current_settings
from calsync.web.pages import bp
from calsync.web.pages.display import combine, when

if TYPE_CHECKING:
    from calsync.models import Prompt, User
    from calsync.services.answers import AnswerResult


def answer_notice(result: AnswerResult) -> Markup | None:
    """"2 earlier prompts of Contoso are covered by this answer" with Undo, when the answer
    covered any."""
    count = len(result.covered)
    if not count or result.prompt.deal is None:
        return None
    earlier = "1 earlier prompt" if count == 1 else f"{count} earlier prompts"
    verb = "is" if count == 1 else "are"
    text = f"{earlier} of {result.prompt.deal.name} {verb} covered by this answer."
    return _notice(text, url_for("pages.uncover_all", prompt_id=result.prompt.id))


def after_sale_notice(result: AnswerResult) -> Markup | None:
    """After a yes that won the deal: one button each for the after-sale touches not
    planned yet ("Also plan: Up-sell review in 90 days"), so a yes given without opening the
    choices still offers them."""
    prompt, deal = result.prompt, result.prompt.deal
    if (prompt.outcome is not Outcome.YES or deal is None or deal.status is not DealStatus.WON
            or prompts.is_after_sale(prompt)):
        return None
    planned = answers.after_sale_planned(get_session(), deal)
    offered = [(kind, label, when_text) for kind, label, when_text, _ticked
               in after_sale_offer() if kind not in planned]
    if not offered:
        return None
    # Safe: an autoescaped template's output.
    return Markup(render_template(  # noqa: S704
        "after_sale_notice.html", offered=offered,
        action=url_for("pages.plan_after_sale", prompt_id=prompt.id)))


def covered_notice(prompt: Prompt) -> Markup | None:
    """On a covered prompt's page: "Covered by your answer on “Pricing” (Yes)." with Undo."""
    if prompt.status is not PromptStatus.COVERED:
        return None
    text = f"Covered by {answers.covering_answer(prompt)}: it counts as a touch."
    return _notice(text, url_for("pages.uncover", prompt_id=prompt.id))


def _notice(text: str, action: str) -> Markup:
    # Safe: an autoescaped template's output, `text` escaped in it.
    return Markup(render_template("covered_notice.html", text=text, action=action))  # noqa: S704


@bp.app_template_global()
def after_sale_offer() -> list[tuple[str, str, str, bool]]:
    """The after-sale touches a yes offers the signed-in user: (kind, label, when, ticked
    by their cadence)."""
    cadence = cadences.cadence_for(current_user, current_settings())
    offered = []
    for kind in AFTER_SALE:
        days = cadence.after_sale_days(kind)
        with_check_in = (kind is FollowUpKind.REFERRAL and days == cadence.check_in_days)
        offered.append((kind.value, kind.label,
                        "with the check-in" if with_check_in else in_days(days),
                        kind in cadence.after_sale))
    return offered


@bp.app_template_global()
def revisit_when() -> str:
    """When the signed-in user's revisit comes after a no for bad timing: "in about 3
    months"."""
    return in_days(cadences.cadence_for(current_user, current_settings()).revisit_days)


@bp.app_template_global()
def answer_words(prompt: Prompt) -> tuple[str, str]:
    """An answered prompt's answer as a timeline shows it: (words, badge class). An
    after-sale touch's in its own words ("Not happy yet"), in no deal's colour: it left the
    deal won."""
    assert prompt.outcome is not None
    if prompt.followup is not None and prompts.is_after_sale(prompt):
        asked = after_sale_question(prompt.followup.kind)
        words = {Outcome.YES: asked.yes, Outcome.NO: asked.no}
        return words.get(prompt.outcome, prompt.outcome.label), ""
    return prompt.outcome.label, str(prompt.outcome.deal_status)


def _prompt(prompt_id: int) -> Prompt:
    return prompts.get_prompt(get_session(), current_user, prompt_id)


@bp.post("/prompts/<int:prompt_id>/uncover")
@login_required
def uncover(prompt_id: int) -> Response:
    """Undo one covered prompt (from its page): it waits for its own answer again."""
    prompt = _prompt(prompt_id)
    answers.uncover(get_session(), current_user, prompt)
    flash(f"{answers.touch_title(prompt)} waits for its own answer again.")
    return redirect(url_for("pages.prompt", prompt_id=prompt.id))


@bp.post("/prompts/<int:prompt_id>/uncover-all")
@login_required
def uncover_all(prompt_id: int) -> Response:
    """Undo right after an answer: everything it covered waits again."""
    answered = _prompt(prompt_id)
    released = answers.uncover_all(get_session(), current_user, answered)
    count = len(released)
    if count:
        back = "1 earlier prompt is" if count == 1 else f"{count} earlier prompts are"
        flash(f"Undone: {back} back in your inbox.")
    else:
        flash("Nothing to undo: those prompts were answered or put back already.")
    return redirect(url_for("pages.inbox"))


@bp.post("/prompts/<int:prompt_id>/after-sale")
@login_required
def plan_after_sale(prompt_id: int) -> Response:
    """One after-sale touch (`kind`) planned after the yes, from the notice's button."""
    prompt = _prompt(prompt_id)
    kind = request.form.get("kind", "")
    try:
        planned = answers.plan_after_sale(get_session(), current_settings(), current_user,
                                          prompt, (kind,))
    except ValidationFailed as error:
        flash(error.message[:1].upper() + error.message[1:], "error")
        return redirect(url_for("pages.prompt", prompt_id=prompt.id))
    if planned:
        flash("Planned: " + ", ".join(f"{f.kind.label} {when(f.start)}" for f in planned)
              + ".")
    else:
        flash("That touch is planned already.")
    notice = after_sale_notice(answers.AnswerResult(prompt, None, None))
    if notice is not None:
        flash(notice)
    return redirect(url_for("pages.inbox"))


@bp.get("/prompts/<int:prompt_id>/clash")
@login_required
def clash(prompt_id: int) -> tuple[dict[str, str | None], int]:
    """What a next step at `date` `time` for `duration` minutes would clash with, as the user
    picks it: {"clash": "Tue 3 Dec 10:00 clashes with “Weekly pipeline review”."} or
    {"clash": null}; 422 with {"error": …} for a date or time that can't be read."""
    prompt = _prompt(prompt_id)
    user: User = current_user
    try:
        day = date.fromisoformat(request.args.get("date", ""))
        at = time.fromisoformat(request.args.get("time", ""))
        duration = int(request.args.get("duration") or 30)
    except ValueError:
        return {"clash": None, "error": "Pick a date and a time."}, 422
    start = combine(day, at, ZoneInfo(user.timezone))
    try:
        message = answers.clash_for(get_session(), user, prompt, start, duration)
    except ValidationFailed as error:
        return {"clash": None, "error": error.message}, 422
    return {"clash": message}, 200
