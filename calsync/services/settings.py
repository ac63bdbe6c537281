"""A user's settings: time zone, who counts as internal, skip keywords and cadence overrides,
each checked here before it is saved. Pages and API routes change settings only through these.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from sqlalchemy.orm import Session

from calsync.config import Settings
from calsync.domain.cadence import Cadence, CadenceError
from calsync.domain.prompting import DEFAULT_SKIP_KEYWORDS
from calsync.errors import ValidationFailed
from calsync.models import User
from calsync.services import cadences, prompts

DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
MAX_DOMAINS = 50
MAX_KEYWORDS = 100
MAX_KEYWORD_LENGTH = 100
# A cadence key the form shows under another name: the range is asked as "from" and "to".
_CADENCE_FIELDS = {"usual_touches": "usual_low"}


@cache
def time_zones() -> list[str]:
    """The zones a person picks from: Area/City names, without the Etc/ aliases."""
    return sorted(z for z in available_timezones() if "/" in z and not z.startswith("Etc/"))


def check_timezone(name: str) -> str:
    """`name` if it is a time zone calsync knows; raises ValidationFailed otherwise."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationFailed("timezone", f"{name!r} is not a known time zone.") from exc
    if name not in available_timezones() and name != "UTC":
        raise ValidationFailed("timezone", f"{name!r} is not a known time zone.")
    return name


def set_timezone(session: Session, user: User, name: str) -> None:
    """Show the user's times in zone `name`. Commits."""
    user.timezone = check_timezone(name)
    session.commit()


def entries(text: str) -> list[str]:
    """Comma- or newline-separated entries, trimmed and lower-cased, blanks and repeats dropped."""
    seen: dict[str, None] = {}
    for part in re.split(r"[,\n]", text or ""):
        cleaned = " ".join(part.split()).lower()
        if cleaned:
            seen.setdefault(cleaned, None)
    return list(seen)


def rules_problems(internal_domains: str, keywords: str) -> list[ValidationFailed]:
    """What is wrong with the prompting rules as typed, one error per field (none: fine)."""
    problems = []
    domains = entries(internal_domains)
    bad = [d for d in domains if not DOMAIN_RE.match(d.removeprefix("@"))]
    if len(domains) > MAX_DOMAINS:
        problems.append(ValidationFailed("internal_domains",
                                         f"Keep it to {MAX_DOMAINS} domains."))
    elif bad:
        problems.append(ValidationFailed("internal_domains",
                                         f"Not a domain: {', '.join(bad[:5])}. "
                                         "Write them like acme.com, one per line."))
    words = entries(keywords)
    if len(words) > MAX_KEYWORDS or any(len(k) > MAX_KEYWORD_LENGTH for k in words):
        problems.append(ValidationFailed(
            "skip_keywords",
            f"Keep it to {MAX_KEYWORDS} keywords of up to {MAX_KEYWORD_LENGTH} letters."))
    return problems


def save_rules(session: Session, user: User, internal_domains: str, keywords: str) -> None:
    """Set who counts as internal and which titles are skipped, as typed (one per line or
    comma-separated); meetings judged before are judged again. Raises the first of
    `rules_problems`. Commits."""
    problems = rules_problems(internal_domains, keywords)
    if problems:
        raise problems[0]
    words = entries(keywords)
    user.internal_domains = [d.removeprefix("@") for d in entries(internal_domains)]
    # The defaults are stored as "none of your own", so later changes to them reach this user.
    user.skip_keywords = None if tuple(words) == DEFAULT_SKIP_KEYWORDS else words
    prompts.reset_prompt_skips(session, user)
    session.commit()


def reset_skip_keywords(session: Session, user: User) -> None:
    """Go back to the default skip keywords; meetings are judged again. Commits."""
    user.skip_keywords = None
    prompts.reset_prompt_skips(session, user)
    session.commit()


@dataclass(frozen=True)
class CadenceChoices:
    """The cadence as the settings form asks it; `None` where a field was left empty."""

    gaps_days: str  # "2, 3, 5": whole days between touches
    usual_low: int | None
    usual_high: int | None
    suggest_close_after: int | None
    min_gap_days: int | None
    usual_hour: int | None
    usual_minute: int | None
    working_days: list[str]
    default_channel: str | None
    default_duration_minutes: int | None


def save_cadence(session: Session, settings: Settings, user: User,
                 choices: CadenceChoices) -> None:
    """Keep the user's cadence as the changes from the shared one. Raises ValidationFailed
    naming the form's field (`gaps_days`, `usual_low`, ...). Commits."""
    base = cadences.base_cadence(settings)
    mapping = _cadence_mapping(choices, base)
    try:
        Cadence.from_mapping(mapping, base=base)
    except CadenceError as error:
        raise ValidationFailed(_CADENCE_FIELDS.get(error.key, error.key),
                               error.message) from error
    # Keep only what differs, so later changes to the shared defaults still reach this user.
    defaults = base.to_mapping()
    changes = {key: value for key, value in mapping.items() if defaults.get(key) != value}
    user.cadence = changes or None
    session.commit()


def reset_cadence(session: Session, user: User) -> None:
    """Go back to the shared cadence. Commits."""
    user.cadence = None
    session.commit()


def _cadence_mapping(choices: CadenceChoices, base: Cadence) -> dict[str, Any]:
    try:
        gaps = [int(part) for part in re.split(r"[\s,]+", choices.gaps_days or "") if part]
    except ValueError as exc:
        raise ValidationFailed("gaps_days",
                               "Write whole numbers of days, like 2, 3, 5, 7.") from exc

    def given(value: int | None, default: int) -> int:
        return default if value is None else value

    return {
        "gaps_days": gaps,
        "usual_touches": [choices.usual_low, choices.usual_high],
        "suggest_close_after": choices.suggest_close_after,
        "min_gap_days": given(choices.min_gap_days, base.min_gap_days),
        "usual_hour": given(choices.usual_hour, base.usual_hour),
        "usual_minute": given(choices.usual_minute, base.usual_minute),
        "working_days": list(choices.working_days),
        "default_channel": choices.default_channel,
        "default_duration_minutes": choices.default_duration_minutes,
    }
