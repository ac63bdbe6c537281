"""Which ended meetings deserve a "how did it go?" prompt, and who was from outside.

Pure rules over `MeetingData`; every skip carries a stable reason code the UI can explain.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, TypeVar

from calsync.domain.meeting import Attendee, MeetingData
from calsync.domain.vocabulary import MeetingStatus, SkipReason

# An attendee as a row stores it: a mapping with an "email" and maybe "is_self".
AttendeeMap = TypeVar("AttendeeMap", bound=Mapping[str, Any])

# Free mail providers: a colleague never shares one of these with you by employment, so
# they never make anyone internal, and each address on them is its own counterpart.
PUBLIC_MAIL_DOMAINS: frozenset[str] = frozenset(
    {
        "gmail.com", "googlemail.com",
        "outlook.com", "outlook.de", "outlook.fr", "hotmail.com", "hotmail.co.uk",
        "hotmail.de", "hotmail.fr", "hotmail.it", "live.com", "live.co.uk", "live.de",
        "msn.com", "passport.com",
        "yahoo.com", "yahoo.co.uk", "yahoo.de", "yahoo.fr", "yahoo.es", "yahoo.it",
        "yahoo.co.jp", "yahoo.co.in", "ymail.com", "rocketmail.com",
        "icloud.com", "me.com", "mac.com",
        "aol.com", "aim.com",
        "proton.me", "protonmail.com", "protonmail.ch", "pm.me",
        "gmx.de", "gmx.net", "gmx.com", "gmx.at", "gmx.ch", "gmx.fr", "gmx.co.uk",
        "web.de", "t-online.de", "freenet.de", "posteo.de", "mailbox.org",
        "mail.com", "email.com", "zoho.com", "zohomail.com", "tutanota.com", "tuta.io",
        "fastmail.com", "hey.com", "yandex.com", "yandex.ru", "mail.ru", "qq.com",
        "163.com", "126.com", "naver.com", "rediffmail.com",
        "orange.fr", "free.fr", "laposte.net", "libero.it", "seznam.cz", "wp.pl",
        "o2.pl", "comcast.net", "verizon.net", "att.net", "sbcglobal.net",
    }
)  # fmt: skip

# Calendar plumbing that appears as an attendee but is never a person (rooms, shared
# calendars); counting a meeting room as "external" would prompt internal meetings.
NON_PERSON_DOMAINS: frozenset[str] = frozenset(
    {
        "resource.calendar.google.com",
        "group.calendar.google.com",
        "import.calendar.google.com",
        "group.v.calendar.google.com",
    }
)

# Titles that name time blocked for oneself, not a conversation with a prospect.
DEFAULT_SKIP_KEYWORDS: tuple[str, ...] = (
    "lunch",
    "focus",
    "ooo",
    "out of office",
    "busy",
    "block",
    "blocked",
    "do not book",
    "holiday",
    "vacation",
    "pto",
    "day off",
    "sick",
    "dentist",
    "doctor",
    "gym",
    "commute",
    "school run",
)


@dataclass(frozen=True)
class PromptRules:
    user_email: str
    internal_domains: frozenset[str] = frozenset()  # besides the user's own domain
    skip_keywords: tuple[str, ...] = DEFAULT_SKIP_KEYWORDS
    grace: timedelta = timedelta(minutes=10)
    lookback: timedelta = timedelta(days=14)


@dataclass(frozen=True)
class Decision:
    prompt: bool
    reason: SkipReason  # NOT_SKIPPED when `prompt`
    detail: str = ""


def prompt_decision(meeting: MeetingData, rules: PromptRules, now: datetime) -> Decision:
    """Whether to ask about `meeting` at `now`; the first rule that skips it is the reason."""
    if meeting.all_day:
        return Decision(False, SkipReason.ALL_DAY)
    if meeting.status is MeetingStatus.CANCELLED:
        return Decision(False, SkipReason.CANCELLED)
    if _user_declined(meeting, rules):
        return Decision(False, SkipReason.DECLINED)
    if meeting.end + rules.grace > now:
        return Decision(False, SkipReason.NOT_ENDED)
    if now - meeting.end > rules.lookback:
        return Decision(False, SkipReason.TOO_OLD)
    if _lists_people(meeting, rules) and not external_people(meeting, rules):
        return Decision(False, SkipReason.INTERNAL_ONLY)
    keyword = matched_keyword(meeting.title, rules.skip_keywords)
    if keyword is not None:
        return Decision(False, SkipReason.KEYWORD, keyword)
    return Decision(True, SkipReason.NOT_SKIPPED)


def is_skipped_kind(meeting: MeetingData, rules: PromptRules) -> bool:
    """A meeting calsync never asks about whatever its time: declined by the user, or named
    by a skip keyword ("lunch", "1:1"). Such a meeting is no touch of a deal either."""
    return _user_declined(meeting, rules) or (
        matched_keyword(meeting.title, rules.skip_keywords) is not None)


def is_internal(email: str, rules: PromptRules) -> bool:
    """True for the user and for addresses at the user's organisation's domains."""
    address = clean_email(email)
    if address == clean_email(rules.user_email):
        return True
    domain = address.rpartition("@")[2]
    if is_public_domain(domain):
        return False
    return any(
        domain == internal or domain.endswith("." + internal)
        for internal in _internal_domains(rules)
    )


def external_people(meeting: MeetingData, rules: PromptRules) -> list[Attendee]:
    """Attendees and organizer from outside the user's organisation, first listing wins."""
    people: list[Attendee] = []
    seen: set[str] = set()
    # The calendar's owner may use another address than the one they signed up with (a
    # work Google account): their organisation's domain is internal too.
    owners = frozenset(clean_email(a.email).rpartition("@")[2] for a in meeting.attendees
                       if a.is_self)
    rules = replace(rules, internal_domains=rules.internal_domains | owners)
    for person in _people(meeting):
        address = clean_email(person.email)
        if address in seen or person.is_self or is_internal(address, rules):
            continue
        seen.add(address)
        people.append(person)
    return people


def matched_keyword(title: str, keywords: tuple[str, ...]) -> str | None:
    """The first keyword found in `title` as a whole word or phrase, ignoring case."""
    for keyword in keywords:
        if keyword.strip() and _keyword_pattern(keyword).search(title):
            return keyword
    return None


def is_public_domain(domain: str) -> bool:
    return domain.lower() in PUBLIC_MAIL_DOMAINS


def clean_email(email: str) -> str:
    """Lowercased address without a `mailto:` scheme, as ICS feeds often carry it."""
    address = email.strip()
    if address[:7].lower() == "mailto:":
        address = address[7:]
    return address.strip().lower()


def others(attendees: Iterable[AttendeeMap], user_email: str) -> list[AttendeeMap]:
    """The attendees but the user, whom no page or email lists among the people "with"
    them: neither the address they signed up with (in any case, with or without mailto:)
    nor the one their calendar marks as its owner's (Google's `self`, a work account).
    With no `user_email` (nobody signed in), only the calendar's owner is left out."""
    user = clean_email(user_email)
    return [a for a in attendees if not a.get("is_self")
            and not (user and clean_email(str(a.get("email", ""))) == user)]


def _internal_domains(rules: PromptRules) -> set[str]:
    # A public domain is never internal: a gmail user's colleagues are not all of gmail.
    own = clean_email(rules.user_email).rpartition("@")[2]
    domains = {d.strip().lower() for d in rules.internal_domains} | {own}
    return {d for d in domains if d and not is_public_domain(d)}


def _is_person(email: str) -> bool:
    address = clean_email(email)
    local, at, domain = address.rpartition("@")
    return bool(local and at and domain) and domain not in NON_PERSON_DOMAINS


def _people(meeting: MeetingData) -> list[Attendee]:
    """Attendees then the organizer, leaving out rooms and blank addresses."""
    listed = list(meeting.attendees)
    if meeting.organizer:
        listed.append(Attendee(email=meeting.organizer))
    return [person for person in listed if _is_person(person.email)]


def _user_declined(meeting: MeetingData, rules: PromptRules) -> bool:
    # Like `meeting.response_of`, but tolerant of "mailto:" and stray spaces in addresses.
    user = clean_email(rules.user_email)
    return any(
        (a.is_self or clean_email(a.email) == user) and a.response.strip().lower() == "declined"
        for a in meeting.attendees
    )


def _lists_people(meeting: MeetingData, rules: PromptRules) -> bool:
    """Whether the event says who took part, so "nobody external" means something.

    An organizer alone who is the user says nothing: feeds that drop attendees still
    stamp the calendar owner as organizer, and skipping those would silence real
    meetings with prospects.
    """
    if any(_is_person(attendee.email) for attendee in meeting.attendees):
        return True
    organizer = meeting.organizer
    return _is_person(organizer) and clean_email(organizer) != clean_email(rules.user_email)


@lru_cache(maxsize=256)
def _keyword_pattern(keyword: str) -> re.Pattern[str]:
    # Lookarounds rather than \b so keywords starting or ending in punctuation ("1:1")
    # still match whole; inner spaces match any run of whitespace.
    words = [re.escape(word) for word in keyword.split()]
    return re.compile(r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)", re.IGNORECASE)
