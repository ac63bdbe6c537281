"""A user's notification choices: prompt emails (off, each, summary), quiet hours and the
daily digest, checked here before they are saved; and whether calsync's emails reach them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time
from typing import TypeVar

from sqlalchemy.orm import Session

from calsync.config import Settings
from calsync.domain.vocabulary import EmailPrompts
from calsync.errors import ValidationFailed
from calsync.mail import transport
from calsync.models import User
from calsync.services import prompt_mail

# A time of day as the page and the API write it: 24-hour "HH:MM".
TIME_PATTERN = r"^([01]\d|2[0-3]):[0-5]\d$"
_TIME = re.compile(TIME_PATTERN)
G = TypeVar("G")
V = TypeVar("V")


@dataclass(frozen=True)
class Choices:
    """How and when a user hears from calsync by email; hours and times in their zone."""

    email_prompts: EmailPrompts
    summary_hour: int
    quiet_start: time
    quiet_end: time
    digest: bool
    digest_hour: int


@dataclass(frozen=True)
class Changes:
    """Choices as a page or the API sends them, unchecked; None keeps the current one."""

    email_prompts: str | None = None
    summary_hour: int | None = None
    quiet_start: str | None = None
    quiet_end: str | None = None
    digest: bool | None = None
    digest_hour: int | None = None


@dataclass(frozen=True)
class Delivery:
    """Whether calsync's emails reach the user, and the mail server's answer when not."""

    enabled: bool  # SMTP_URL is set: calsync sends email at all
    refused_at: datetime | None  # the server refused the address for good: no email
    refused_reason: str | None
    last_failure: str | None  # why the last prompt email failed, with the server's answer


def choices(user: User) -> Choices:
    """The user's current choices."""
    return Choices(email_prompts=user.email_prompts, summary_hour=user.summary_hour,
                   quiet_start=user.quiet_start, quiet_end=user.quiet_end,
                   digest=user.digest, digest_hour=user.digest_hour)


def clock(moment: time) -> str:
    """A time of day as the page and the API show it: "HH:MM"."""
    return moment.strftime("%H:%M")


def problems(user: User, changes: Changes) -> list[ValidationFailed]:
    """What is wrong with `changes`, one error per field (none: they can be saved)."""
    return _checked(choices(user), changes)[1]


def change(session: Session, user: User, changes: Changes) -> Choices:
    """Save `changes` and answer the user's choices; ValidationFailed names the first wrong
    field, and nothing is saved. Commits."""
    chosen, found = _checked(choices(user), changes)
    if found:
        raise found[0]
    for name, value in vars(chosen).items():
        setattr(user, name, value)
    session.commit()
    return chosen


def delivery(session: Session, settings: Settings, user: User) -> Delivery:
    """What the settings page says about the user's email."""
    return Delivery(enabled=transport.enabled(settings), refused_at=user.email_refused_at,
                    refused_reason=user.email_refused_reason,
                    last_failure=prompt_mail.last_failure(session, user))


def clear_refused(session: Session, user: User) -> None:
    """Send email to the user's address again after the mail server refused it (the user
    fixed their mailbox, or the refusal was the server's mistake). Commits."""
    user.email_refused_at = None
    user.email_refused_reason = None
    session.commit()


def _checked(current: Choices, changes: Changes) -> tuple[Choices, list[ValidationFailed]]:
    """`current` with every valid change applied, and an error for each invalid one."""
    found: list[ValidationFailed] = []
    chosen = Choices(
        email_prompts=_parsed(found, "email_prompts", changes.email_prompts, _mode,
                              current.email_prompts),
        summary_hour=_parsed(found, "summary_hour", changes.summary_hour, _hour,
                             current.summary_hour),
        quiet_start=_parsed(found, "quiet_start", changes.quiet_start, _time_of_day,
                            current.quiet_start),
        quiet_end=_parsed(found, "quiet_end", changes.quiet_end, _time_of_day,
                          current.quiet_end),
        digest=current.digest if changes.digest is None else changes.digest,
        digest_hour=_parsed(found, "digest_hour", changes.digest_hour, _hour,
                            current.digest_hour))
    # Equal start and end mean no quiet hours (prompt_mail.after_quiet_hours reads them so).
    return chosen, found


def _parsed(found: list[ValidationFailed], name: str, given: G | None,
            parse: Callable[[G], V], kept: V) -> V:
    """`given` parsed, or `kept` when it is None or wrong (then its error joins `found`)."""
    if given is None:
        return kept
    try:
        return parse(given)
    except ValueError as exc:
        found.append(ValidationFailed(name, str(exc)))
        return kept


def _mode(value: str) -> EmailPrompts:
    try:
        return EmailPrompts(value)
    except ValueError:
        allowed = ", ".join(member.value for member in EmailPrompts)
        raise ValueError(f"use one of: {allowed}.") from None


def _hour(value: int) -> int:
    if isinstance(value, bool) or not 0 <= value <= 23:
        raise ValueError("give an hour from 0 to 23.")
    return value


def _time_of_day(value: str) -> time:
    if not _TIME.match(value):
        raise ValueError("write the time as HH:MM, e.g. 20:00.")
    return time.fromisoformat(value)
