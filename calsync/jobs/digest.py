"""The daily coach's email: at each user's `digest_hour` on their working days, in their
zone, one email per user and local day (outbox key "digest:<user>:<date>"), with the
coach's lists and one-click reasons for each missed follow-up.

The tick records the day's entry; the outbox handler builds and sends it, so a crash or an
SMTP outage retries it and a second tick within the hour never makes a second.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.message import EmailMessage
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from calsync.config import Settings
from calsync.domain.coaching import Coaching, FollowUpFact, digest_day
from calsync.domain.promises import promised_for
from calsync.domain.vocabulary import FollowUpKind, MissedReason
from calsync.jobs import outbox
from calsync.mail import messages, transport
from calsync.models import OutboxEntry, User
from calsync.services import cadences, coach, links, prompt_mail

log = logging.getLogger(__name__)

KIND = "digest-email"


def key(user_id: int, day: date) -> str:
    return f"digest:{user_id}:{day.isoformat()}"


def record_due(session: Session, settings: Settings, now: datetime) -> int:
    """Record the digest of every user whose digest hour it is on a working day and who has
    none for this local day yet; returns how many. Commits (a step of the tick)."""
    if not transport.enabled(settings):
        return 0
    due = {key(user.id, day): (user, day) for user, day in _due_users(session, settings, now)}
    if not due:
        return 0
    known = set(session.scalars(select(OutboxEntry.key).where(OutboxEntry.key.in_(due))))
    for entry_key, (user, day) in due.items():
        if entry_key not in known:
            outbox.record_once(session, entry_key, user_id=user.id, kind=KIND,
                               payload={"day": day.isoformat()})
    session.commit()
    return len(due) - len(known)


def _due_users(session: Session, settings: Settings,
               now: datetime) -> list[tuple[User, date]]:
    users = session.scalars(select(User).where(User.digest.is_(True),
                                               User.email_refused_at.is_(None)))
    due = []
    for user in users:
        day = digest_day(now, ZoneInfo(user.timezone), user.digest_hour,
                         cadences.cadence_for(user, settings))
        if day is not None:
            due.append((user, day))
    return due


def send_digest(session: Session, settings: Settings, entry: OutboxEntry) -> None:
    """The outbox's handler: build the digest now and hand it to the mail server, unless
    the user turned it off, their address was refused, or SMTP_URL is unset."""
    user = session.get(User, entry.user_id)
    if (user is None or not user.digest or user.email_refused_at is not None
            or not transport.enabled(settings)):
        return
    message = digest_message(session, settings, user, date.fromisoformat(entry.payload["day"]),
                             datetime.now(UTC))
    prompt_mail.hand_over(session, settings, user, message)


@dataclass(frozen=True)
class MissedCard:
    """A missed follow-up in the email, with a one-click link per reason."""

    fact: FollowUpFact
    when: str
    about: str  # its kind and promised deadline, as the coach page says them
    reasons: tuple[tuple[str, str], ...]  # (label, url)


@dataclass(frozen=True)
class DueCard:
    """A follow-up due today in the email: when, and its kind and promised deadline."""

    fact: FollowUpFact
    when: str
    about: str


def digest_message(session: Session, settings: Settings, user: User, day: date,
                   now: datetime) -> EmailMessage:
    """The digest of `user` for local `day`, as the coach sees things at `now`."""
    said = coach.coaching_for(session, settings, user, now)
    zone = ZoneInfo(user.timezone)
    expires = links.expiry(settings, now)
    context = {
        "said": said, "day": f"{day:%A} {day.day} {day:%B}", "base_url": settings.base_url,
        "link_days": settings.answer_link_days, "zone": zone,
        "missed": [_missed_card(settings, user.id, fact, zone, expires)
                   for fact in said.missed],
        "today": [DueCard(f, messages.span(f.start, f.end, zone), about(f, zone))
                  for f in said.due_today],
        "cold": [(deal.name, _day(deal.cold_since, zone)) for deal in said.cold],
    }
    # One Message-ID per user and day: a retried hand-over is the same email.
    message = messages.envelope(settings, user.email, subject(said),
                                f"<calsync.digest.{user.id}.{day.isoformat()}@"
                                f"{messages.host(settings)}>", now)
    return messages.with_parts(message, "digest", context)


def _missed_card(settings: Settings, user_id: int, fact: FollowUpFact, zone: ZoneInfo,
                 expires: datetime) -> MissedCard:
    return MissedCard(fact=fact, when=messages.span(fact.start, fact.end, zone),
                      about=about(fact, zone), reasons=tuple(
        (reason.label, links.url(settings, links.Link(
            links.LinkPurpose.MISSED, user_id, expires, followup_id=fact.id, reason=reason)))
        for reason in MissedReason))


def about(fact: FollowUpFact, zone: ZoneInfo) -> str:
    """ "Promise · promised for Thu 3 Dec 17:00": a follow-up's kind unless it is a plain
    one, and a promise's deadline in `zone`; empty for a plain follow-up."""
    parts = [fact.kind.label] if fact.kind is not FollowUpKind.FOLLOW_UP else []
    if fact.promise_due is not None:
        parts.append(promised_for(fact.promise_due, zone))
    return " \u00b7 ".join(parts)


def _day(moment: datetime, zone: ZoneInfo) -> str:
    local = moment.astimezone(zone)
    return f"{local:%a} {local.day} {local:%b}"


def subject(said: Coaching) -> str:
    """ "Your day: 2 follow-ups today, 1 missed, 3 waiting for an answer, 1 going cold" (the
    parts that apply)."""
    parts = [f"{len(items)} {label}" for items, label in (
        (said.due_today, "follow-up" + ("s" if len(said.due_today) != 1 else "") + " today"),
        (said.missed, "missed"), (said.prompts_waiting, "waiting for an answer"),
        (said.cold, "going cold")) if items]
    return "Your day: " + (", ".join(parts) if parts else "nothing due, nothing missed")


def digest_today(session: Session, settings: Settings, user: User,
                 now: datetime | None = None) -> EmailMessage:
    """The user's digest as it would go out now, for their local date (`calsync digest`)."""
    now = now or datetime.now(UTC)
    return digest_message(session, settings, user, now.astimezone(ZoneInfo(user.timezone)).date(),
                          now)


def text_of(message: EmailMessage) -> str:
    """The plain-text part, as a person reads it."""
    part = message.get_body(("plain",))
    assert isinstance(part, EmailMessage)  # every digest has one: `with_parts` sets it first
    return str(part.get_content())
