"""Prompt emails: deciding, as a prompt becomes due, which email it gets and when (one of
its own, after quiet hours, or a place in the day's summary), recording that in the outbox,
and telling the settings page how the last one went."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from email.message import EmailMessage
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from calsync.config import Settings
from calsync.domain.vocabulary import EmailPrompts, OutboxStatus, PromptStatus
from calsync.errors import MailFailed
from calsync.jobs import outbox
from calsync.mail import transport
from calsync.models import OutboxEntry, Prompt, User

log = logging.getLogger(__name__)

PROMPT_EMAIL = "prompt_email"  # one prompt's own email; payload {"prompt_id"}
SUMMARY_EMAIL = "prompt_summary"  # the day's summary; payload {"day", "since", "until"}
MAIL_KINDS = (PROMPT_EMAIL, SUMMARY_EMAIL)


@dataclass(frozen=True)
class SummaryWindow:
    """The summary sent at `until` lists the prompts that became due in [since, until)."""

    day: date  # the user's day it is sent on
    since: datetime
    until: datetime


def prompts_due(session: Session, settings: Settings, prompts: Iterable[Prompt],
                now: datetime) -> None:
    """Record the email each new prompt gets, in the transaction that creates the prompts:
    its own (after quiet hours) or the day's summary. Nothing when email is off, for the
    user or for calsync, or the user's address was refused. Part of the caller's unit of
    work."""
    if not transport.enabled(settings):
        return
    session.flush()  # the prompts' ids name their emails
    emails = []
    for prompt in prompts:
        user = session.get(User, prompt.user_id)  # from the session: prompts are flushed
        if user is None or not receives_email(user):
            continue
        if user.email_prompts == EmailPrompts.SUMMARY:
            emails.append(_summary(user, now))
        else:
            emails.append(outbox.once(f"prompt-email:{prompt.id}", user_id=user.id,
                                      kind=PROMPT_EMAIL, payload={"prompt_id": prompt.id},
                                      not_before=after_quiet_hours(user, now)))
    # One query for the batch, and the day's summary once however many prompts join it.
    outbox.record_all_once(session, emails)


def receives_email(user: User) -> bool:
    """The user asked for prompt emails and their address was not refused for good."""
    return user.email_prompts != EmailPrompts.OFF and user.email_refused_at is None


def _summary(user: User, now: datetime) -> OutboxEntry:
    window = summary_window(user, now)
    return outbox.once(
        f"prompt-summary:{user.id}:{window.day.isoformat()}", user_id=user.id,
        kind=SUMMARY_EMAIL, not_before=window.until,
        payload={"day": window.day.isoformat(), "since": window.since.isoformat(),
                 "until": window.until.isoformat()})


def after_quiet_hours(user: User, now: datetime) -> datetime:
    """`now`, or the end of the user's quiet hours (in their zone) when `now` falls in them."""
    start, end = user.quiet_start, user.quiet_end
    zone = ZoneInfo(user.timezone)
    local = now.astimezone(zone)
    at = local.time().replace(tzinfo=None)
    if start == end:
        return now  # no quiet hours
    quiet = start <= at < end if start < end else (at >= start or at < end)
    if not quiet:
        return now
    day = local.date() if at < end else local.date() + timedelta(days=1)
    return wall_time(day, end, zone)


def summary_window(user: User, now: datetime) -> SummaryWindow:
    """The next summary at the user's summary hour, and the prompts it lists: those due
    since the one before."""
    zone = ZoneInfo(user.timezone)
    day = now.astimezone(zone).date()
    hour = time(user.summary_hour)
    if now >= wall_time(day, hour, zone):
        day += timedelta(days=1)
    return SummaryWindow(day, wall_time(day - timedelta(days=1), hour, zone),
                         wall_time(day, hour, zone))


def wall_time(day: date, at: time, zone: ZoneInfo) -> datetime:
    """`at` on `day` in `zone`, in UTC; a time the clocks skip moves forward."""
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def summary_prompts(session: Session, user: User, since: datetime,
                    until: datetime) -> list[Prompt]:
    """The user's prompts that became due in [since, until) and still wait for an answer,
    oldest touch first."""
    return list(session.scalars(
        select(Prompt).where(Prompt.user_id == user.id, Prompt.status == PromptStatus.PENDING,
                             Prompt.created_at >= since, Prompt.created_at < until)
        .order_by(Prompt.touch_at, Prompt.id)))


def hand_over(session: Session, settings: Settings, user: User, message: EmailMessage) -> str:
    """Hand one of the user's emails (a prompt, a summary, the digest) to the mail server
    and return its answer. A refused address is kept on the user (no more email to it,
    committed) before the failure is raised for the outbox to retry or show."""
    try:
        answer = transport.send(settings, message)
    except MailFailed as failure:
        if failure.recipient_refused:
            address_refused(session, user.id, failure.reply, datetime.now(UTC))
        raise
    log.info("email %s for user %s handed to the mail server: %s", message["Message-ID"],
             user.id, answer)
    return answer


def address_refused(session: Session, user_id: int, reply: str, now: datetime) -> None:
    """The mail server refused the user's address for good: no more emails to it until
    it changes (the server's answer is kept to show). Commits."""
    user = session.get(User, user_id)
    if user is not None:
        user.email_refused_at, user.email_refused_reason = now, reply
    session.commit()


def last_failure(session: Session, user: User) -> str | None:
    """Why the user's prompt emails are not arriving, in words with the mail server's own
    answer, or None when the latest one was handed over (or none was sent yet)."""
    if user.email_refused_at is not None:
        return (f"The mail server refused {user.email}: {user.email_refused_reason}. "
                "calsync sends it no more email until the address changes.")
    latest = session.scalar(
        select(OutboxEntry).where(OutboxEntry.user_id == user.id,
                                  OutboxEntry.kind.in_(MAIL_KINDS),
                                  OutboxEntry.status.in_((OutboxStatus.DONE,
                                                          OutboxStatus.FAILED)))
        .order_by(OutboxEntry.id.desc()).limit(1))
    if latest is None or latest.status != OutboxStatus.FAILED:
        return None
    return latest.last_error
