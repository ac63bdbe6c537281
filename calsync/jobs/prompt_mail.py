"""The outbox's handlers for prompt emails: one prompt's email, unless it was answered
meanwhile, and the day's summary of the prompts still waiting.

A crash after the server took an email but before its entry is marked done hands it over
again; the Message-ID is the prompt's, so mail apps show it once (at least once, never
lost). A recipient the server refuses for good is recorded on the user and not retried.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from calsync.config import Settings
from calsync.domain.cadence import touch_label
from calsync.domain.promises import promised_for
from calsync.domain.prompting import others
from calsync.domain.vocabulary import FollowUpKind, PromptStatus
from calsync.mail import messages, transport
from calsync.models import FollowUp, OutboxEntry, Prompt, User
from calsync.services import cadences, prompt_mail, prompts

log = logging.getLogger(__name__)


def send_prompt(session: Session, settings: Settings, entry: OutboxEntry) -> None:
    """Hand one prompt's email to the mail server, if it still waits for an answer."""
    prompt = session.get(Prompt, entry.payload["prompt_id"])
    if prompt is None or prompt.status != PromptStatus.PENDING:
        return  # answered, snoozed or put away before its email went out: none is due
    user = _recipient(session, settings, prompt.user_id)
    if user is None:
        return
    now = datetime.now(UTC)
    card, = cards(session, settings, user, [prompt], now)
    message = messages.prompt_email(settings, _to(user), card, now)
    prompt_mail.hand_over(session, settings, user, message)


def send_summary(session: Session, settings: Settings, entry: OutboxEntry) -> None:
    """Hand the day's summary to the mail server: the prompts of its window still waiting,
    each with its buttons; none when every one was answered."""
    user = _recipient(session, settings, entry.user_id)
    if user is None:
        return
    waiting = prompt_mail.summary_prompts(session, user,
                                          datetime.fromisoformat(entry.payload["since"]),
                                          datetime.fromisoformat(entry.payload["until"]))
    if not waiting:
        return
    now = datetime.now(UTC)
    message = messages.summary_email(settings, _to(user), cards(session, settings, user,
                                                                waiting, now),
                                     date.fromisoformat(entry.payload["day"]), now)
    prompt_mail.hand_over(session, settings, user, message)


def cards(session: Session, settings: Settings, user: User, waiting: list[Prompt],
          now: datetime) -> list[messages.PromptCard]:
    """What the email shows of each prompt, as the inbox shows it."""
    cadence = cadences.cadence_for(user, settings)
    contexts = prompts.touch_contexts(session, waiting)
    return [_card(session, settings, user, prompt, contexts[prompt.id], now,
                  touch_label(cadence, contexts[prompt.id].touches_before + 1))
            for prompt in waiting]


def _card(session: Session, settings: Settings, user: User, prompt: Prompt,
          context: prompts.TouchContext, now: datetime, touch: str) -> messages.PromptCard:
    suggestion = prompts.suggestion_for(session, settings, user, prompt, now, context)
    if prompt.meeting is not None:
        meeting = prompt.meeting
        title, start, end = meeting.title or "Untitled meeting", meeting.start, meeting.end
        people = tuple(_person(a.get("email", ""), a.get("name", ""))
                       for a in others(meeting.attendees or (), user.email))
        more = meeting.more_attendees
    else:
        assert prompt.followup is not None  # a prompt is about a meeting or a follow-up
        title, start, end = prompt.followup.summary, prompt.followup.start, prompt.followup.end
        people, more = (), 0
    followup = prompt.followup
    return messages.PromptCard(
        prompt_id=prompt.id, title=title, start=start, end=end, people=people,
        more_people=more, deal=prompt.deal.name if prompt.deal else None, touch=touch,
        suggestion=suggestion.message, suggest_close=suggestion.suggest_close,
        **_kind_of(followup, ZoneInfo(user.timezone)) if followup is not None else {},
        delivery_of=followup.id if followup is not None and asks_delivered(followup) else None)


def _kind_of(followup: FollowUp, zone: ZoneInfo) -> dict[str, str]:
    """A follow-up's kind, deadline and value as its prompt's email shows them."""
    return {"kind": "" if followup.kind is FollowUpKind.FOLLOW_UP else followup.kind.label,
            "promised": (promised_for(followup.promise_due, zone)
                         if followup.promise_due is not None else ""),
            "value_note": followup.value_note or ""}


def asks_delivered(followup: FollowUp) -> bool:
    """A promise not delivered yet: its prompt asks "Delivered?" before anything else (the
    email is made only while the prompt waits)."""
    return followup.kind is FollowUpKind.PROMISE and followup.delivered_at is None


def _address(email: str) -> str:
    return email.lower().removeprefix("mailto:")


def _person(email: str, name: str) -> str:
    address = _address(email)
    return f"{name} <{address}>" if name else address


def _recipient(session: Session, settings: Settings, user_id: int) -> User | None:
    """The user, if calsync sends email and they still want it at this address."""
    user = session.get(User, user_id)
    if user is None or not transport.enabled(settings) or not prompt_mail.receives_email(user):
        return None
    return user


def _to(user: User) -> messages.Recipient:
    return messages.Recipient(user.id, user.email, ZoneInfo(user.timezone))


