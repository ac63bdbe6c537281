"""The pages behind signed links from emails and calendar events: /a/<token> answers one
prompt (or says why a follow-up was missed), /u/<token> stops prompt emails.

Mail scanners open links, run scripts and may click, so GET and HEAD only show what the
link would do; a Confirm button POSTs it. The token is the only key: nobody is signed in.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import RadioField, TextAreaField

# types-WTForms 3.2 lacks SelectChoice, which WTForms 3.3 has.
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]
from wtforms.validators import DataRequired, Length, Optional

from calsync.db import get_session
from calsync.domain.deals import AfterSaleQuestion
from calsync.domain.vocabulary import AnswerAction, EmailPrompts, MissedReason, PromptStatus
from calsync.errors import LinkRefused, PromptClosed, ValidationFailed
from calsync.services import answers, coach, link_actions
from calsync.services.link_actions import Opened
from calsync.services.links import LinkPurpose
from calsync.web import csrf, current_settings
from calsync.web.pages import bp
from calsync.web.pages.display import EN_DASH
from calsync.web.pages.forms import AnswerForm, DismissForm, SnoozeForm
from calsync.web.pages.inbox import prompt_view
from calsync.web.pages.prompts import ANSWER_FIELDS, _read_answer
from calsync.web.throttle import answer_link_by_address

if TYPE_CHECKING:
    from calsync.models import AttendeeRow, Deal, Prompt

log = logging.getLogger(__name__)

PROMPT_LINKS = (LinkPurpose.ANSWER, LinkPurpose.FOLLOWUP, LinkPurpose.MISSED)
ACTION_LABELS = {
    AnswerAction.NEXT_STEP: "Next step", AnswerAction.YES: "Yes", AnswerAction.NO: "No",
    AnswerAction.SNOOZE: "Snooze", AnswerAction.NOT_SALES: "Not a sales meeting",
}
SNOOZE_LABELS = {"hour": "For an hour", "tomorrow": "Until tomorrow", "next_week": "A week"}
# A promise's prompt asks "Delivered?" first: the `promise` values its page posts.
PROMISE_ANSWERS = ("delivered", "not_yet")


class MissedForm(FlaskForm):
    reason = RadioField(
        "Why was it missed?",
        choices=[SelectChoice(reason.value, reason.label) for reason in MissedReason],
        validators=[DataRequired("Choose a reason.")])
    note = TextAreaField("Note", validators=[Optional(), Length(max=coach.MAX_MISSED_NOTE)])


@dataclass
class LinkPage:
    """What a link's page shows: the touch, in its user's zone, and where it stands."""

    opened: Opened
    state: str  # confirm | choose | recorded | not_yet | missed | missed_recorded
    title: str
    when: str
    attendees: list[AttendeeRow] = field(default_factory=list)
    deal: Deal | None = None
    touch: str = ""
    suggestion: str = ""
    form: FlaskForm | None = None
    recurring: bool = False
    choices: list[tuple[str, str]] = field(default_factory=list)  # (label, answer link)
    covered_by: str = ""  # a covered prompt: the answer that covered it, in words
    kind: str = ""  # a follow-up's kind, as its badge says it ("promise")
    # A promise's prompt waiting for "Delivered?": "promised for Fri 5 Dec 16:00" (else "").
    asks_delivered: str = ""
    # A touch of a won deal: its own question, and words for yes and no (the deal stays won).
    after_sale: AfterSaleQuestion | None = None

    def label(self, action: AnswerAction) -> str:
        """The words of an answer's button: an after-sale touch's own for yes and no."""
        if self.after_sale is not None and action is AnswerAction.YES:
            return self.after_sale.yes
        if self.after_sale is not None and action is AnswerAction.NO:
            return self.after_sale.no
        return ACTION_LABELS[action]


@bp.get("/a/<token>")
@answer_link_by_address
def answer_link(token: str) -> tuple[str, int]:
    try:
        opened = _open(token, PROMPT_LINKS)
    except LinkRefused as refused:
        return _refused(refused)
    log.info("answer link opened: %s", _describe(opened))
    return _render(_page(opened))


@bp.post("/a/<token>")
@answer_link_by_address
def confirm_answer_link(token: str) -> Response | tuple[str, int]:
    try:
        opened = _open(token, PROMPT_LINKS)
    except LinkRefused as refused:
        return _refused(refused)
    promise = request.form.get("promise")
    if promise in PROMISE_ANSWERS:
        try:
            _confirm_promise(opened, promise)
        except PromptClosed:
            pass  # the page shows the answer it has
        except ValidationFailed as error:
            flash(error.message[:1].upper() + error.message[1:], "error")
        return redirect(url_for("pages.answer_link", token=token))
    if opened.link.purpose is LinkPurpose.FOLLOWUP:
        return redirect(url_for("pages.answer_link", token=token))  # its page links onwards
    try:
        invalid = _confirm(opened)
    except PromptClosed:
        return redirect(url_for("pages.answer_link", token=token))  # shows the answer it has
    if invalid is not None:
        return _render(invalid, 422)
    log.info("answer link confirmed: %s", _describe(opened))
    return redirect(url_for("pages.answer_link", token=token))


@bp.get("/u/<token>")
@answer_link_by_address
def unsubscribe_link(token: str) -> tuple[str, int]:
    try:
        opened = _open(token, (LinkPurpose.UNSUBSCRIBE,))
    except LinkRefused as refused:
        return _refused(refused)
    log.info("unsubscribe link opened: %s", _describe(opened))
    return render_template("link_unsubscribe.html", opened=opened,
                           off=opened.user.email_prompts is EmailPrompts.OFF), 200


# RFC 8058: a mail provider's one-click POST carries no cookie and no CSRF token; the
# signed token is the authentication.
@bp.post("/u/<token>")
@csrf.exempt
@answer_link_by_address
def unsubscribe(token: str) -> tuple[str, int]:
    try:
        opened = _open(token, (LinkPurpose.UNSUBSCRIBE,))
    except LinkRefused as refused:
        return _refused(refused)
    link_actions.unsubscribe(get_session(), opened)
    log.info("unsubscribe link confirmed: %s", _describe(opened))
    return render_template("link_unsubscribe.html", opened=opened, off=True, done=True), 200


def _open(token: str, purposes: Collection[LinkPurpose]) -> Opened:
    opened = link_actions.open_link(get_session(), current_settings(), token, purposes)
    if current_user.is_authenticated and current_user.id != opened.user.id:
        raise LinkRefused("This link belongs to another calsync account.",
                          "Sign out to use it, or answer your own meetings in your inbox.")
    return opened


def _refused(refused: LinkRefused) -> tuple[str, int]:
    log.info("link refused: %s", refused.message)
    return render_template("link_refused.html", error=refused), refused.http_status


def _describe(opened: Opened) -> str:
    """A log line's words for a link: what it is for and whose; never the token."""
    link = opened.link
    parts = [str(link.purpose)]
    parts += [str(value) for value in (link.action, link.reason) if value is not None]
    if link.prompt_id is not None:
        parts.append(f"prompt {link.prompt_id}")
    if link.followup_id is not None:
        parts.append(f"follow-up {link.followup_id}")
    return f"{' '.join(parts)} of user {link.user_id}"


def _render(page: LinkPage, status: int = 200) -> tuple[str, int]:
    template = "link_missed.html" if page.opened.link.purpose is LinkPurpose.MISSED else "link.html"
    return render_template(template, page=page, labels=ACTION_LABELS,
                           snooze_labels=SNOOZE_LABELS), status


def _page(opened: Opened, form: FlaskForm | None = None) -> LinkPage:
    """The page for what the link names, as it stands now."""
    if opened.link.purpose is LinkPurpose.MISSED:
        return _missed_page(opened, form)
    prompt = opened.prompt
    if prompt is None:  # a follow-up whose time has not come, or that calsync has yet to ask
        followup = opened.followup
        assert followup is not None
        return LinkPage(opened, "not_yet", followup.summary,
                        _span(followup.start, followup.end, _zone(opened)),
                        kind=followup.kind.label)
    page = _prompt_page(opened, prompt)
    if not prompt.status.awaiting_answer:
        page.state = "recorded"
        if prompt.status is PromptStatus.COVERED:
            page.covered_by = answers.covering_answer(prompt)
    elif opened.link.purpose is LinkPurpose.FOLLOWUP:
        page.state = "choose"
        page.choices = [(page.label(action),
                         link_actions.answer_url(current_settings(), opened, action))
                        for action in ACTION_LABELS]
    else:
        page.state = "confirm"
        page.form = form or _action_form(opened, page)
    return page


def _prompt_page(opened: Opened, prompt: Prompt) -> LinkPage:
    view = prompt_view(get_session(), opened.user, prompt)
    followup = prompt.followup
    return LinkPage(opened, "", view.title, _span(view.start, view.end, _zone(opened)),
                    attendees=view.attendees, deal=view.deal, touch=view.touch,
                    suggestion=view.suggestion.message, recurring=view.recurring,
                    kind=followup.kind.label if followup is not None else "",
                    asks_delivered=(answers.promise_text(followup)
                                    if followup is not None and view.asks_delivered else ""),
                    after_sale=view.after_sale)


def _action_form(opened: Opened, page: LinkPage) -> FlaskForm:
    """The form of the link's action, filled in: a next step from the cadence's suggestion."""
    action = opened.link.action
    if action is AnswerAction.SNOOZE:
        return SnoozeForm(formdata=None, data={"until": "tomorrow"})
    if action is AnswerAction.NOT_SALES:
        return DismissForm(formdata=None)
    data: dict[str, Any] = {"outcome": str(action)}
    if action is AnswerAction.NEXT_STEP:
        prompt = opened.prompt
        assert prompt is not None
        suggestion = prompt_view(get_session(), opened.user, prompt).suggestion
        start = suggestion.start.astimezone(_zone(opened))
        what = page.deal.name if page.deal is not None else page.title
        data.update(summary=f"Follow up with {what}"[:500], date=start.date(),
                    time=start.time().replace(second=0, microsecond=0),
                    duration=suggestion.duration_minutes, channel=suggestion.channel)
    return AnswerForm(formdata=None, data=data)


def _confirm(opened: Opened) -> LinkPage | None:
    """Do what the link proposes with the posted details; the page again, with the form's
    errors, when they don't do. Raises PromptClosed when it was answered meanwhile."""
    session, settings = get_session(), current_settings()
    action = opened.link.action
    if opened.link.purpose is LinkPurpose.MISSED:
        return _confirm_missed(opened)
    if action is AnswerAction.SNOOZE:
        snooze = SnoozeForm()
        if not snooze.validate():
            return _page(opened, snooze)
        until = link_actions.snooze(session, settings, opened, snooze.until.data or "")
        flash(f"Snoozed until {_when(until, _zone(opened))}. calsync asks again then.")
        return None
    if action is AnswerAction.NOT_SALES:
        dismiss = DismissForm()
        if not dismiss.validate():
            return _page(opened, dismiss)
        link_actions.not_sales(session, opened, bool(dismiss.skip_series.data))
        flash("Recorded: not a sales meeting. No touch counted.")
        return None
    return _confirm_answer(opened)


def _confirm_answer(opened: Opened) -> LinkPage | None:
    form = AnswerForm()
    form.outcome.data = str(opened.link.action)  # the link's action, whatever was posted
    given = _read_answer(form, _zone(opened)) if form.validate() else None
    if given is None:
        return _page(opened, form)
    try:
        result = link_actions.answer(get_session(), current_settings(), opened, given)
    except ValidationFailed as error:
        target = getattr(form, ANSWER_FIELDS.get(error.field, "outcome"))
        target.errors = [*target.errors, error.message]
        return _page(opened, form)
    if result.followup is not None:
        flash(f"Next step planned: {result.followup.summary} · "
              f"{_when(result.followup.start, _zone(opened))}.")
    else:
        flash(f"Recorded: {result.prompt.outcome.label if result.prompt.outcome else ''}.")
    if result.warning:
        flash(result.warning, "warning")
    return None


def _confirm_promise(opened: Opened, promise: str) -> None:
    """A promise's "Delivered" or "Not yet", through the services its prompt's page uses.
    Raises PromptClosed when it was answered meanwhile, ValidationFailed when refused."""
    session, settings, zone = get_session(), current_settings(), _zone(opened)
    if promise == "delivered":
        delivery = link_actions.deliver(session, settings, opened)
        flash(f"Delivered {delivery.timing.replace('_', ' ')}. Follow-through planned for "
              f"{_when(delivery.follow_through.start, zone)}.")
        return
    result = link_actions.not_yet(session, settings, opened)
    flash(f"Not delivered yet: calsync asks again {_when(result.until, zone)}.")
    if result.warning:
        flash(result.warning, "warning")


def _missed_page(opened: Opened, form: FlaskForm | None) -> LinkPage:
    followup = opened.followup
    assert followup is not None
    page = LinkPage(opened, "missed", followup.summary,
                    _span(followup.start, followup.end, _zone(opened)), deal=followup.deal)
    if followup.missed_reason is not None:
        page.state = "missed_recorded"
    elif followup.start > datetime.now(UTC):
        page.state = "not_yet"
    else:
        reason = opened.link.reason
        page.form = form or MissedForm(formdata=None,
                                       data={"reason": str(reason) if reason else None})
    return page


def _confirm_missed(opened: Opened) -> LinkPage | None:
    followup = opened.followup
    assert followup is not None
    if followup.missed_reason is not None:
        # Like an answered prompt: the page shows the reason given; it is changed in the app.
        raise PromptClosed("This follow-up already has its reason.")
    form = MissedForm()
    if not form.validate():
        return _page(opened, form)
    try:
        link_actions.missed_reason(get_session(), opened, form.reason.data or "",
                                   form.note.data or "")
    except ValidationFailed as error:
        target = form.note if error.field == "note" else form.reason
        target.errors = [*target.errors, error.message]
        return _page(opened, form)
    flash("Thanks: noted why it was missed.")
    return None


def _zone(opened: Opened) -> ZoneInfo:
    return ZoneInfo(opened.user.timezone)


# display's filters read the signed-in user's zone; a link's page is read signed out.
def _when(moment: datetime, tz: ZoneInfo) -> str:
    """ "Tue 24 Nov 2026, 14:00" in `tz`."""
    shown = moment.astimezone(tz)
    return f"{shown:%a} {shown.day} {shown:%b} {shown.year}, {shown:%H:%M}"


def _span(start: datetime, end: datetime, tz: ZoneInfo) -> str:
    """ "Tue 24 Nov 2026, 14:00-15:00 (Europe/Berlin)" with an en dash; both days when it
    ends on another."""
    last = end.astimezone(tz)
    same_day = start.astimezone(tz).date() == last.date()
    tail = f"{last:%H:%M}" if same_day else f" {EN_DASH} {_when(end, tz)}"
    return f"{_when(start, tz)}{EN_DASH if same_day else ''}{tail} ({tz.key})"

