"""What a signed link names and, once its owner confirms, does: answer, snooze or dismiss one
prompt (a promise's: delivered, or not yet), say why a follow-up was missed, or stop prompt
emails, through the services the inbox, the coach and the settings use. Opening a link
changes nothing.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from calsync.config import Settings
from calsync.domain.vocabulary import AnswerAction, EmailPrompts, MissedReason, PromptStatus
from calsync.errors import LinkRefused, PromptClosed
from calsync.models import FollowUp, Prompt, User
from calsync.services import answers, cadences, coach, links, notifications
from calsync.services.links import Link, LinkPurpose

INBOX_HINT = "Open your inbox to answer."


@dataclass(frozen=True)
class Opened:
    """A link that checked out, with what it acts on: the prompt of an answer link (or of a
    follow-up link once its time has come and calsync asked), the follow-up of a follow-up
    or missed link."""

    link: Link
    user: User
    prompt: Prompt | None = None
    followup: FollowUp | None = None


def open_link(session: Session, settings: Settings, token: str,
              purposes: Collection[LinkPurpose], now: datetime | None = None) -> Opened:
    """What `token` names, checked against its owner. Read only. Raises LinkRefused when the
    token is forged, tampered with, expired, of another kind, or names what is not its
    user's (or no longer exists)."""
    link = links.read(settings, token, now)
    if link.purpose not in purposes:
        raise LinkRefused("This link is not one calsync made, or it was changed on the way.",
                          INBOX_HINT)
    user = session.get(User, link.user_id)
    if user is None:
        raise LinkRefused("This link's account no longer exists.")
    if link.purpose is LinkPurpose.ANSWER:
        prompt = session.get(Prompt, link.prompt_id) if link.prompt_id is not None else None
        if prompt is None or prompt.user_id != user.id or link.action is None:
            raise _gone()
        return Opened(link, user, prompt=prompt)
    if link.purpose in (LinkPurpose.FOLLOWUP, LinkPurpose.MISSED):
        followup = (session.get(FollowUp, link.followup_id)
                    if link.followup_id is not None else None)
        if followup is None or followup.user_id != user.id:
            raise _gone()
        asked = session.scalar(select(Prompt).where(Prompt.followup_id == followup.id))
        return Opened(link, user, prompt=asked, followup=followup)
    return Opened(link, user)


def _gone() -> LinkRefused:
    return LinkRefused("What this link answers is no longer in calsync "
                       "(its calendar may have been removed).", INBOX_HINT)


def answer_url(settings: Settings, opened: Opened, action: AnswerAction) -> str:
    """An answer link for the prompt a follow-up link leads to, expiring with it."""
    assert opened.prompt is not None, "a follow-up leads to a prompt once calsync asked"
    return links.url(settings, Link(LinkPurpose.ANSWER, opened.user.id, opened.link.expires,
                                    prompt_id=opened.prompt.id, action=action))


def _waiting(opened: Opened) -> Prompt:
    """The link's prompt, if it still waits for an answer: a link answers once; changing
    an answer is done in the app, signed in."""
    prompt = opened.prompt
    if prompt is not None and prompt.status is PromptStatus.COVERED:
        raise PromptClosed(f"This meeting is covered by {answers.covering_answer(prompt)}; "
                           "to answer it on its own, undo that in calsync.")
    if prompt is None or not prompt.status.awaiting_answer:
        raise PromptClosed("This meeting already has its answer; change it in calsync.")
    return prompt


def answer(session: Session, settings: Settings, opened: Opened, given: answers.Answer,
           now: datetime | None = None) -> answers.AnswerResult:
    """Record yes, no or a next step (the link's action) for the link's prompt. Commits."""
    return answers.answer_prompt(session, settings, opened.user, _waiting(opened), given, now)


def deliver(session: Session, settings: Settings, opened: Opened,
            now: datetime | None = None) -> answers.Delivery:
    """"Delivered" for the link's promise prompt: recorded against its deadline and the
    follow-through planned, as the prompt's page does. Commits."""
    prompt = _waiting(opened)
    if prompt.followup is None:
        raise PromptClosed("Only a promise's follow-up can be delivered.")
    return answers.deliver(session, settings, opened.user, prompt.followup, now=now)


def not_yet(session: Session, settings: Settings, opened: Opened,
            now: datetime | None = None) -> answers.NotYet:
    """"Not yet" for the link's promise prompt: the work moves before the deadline and the
    prompt asks again then, as the prompt's page does. Commits."""
    return answers.not_yet(session, settings, opened.user, _waiting(opened), now)


def snooze(session: Session, settings: Settings, opened: Opened, choice: str,
           now: datetime | None = None) -> datetime:
    """Snooze the link's prompt for an hour, till tomorrow or next week; when it comes back.
    Commits."""
    prompt = _waiting(opened)
    now = now or datetime.now(UTC)
    usual_hour = cadences.cadence_for(opened.user, settings).usual_hour
    until = answers.snooze_until(choice, ZoneInfo(opened.user.timezone), now, usual_hour)
    answers.snooze(session, prompt, until, now)
    return until


def not_sales(session: Session, opened: Opened, skip_series: bool) -> None:
    """The link's prompt is not about a sales meeting. Commits."""
    answers.dismiss(session, _waiting(opened), skip_series=skip_series)


def missed_reason(session: Session, opened: Opened, reason: MissedReason | str, note: str,
                  now: datetime | None = None) -> FollowUp:
    """Record why the link's follow-up was missed. Commits."""
    assert opened.followup is not None, "a missed link names its follow-up"
    return coach.record_missed_reason(session, opened.user, opened.followup.id, reason, note,
                                      now)


def unsubscribe(session: Session, opened: Opened) -> None:
    """No more prompt emails for the link's user (RFC 8058 one-click). Commits."""
    notifications.change(session, opened.user,
                         notifications.Changes(email_prompts=EmailPrompts.OFF))
