"""What a provider hands to sync: one occurrence of an event, as plain immutable data.

Times are timezone-aware; all-day meetings carry dates in `start_date`/`end_date` too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime

from calsync.domain.vocabulary import MeetingStatus


@dataclass(frozen=True)
class Attendee:
    email: str
    name: str = ""
    # RFC 5545 PARTSTAT / Google responseStatus, lowercased: accepted, declined, tentative...
    response: str = ""
    # The source knows this attendee is the calendar's owner (Google's `self`), whatever
    # address the user signed up to calsync with.
    is_self: bool = False

    @property
    def domain(self) -> str:
        return self.email.rpartition("@")[2].lower()


@dataclass(frozen=True)
class MeetingData:
    """One occurrence read from a source; (uid, recurrence_id) is its stable key there."""

    uid: str
    # ISO start of the occurrence in its series ("" for a single event).
    recurrence_id: str
    title: str
    start: datetime
    end: datetime
    all_day: bool = False
    start_date: date | None = None
    end_date: date | None = None
    status: MeetingStatus = MeetingStatus.CONFIRMED
    attendees: tuple[Attendee, ...] = ()
    organizer: str = ""
    location: str = ""
    description: str = ""
    series_uid: str = ""  # the series this occurrence belongs to ("" for a single event)
    conference_url: str = ""  # the video call link, when the source has one
    # How many attendees the source listed, when `attendees` keeps fewer (0: all are kept).
    attendee_count: int = 0
    extra: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        # A plugin may hand over its source's own word ("CANCELLED", "tentative"): calsync
        # knows two, and a meeting not cancelled takes place.
        if not isinstance(self.status, MeetingStatus):
            cancelled = str(self.status).lower() == MeetingStatus.CANCELLED
            status = MeetingStatus.CANCELLED if cancelled else MeetingStatus.CONFIRMED
            object.__setattr__(self, "status", status)

    @property
    def key(self) -> tuple[str, str]:
        return (self.uid, self.recurrence_id)

    @property
    def listed_attendees(self) -> int:
        return max(self.attendee_count, len(self.attendees))

    def bounded(self, limit: int, owners: frozenset[str] = frozenset(),
                lead: str = "") -> MeetingData:
        """This meeting with at most `limit` attendees (see `keep_attendees`), counting all."""
        if len(self.attendees) <= limit:
            return self
        return replace(self, attendees=keep_attendees(self.attendees, limit, owners, lead),
                       attendee_count=self.listed_attendees)

    def response_of(self, email: str) -> str:
        """The response the given person gave, "" when they are not listed."""
        wanted = email.lower()
        for attendee in self.attendees:
            if attendee.email.lower() == wanted or attendee.is_self:
                return attendee.response
        return ""


def keep_attendees(attendees: tuple[Attendee, ...], limit: int,
                   owners: frozenset[str] = frozenset(), lead: str = "") -> tuple[Attendee, ...]:
    """At most `limit` attendees, chosen so the prompting rules judge the meeting as they
    would with all of them; kept in the order the source listed them.

    The calendar's `owners` come first (their response decides "declined"). Then one
    person per email domain, most represented domains first, round after round: every
    domain up to the limit stays, so internal-or-external is right under any internal
    domains the user sets later, and no domain keeps more people than one that had more.
    The `lead` domain (the counterpart company) starts one person ahead, so it keeps
    strictly the most and stays the counterpart.
    """
    if len(attendees) <= limit:
        return attendees
    wanted = {email.lower() for email in owners}
    chosen = [i for i, a in enumerate(attendees) if a.is_self or a.email.lower() in wanted]
    chosen = chosen[:limit]
    by_domain: dict[str, list[int]] = {}
    taken = set(chosen)
    for index, attendee in enumerate(attendees):
        if index not in taken:
            by_domain.setdefault(attendee.domain, []).append(index)
    sizes = {domain: len(indexes) for domain, indexes in by_domain.items()}
    order = sorted(sizes, key=lambda domain: (domain != lead, -sizes[domain]))
    queues = [by_domain[domain] for domain in order]
    if lead in by_domain and len(chosen) < limit:
        chosen.append(queues[0].pop(0))
    depth = 0
    while len(chosen) < limit:
        for queue in queues:
            if depth < len(queue) and len(chosen) < limit:
                chosen.append(queue[depth])
        depth += 1
    return tuple(attendees[i] for i in sorted(chosen))


def search_text(title: str, attendees: Iterable[Mapping[str, object]]) -> str:
    """What a search box finds a meeting by, case-folded once when it is stored: its title
    and each attendee's name and email, a line each. Kept beside the attendees' JSON so a
    search never matches JSON's own keys ("email", "response") and ignores the case of any
    letter, on SQLite (which folds ASCII only) as on PostgreSQL."""
    lines = [title]
    for attendee in attendees:
        lines.append(f"{attendee.get('name') or ''} {attendee.get('email') or ''}".strip())
    return "\n".join(line for line in lines if line).casefold()
