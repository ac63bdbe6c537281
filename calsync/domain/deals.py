"""Which deal a meeting belongs to (its counterpart) and what a deal's answers add up to.

A deal is the thread of touches with one counterpart until a definite yes or no.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from calsync.domain.cadence import AFTER_SALE
from calsync.domain.meeting import MeetingData
from calsync.domain.prompting import PromptRules, clean_email, external_people, is_public_domain
from calsync.domain.vocabulary import Channel, DealStatus, FollowUpKind, NoReason, Outcome

# The vocabularies' values in order, for the callers that list or check them as a tuple.
OUTCOMES: tuple[Outcome, ...] = tuple(Outcome)
NO_REASONS: tuple[NoReason, ...] = tuple(NoReason)
CHANNELS: tuple[Channel, ...] = tuple(Channel)


class DealSort(StrEnum):
    """The orders the deals list offers (newest deal first breaks every tie)."""

    NEXT = "next"  # next follow-up: overdue first, then soonest; nothing planned after
    LAST_TOUCH = "last_touch"  # the latest touch first; deals without one after
    TOUCHES = "touches"  # most touches first
    STATUS = "status"  # open, then won, then lost
    NEWEST = "newest"  # the deal made last first

    @property
    def label(self) -> str:
        return _SORT_LABELS[self]


_SORT_LABELS = {DealSort.NEXT: "Next follow-up", DealSort.LAST_TOUCH: "Last touch",
                DealSort.TOUCHES: "Touches", DealSort.STATUS: "Status",
                DealSort.NEWEST: "Newest"}


def is_overdue(status: DealStatus, next_end: datetime | None, now: datetime) -> bool:
    """An open deal whose next planned follow-up is over with nobody saying how it went."""
    return status is DealStatus.OPEN and next_end is not None and next_end <= now


@dataclass(frozen=True)
class Counterpart:
    key: str  # stable grouping key: "domain:acme.com", "email:bob@gmail.com", "title:acme demo"
    name: str  # a display name for a new deal


def counterpart_of(meeting: MeetingData, rules: PromptRules) -> Counterpart:
    """Who the meeting was with, as a key that stays the same across the deal's touches."""
    addresses = sorted({clean_email(p.email) for p in external_people(meeting, rules)})
    # A company domain says more about the deal than a private address beside it.
    company = Counter(
        a.rpartition("@")[2] for a in addresses if not is_public_domain(a.rpartition("@")[2])
    )
    if company:
        # Most people first; on a tie the alphabetically first domain, so the key is stable.
        domain = min(company, key=lambda d: (-company[d], d))
        return Counterpart(key=f"domain:{domain}", name=organisation_name(domain))
    if addresses:
        # Everyone on a public domain is their own counterpart: all of gmail.com is no deal.
        address = addresses[0]
        names = [p.name for p in meeting.attendees if clean_email(p.email) == address]
        return Counterpart(key=f"email:{address}",
                           name=person_name(next((n for n in names if n), ""), address))
    normalised = normalise_title(meeting.title)
    if normalised:
        return Counterpart(key=f"title:{normalised}", name=_display_title(meeting.title))
    # Nothing to group by: the event series (or the single event) is the deal.
    return Counterpart(
        key=f"event:{meeting.series_uid or meeting.uid}",
        name=meeting.title.strip() or "Untitled meeting",
    )


# Second-level labels under a country code that are public suffixes themselves: acme.co.uk,
# acme.com.au, acme.co.jp. A small table rather than the Public Suffix List (tldextract and
# friends): the domain stays stdlib-only and offline (no list fetched at run time, no new
# dependency), and a suffix it misses only gives a less tidy name, which the user can rename.
_SECOND_LEVEL = frozenset({
    "ac", "co", "com", "edu", "gen", "go", "gob", "gouv", "gov", "ltd", "me", "mil", "ne",
    "net", "nhs", "nom", "or", "org", "plc", "sch",
})
# The words of a free-mail address's local part: runs of letters ("ana.souza1" has two).
_LOCAL_WORDS = re.compile(r"[^\W\d_]+")


def organisation_name(domain: str) -> str:
    """A company's name from its email domain: "contoso.example" gives "Contoso",
    "sales.northwind-traders.co.uk" gives "Northwind Traders".

    The public suffix (the last label, or two like co.uk / com.au) and any subdomain before
    the registrable label (www, mail, sales, eu) are dropped; the label is title-cased with
    hyphens as spaces. A domain with nothing left (co.uk) is kept as it is."""
    labels = [_readable_label(label) for label in domain.strip().strip(".").lower().split(".")]
    labels = [label for label in labels if label]
    suffix = 2 if (len(labels) >= 2 and len(labels[-1]) == 2
                   and labels[-2] in _SECOND_LEVEL) else 1
    if len(labels) <= suffix:
        return domain.strip()
    words = labels[-suffix - 1].replace("_", "-").split("-")
    return " ".join(word.capitalize() for word in words if word) or domain.strip()


def person_name(name: str, address: str) -> str:
    """A free-mail counterpart's name: the one their calendar gives ("Ana Souza"), or else
    the address's local part made readable ("ana.souza+crm1" gives "Ana Souza"), or else the
    address itself."""
    name = " ".join(name.strip().strip("\"'").split())
    if name and "@" not in name:
        return name
    local = address.partition("@")[0].partition("+")[0]
    words = _LOCAL_WORDS.findall(local)
    return " ".join(word.capitalize() for word in words) or address


def _readable_label(label: str) -> str:
    """An internationalised label as its letters: "xn--mnchen-3ya" gives "münchen"."""
    if label.startswith("xn--"):
        try:
            return label.encode("ascii").decode("idna")
        except UnicodeError:
            return label
    return label


_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_WEEKDAY = r"(?:mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)(?:day|nesday|rsday|urday)?"
_DAY = r"\d{1,2}(?:st|nd|rd|th)?"
# Mail-style prefixes, only with their colon so "Re-org review" keeps its "re".
_COLON_PREFIX = re.compile(
    r"^\s*(?:re|fwd?|aw|wg|follow[\s-]*up|updated invitation|invitation|reminder)\s*:\s*",
    re.IGNORECASE,
)
_NOISE = [
    re.compile(rf"\b(?:{_WEEKDAY},?\s+)?{_MONTH}\.?\s+{_DAY}\b(?:,?\s+\d{{4}})?"),  # May 12
    re.compile(rf"\b(?:{_WEEKDAY},?\s+)?{_DAY}\s+(?:of\s+)?{_MONTH}\b\.?(?:\s+\d{{4}})?"),
    re.compile(r"\b\d+(?:st|nd|rd|th)\b"),  # 2nd call
    re.compile(r"(?:#|\bno\.?\s*|\bpart\s+|\bv)\d+\b"),  # #2, no. 3, part 2, v2
]
_WORD_PREFIXES = (
    "call with",
    "meeting with",
    "follow up with",
    "followup with",
    "follow up call with",
    "follow up meeting with",
    "catch up with",
    "chat with",
    "follow up",
    "followup",
)
_WORD_SUFFIXES = ("follow up", "followup")


def normalise_title(title: str) -> str:
    """A grouping form of a title: "Re: Acme demo #2" and "ACME Demo" both give "acme demo"."""
    text = unicodedata.normalize("NFKC", title).lower()
    text = _strip_colon_prefixes(text)
    for pattern in _NOISE:
        text = pattern.sub(" ", text)
    text = re.sub("['\u2019]", "", text)  # "Bob's" -> "bobs", not "bob s"
    text = re.sub(r"[\d_]", " ", text)
    text = " ".join(re.sub(r"[^\w\s]", " ", text).split())
    return _strip_word_affixes(text)


def deal_status(answers: Sequence[tuple[datetime, str]],
                kinds: Sequence[FollowUpKind | None] = ()) -> DealStatus:
    """The deal's status, open, won or lost: the latest touch that may decide it decides, so
    a later yes wins. `kinds[i]` is the kind of follow-up answer i is about (None, or left
    out: a meeting); see `decides_status` for the touches of a won deal that never do."""
    for _, outcome in answers:
        if outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}, not {outcome!r}")
    deciding = deciding_answer(answers, kinds)
    return DealStatus.OPEN if deciding is None else Outcome(answers[deciding][1]).deal_status


def deciding_answer(answers: Sequence[tuple[datetime, str]],
                    kinds: Sequence[FollowUpKind | None] = ()) -> int | None:
    """The index of the answer that sets the deal's status (its latest touch that may
    decide it), None for none."""
    deciding: int | None = None
    status = DealStatus.OPEN
    # By time; on equal times the answer given later in the sequence wins.
    for index in sorted(range(len(answers)), key=lambda i: (answers[i][0], i)):
        kind = kinds[index] if index < len(kinds) else None
        if decides_status(kind, status):
            deciding, status = index, Outcome(answers[index][1]).deal_status
    return deciding


def decides_status(kind: FollowUpKind | None, status: DealStatus) -> bool:
    """Whether the answer about a touch of `kind` sets the status of a deal that stands at
    `status`. After-sale touches (check-in, referral, up-sell) and a follow-through after a
    win are touches of the same deal, which stays won: "not happy yet" is no lost deal, and
    "more to sell" reopens nothing. A revisit after a no decides like any selling touch: the
    deal stays lost until the revisit is answered yes (won) or with a next step (open
    again)."""
    if kind in AFTER_SALE:
        return False
    return not (kind is FollowUpKind.FOLLOW_THROUGH and status is DealStatus.WON)


@dataclass(frozen=True)
class AfterSaleQuestion:
    """What a touch of a won deal asks, and its answers' words: yes is good (done), no is
    "not now", and a next step plans another touch of the same won deal."""

    question: str
    yes: str
    no: str


_AFTER_SALE_QUESTIONS = {
    FollowUpKind.CHECK_IN: AfterSaleQuestion("Are they happy with it?", "Yes — happy",
                                             "Not happy yet"),
    FollowUpKind.REFERRAL: AfterSaleQuestion("Did they refer someone?",
                                             "Yes — they referred someone", "Not now"),
    FollowUpKind.UPSELL: AfterSaleQuestion("More to sell?", "Yes — they took more",
                                           "Nothing more now"),
}
# A follow-through after the win asks what a check-in does.
_FOLLOW_THROUGH_QUESTION = AfterSaleQuestion("Did they get it, and are they happy with it?",
                                             "Yes — all good", "Not yet")


def after_sale_question(kind: FollowUpKind) -> AfterSaleQuestion:
    """The question of an after-sale touch of `kind` (see `decides_status`)."""
    return _AFTER_SALE_QUESTIONS.get(kind, _FOLLOW_THROUGH_QUESTION)


def _strip_colon_prefixes(text: str) -> str:
    while (match := _COLON_PREFIX.match(text)) is not None:
        text = text[match.end() :]
    return text


def _strip_word_affixes(text: str) -> str:
    changed = True
    while changed and text:
        changed = False
        for prefix in _WORD_PREFIXES:
            if text.startswith(prefix + " "):
                text, changed = text[len(prefix) + 1 :], True
        for suffix in _WORD_SUFFIXES:
            if text.endswith(" " + suffix):
                text, changed = text[: -len(suffix) - 1], True
    return text


def _display_title(title: str) -> str:
    """The title as the user wrote it, minus mail prefixes and numbering like "#2"."""
    text = title
    while (match := _COLON_PREFIX.match(text)) is not None:
        text = text[match.end() :]
    text = re.sub(r"\s*#\d+\b", "", text)
    return " ".join(text.split()).strip(" -:,;\u2013\u2014") or title.strip()
