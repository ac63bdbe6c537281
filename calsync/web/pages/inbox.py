"""The inbox: every meeting waiting for "how did it go?", newest first, one row each whose
answer form opens in place; searched, and put away several at once.

`prompt_view` gathers what one prompt shows, for the inbox and the prompt page alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from calsync.db import get_session
from calsync.domain.cadence import Suggestion, touch_label
from calsync.domain.deals import AfterSaleQuestion, after_sale_question
from calsync.domain.vocabulary import Channel, DismissReason, FollowUpKind, FollowUpStatus
from calsync.errors import ValidationFailed
from calsync.services import answers, cadences, prompts
from calsync.web import current_settings
from calsync.web.pages import bp
from calsync.web.pages.display import input_date, input_time, minutes_between, when
from calsync.web.pages.forms import (
    AnswerForm,
    BulkForm,
    DidntHappenForm,
    DismissForm,
    SnoozeForm,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from calsync.models import AttendeeRow, Deal, Prompt, User

PAGE_SIZE = 25
# The longest search kept: longer is a paste gone wrong, and each word costs a few LIKEs.
MAX_SEARCH = 200


@dataclass
class PromptView:
    prompt: Prompt
    title: str
    start: datetime
    end: datetime
    attendees: list[AttendeeRow]
    location: str
    recurring: bool
    deal: Deal | None
    touch: str  # "touch 2 of a usual 5-7"
    touch_number: int  # 2: the inbox's row says no more
    suggestion: Suggestion
    # What the `s` key (and nothing else) writes into an empty "What" of the next step.
    suggested_summary: str
    # The channel promised at the last touch: changing it away is pointed out.
    promised_channel: Channel | None
    answer: AnswerForm
    snooze: SnoozeForm
    dismiss: DismissForm
    didnt_happen: DidntHappenForm
    # A touch of a won deal (check-in, referral, up-sell): its own question and answers.
    after_sale: AfterSaleQuestion | None = None

    @property
    def asks_delivered(self) -> bool:
        """A promise's prompt, waiting and not delivered yet: "Delivered?" comes before the
        ordinary answer."""
        followup = self.prompt.followup
        return (followup is not None and followup.kind is FollowUpKind.PROMISE
                and followup.delivered_at is None and self.prompt.status.awaiting_answer)


def prompt_view(session: Session, user: User, prompt: Prompt, return_to: str = "inbox",
                answer: AnswerForm | None = None,
                context: prompts.TouchContext | None = None,
                didnt_happen: DidntHappenForm | None = None) -> PromptView:
    """What one prompt shows; `answer` and `didnt_happen` are forms posted back with an error,
    shown again as typed."""
    settings = current_settings()
    cadence = cadences.cadence_for(user, settings)
    context = context or prompts.touch_contexts(session, [prompt])[prompt.id]
    suggestion = prompts.suggestion_for(session, settings, user, prompt, context=context)
    touches = context.touches_before + 1
    meeting, followup = prompt.meeting, prompt.followup
    if meeting is not None:
        title, start, end = meeting.title or "Untitled meeting", meeting.start, meeting.end
        attendees, location = list(meeting.attendees or []), meeting.location
        recurring = bool(meeting.series_uid)
    else:
        assert followup is not None  # a prompt is about a meeting or a follow-up
        title, start, end = followup.summary, followup.start, followup.end
        attendees, location, recurring = [], followup.channel, False
    user_email = user.email.lower()
    attendees = [a for a in attendees
                 if a.get("email", "").lower().removeprefix("mailto:") != user_email]
    form = answer or AnswerForm(formdata=None, data=_answer_defaults(prompt, suggestion,
                                                                     return_to))
    question = (after_sale_question(followup.kind)
                if followup is not None and prompts.is_after_sale(prompt) else None)
    return PromptView(
        prompt=prompt, title=title, start=start, end=end, attendees=attendees,
        location=location, recurring=recurring, deal=prompt.deal,
        touch=(f"{followup.kind.label}, after the sale" if followup is not None and question
               else touch_label(cadence, touches)), touch_number=touches, suggestion=suggestion,
        suggested_summary=f"Follow up with {prompt.deal.name}" if prompt.deal else "Follow up",
        promised_channel=context.promised_channel, answer=form,
        snooze=SnoozeForm(formdata=None, data={"return_to": return_to}),
        dismiss=DismissForm(formdata=None, data={"return_to": return_to}),
        didnt_happen=didnt_happen or DidntHappenForm(formdata=None, data={
            "return_to": return_to, "reschedule_duration": minutes_between(start, end)}),
        after_sale=question,
    )


def _answer_defaults(prompt: Prompt, suggestion: Suggestion, return_to: str) -> dict[str, Any]:
    """The current answer when there is one, else the cadence's suggestion."""
    planned = prompt.planned_followup
    if planned is not None and planned.status != FollowUpStatus.CANCELLED:
        summary, start, channel = planned.summary, planned.start, planned.channel
        duration = minutes_between(planned.start, planned.end)
    else:
        summary, start, channel = "", suggestion.start, suggestion.channel
        duration = suggestion.duration_minutes
    return {
        "outcome": prompt.outcome or "",
        "no_reason": prompt.no_reason or "",
        "summary": summary,
        "date": datetime.strptime(input_date(start), "%Y-%m-%d").date(),
        "time": datetime.strptime(input_time(start), "%H:%M").time(),
        "duration": duration,
        "channel": channel,
        "note": prompt.note or "",
        "return_to": return_to,
        "version": answers.version(prompt),
    }


@bp.get("/")
@login_required
def inbox() -> str:
    session = get_session()
    user: User = current_user
    prompts.wake_snoozed(session, datetime.now(UTC), user.id)
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    q = request.args.get("q", "").strip()[:MAX_SEARCH]
    found = prompts.read_inbox(session, user, page=page, page_size=PAGE_SIZE, search=q)
    return render_template(
        "inbox.html",
        views=[prompt_view(session, user, prompt, context=found.contexts[prompt.id])
               for prompt in found.pending],
        total=found.total, matching=found.matching, q=q, page=page,
        pages=max(1, -(-found.matching // PAGE_SIZE)),
        unplanned=found.unplanned, unplanned_count=found.unplanned_count,
        snoozed=found.snoozed, has_sources=found.has_sources,
    )


@bp.post("/inbox/bulk")
@login_required
def bulk() -> Response:
    """The selected prompts put away at once; back to the inbox (and its search)."""
    user: User = current_user
    form = BulkForm()
    back = redirect(url_for("pages.inbox", q=form.q.data or None))
    if not form.validate():
        flash(next(iter(form.errors.values()))[0] if form.errors else "Try again.", "error")
        return back
    action, now = form.action.data or "", datetime.now(UTC)
    until = None
    if action != "dismiss":
        cadence = cadences.cadence_for(user, current_settings())
        until = answers.snooze_until(action, ZoneInfo(user.timezone), now, cadence.usual_hour)
    try:
        done = prompts.put_away(get_session(), user, form.prompt_ids.data or [],
                                snooze_until=until, now=now)
    except ValidationFailed as error:
        flash(error.message[:1].upper() + error.message[1:], "error")
        return back
    count = f"{done} {'prompt' if done == 1 else 'prompts'}"
    if until is not None:
        flash(f"Snoozed {count} until {when(until)}.")
    else:
        flash(f"{count.capitalize()} marked {DismissReason.NOT_SALES.label.lower()}: "
              "no touch counted.")
    return back

