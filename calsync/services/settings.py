"""A user's settings: time zone, who counts as internal, skip keywords and cadence overrides,
each checked here before it is saved. Pages and API routes change settings only through these.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from sqlalchemy.orm import Session

from calsync import crypto
from calsync.config import Settings
from calsync.domain.cadence import Cadence, CadenceError
from calsync.domain.prompting import DEFAULT_SKIP_KEYWORDS
from calsync.errors import ConfigError, ValidationFailed
from calsync.models import User
from calsync.services import cadences, prompts

DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
MAX_DOMAINS = 50
MAX_KEYWORDS = 100
MAX_KEYWORD_LENGTH = 100
# A cadence key the form shows under another name: the range is asked as "from" and "to".
_CADENCE_FIELDS = {"usual_touches": "usual_low"}


# What the picker calls the tz database's regions that need a word more than their name.
_REGION_NAMES = {"America": "Americas", "Atlantic": "Atlantic Ocean", "Indian": "Indian Ocean",
                 "Pacific": "Pacific Ocean"}


@dataclass(frozen=True)
class Zone:
    """A time zone as the picker offers it: `Europe/Berlin` shown as "Berlin — Germany"."""

    name: str
    label: str
    also: tuple[str, ...]  # older names for the same zone (Asia/Calcutta), which browsers report


@dataclass(frozen=True)
class Region:
    """The zones before one "/" (Europe, Americas, ...), in the order of their labels."""

    label: str
    zones: tuple[Zone, ...]


def _tzdata_text(name: str) -> str:
    return (resources.files("tzdata.zoneinfo") / name).read_text(encoding="utf-8")


def _table(name: str) -> list[list[str]]:
    """The rows of one of tzdata's tab-separated tables, comments left out."""
    return [line.split("\t") for line in _tzdata_text(name).splitlines()
            if line and not line.startswith("#")]


@cache
def time_zones() -> list[str]:
    """The zones a person picks from: the tz database's zone.tab, one or more per country,
    so none of the old aliases (US/Eastern, Asia/Calcutta) nor the Etc/ offsets."""
    return sorted(row[2] for row in _table("zone.tab"))


@cache
def _aliases() -> dict[str, str]:
    """Every older or alternative name, to the zone of `time_zones` it stands for."""
    links = {parts[2]: parts[1] for parts in
             (line.split() for line in _tzdata_text("tzdata.zi").splitlines())
             if parts and parts[0] == "L"}
    offered = set(time_zones())
    aliases = {}
    for alias in links.keys() - offered:
        target = alias
        while target in links and target not in offered:  # links may chain
            target = links[target]
        if target in offered:
            aliases[alias] = target
        elif target == "Etc/UTC":
            aliases[alias] = "UTC"
    aliases["Etc/UTC"] = "UTC"
    return aliases


def canonical_zone(name: str) -> str:
    """The picker's name for zone `name`: "America/New_York" for "US/Eastern"; `name` itself
    when it has no other."""
    return _aliases().get(name, name)


@cache
def zone_regions() -> tuple[Region, ...]:
    """`time_zones` grouped by region, each zone labelled by its place and country."""
    countries = dict((row[0], row[1]) for row in _table("iso3166.tab"))
    also: dict[str, list[str]] = {}
    for alias, zone in sorted(_aliases().items()):
        also.setdefault(zone, []).append(alias)
    grouped: dict[str, list[Zone]] = {}
    for code, _, name, *_ in _table("zone.tab"):
        region, *places = name.split("/")
        country = countries.get(code, code)
        # "Indianapolis, Indiana — United States", "Buenos Aires — Argentina", "Aruba"
        place = ", ".join(p.replace("_", " ") for p in reversed(places)
                          if p.replace("_", " ") != country)
        label = f"{place} — {country}" if place else country
        grouped.setdefault(region, []).append(Zone(name, label, tuple(also.get(name, ()))))
    return tuple(sorted(
        (Region(_REGION_NAMES.get(region, region), tuple(sorted(zones, key=lambda z: z.label)))
         for region, zones in grouped.items()), key=lambda r: r.label))


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
    # Issue 11's promises and after-sale touches; None keeps the shared cadence's value.
    promise_margin_days: int | None = None
    follow_through_days: int | None = None
    after_sale: list[str] | None = None  # the touches a yes ticks: check_in, referral, upsell
    check_in_days: int | None = None
    referral_days: int | None = None
    upsell_days: int | None = None
    revisit_days: int | None = None


def cadence_problems(settings: Settings, choices: CadenceChoices) -> list[ValidationFailed]:
    """Everything wrong with the cadence as typed, one sentence per form field, in the words
    of the form (none: fine). The rules are the domain's; only the words are the page's."""
    base = cadences.base_cadence(settings)
    gaps = _gaps(choices.gaps_days)
    problems: dict[str, ValidationFailed] = {}
    if gaps is None:
        problems["gaps_days"] = ValidationFailed(
            "gaps_days", "Write whole numbers of days, like 2, 3, 5, 7.")
    mapping = _cadence_mapping(choices, base, list(base.gaps_days) if gaps is None else gaps)
    # Values that fit whatever the other fields say, to look past one problem for the next.
    harmless = {**base.to_mapping(), "suggest_close_after": 100, "min_gap_days": 0}
    for _ in range(len(mapping) + 1):
        try:
            Cadence.from_mapping(mapping, base=base)
        except CadenceError as error:
            key = error.key
            if key not in problems and _DEPENDS_ON.get(key) not in problems:
                problems[key] = ValidationFailed(_CADENCE_FIELDS.get(key, key),
                                                 _CADENCE_WORDS[key](mapping))
            mapping[key] = harmless[key]
        else:
            break
    return list(problems.values())


def save_cadence(session: Session, settings: Settings, user: User,
                 choices: CadenceChoices) -> None:
    """Keep the user's cadence as the changes from the shared one. Raises the first of
    `cadence_problems`, naming the form's field (`gaps_days`, `usual_low`, ...). Commits."""
    problems = cadence_problems(settings, choices)
    if problems:
        raise problems[0]
    base = cadences.base_cadence(settings)
    mapping = _cadence_mapping(choices, base, _gaps(choices.gaps_days) or [])
    # Keep only what differs, so later changes to the shared defaults still reach this user.
    defaults = base.to_mapping()
    changes = {key: value for key, value in mapping.items() if defaults.get(key) != value}
    user.cadence = changes or None
    session.commit()


def reset_cadence(session: Session, user: User) -> None:
    """Go back to the shared cadence. Commits."""
    user.cadence = None
    session.commit()


def _gaps(text: str) -> list[int] | None:
    """The days between touches as typed ("2, 3 5"), or None when one is not a whole number."""
    try:
        return [int(part) for part in re.split(r"[\s,]+", text or "") if part]
    except ValueError:
        return None


def _cadence_mapping(choices: CadenceChoices, base: Cadence, gaps: list[int]) -> dict[str, Any]:
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
        "promise_margin_days": given(choices.promise_margin_days, base.promise_margin_days),
        "follow_through_days": given(choices.follow_through_days, base.follow_through_days),
        "after_sale": (base.to_mapping()["after_sale"] if choices.after_sale is None
                       else list(choices.after_sale)),
        "check_in_days": given(choices.check_in_days, base.check_in_days),
        "referral_days": given(choices.referral_days, base.referral_days),
        "upsell_days": given(choices.upsell_days, base.upsell_days),
        "revisit_days": given(choices.revisit_days, base.revisit_days),
    }


def _gaps_words(mapping: dict[str, Any]) -> str:
    gaps: list[int] = mapping["gaps_days"]
    if not gaps:
        return "Give the days between touches, like 2, 3, 5, 7."
    if not all(1 <= gap <= 365 for gap in gaps):
        return "Each gap between touches is from 1 to 365 days."
    earlier, later = next((a, b) for a, b in pairwise(gaps) if b < a)
    return (f"Gaps between touches grow or stay the same, never shrink: {earlier} days, "
            f"then {later}.")


def _usual_words(mapping: dict[str, Any]) -> str:
    low, high = mapping["usual_touches"]
    if isinstance(low, int) and isinstance(high, int) and low > high:
        return f"“From” ({low}) is more than “to” ({high}): put the smaller number first."
    return "Give the usual number of touches as two numbers from 1 to 50, like 5 to 7."


def _close_words(mapping: dict[str, Any]) -> str:
    low = mapping["usual_touches"][0]
    return (f"Suggest closing once the usual touches are done: after {low} touches or more "
            "(at most 100).")


def _min_gap_words(mapping: dict[str, Any]) -> str:
    first = mapping["gaps_days"][0]
    days = "1 day" if first == 1 else f"{first} days"
    return (f"Warn only about touches closer than your first gap ({days}): any more "
            "and calsync would warn about its own suggestions.")


# The sentence for each cadence setting the domain refuses, as the settings form asks it.
_CADENCE_WORDS: dict[str, Callable[[dict[str, Any]], str]] = {
    "gaps_days": _gaps_words,
    "usual_touches": _usual_words,
    "suggest_close_after": _close_words,
    "min_gap_days": _min_gap_words,
    "usual_hour": lambda _: "Pick an hour from 0 to 23.",
    "usual_minute": lambda _: "Pick a minute from 0 to 59.",
    "working_days": lambda _: "Tick at least one working day.",
    "default_channel": lambda _: "Pick a channel from the list.",
    "default_duration_minutes": lambda _: "A follow-up lasts from 1 to 1440 minutes (a day).",
    "promise_margin_days": lambda _: "Work on a promise 0 to 30 working days before it is due.",
    "follow_through_days": lambda _: "Follow through 1 to 30 working days after delivering.",
    "after_sale": lambda _: "Tick any of the check-in, the referral ask and the up-sell review.",
    "check_in_days": lambda _: "Check in 1 to 730 days after a yes.",
    "referral_days": lambda _: "Ask for a referral 1 to 730 days after a yes.",
    "upsell_days": lambda _: "Review an up-sell 1 to 730 days after a yes.",
    "revisit_days": lambda _: "Revisit 1 to 730 days after a no for bad timing.",
}
# A setting checked against another: no second sentence when that other one is wrong.
_DEPENDS_ON = {"min_gap_days": "gaps_days", "suggest_close_after": "usual_touches"}


def seal_new_token(settings: Settings, plaintext: str) -> str:
    """A new API token's plaintext sealed for one trip in the session cookie, across the
    redirect after it was created: readable by this server only."""
    return crypto.seal(settings, {"token": plaintext})


def unseal_new_token(settings: Settings, sealed: str) -> str | None:
    """The plaintext `seal_new_token` sealed; None when no key opens it any more."""
    try:
        token = crypto.unseal(settings, sealed).get("token")
    except ConfigError:
        return None
    return token if isinstance(token, str) else None
