"""How many attendees a sync stores: a bounded number per meeting (all of them counted),
and a bounded total per sync, so attendees x occurrences can't fill the database.
"""

from __future__ import annotations

from dataclasses import replace

from calsync.config import Settings
from calsync.domain.deals import counterpart_of
from calsync.domain.meeting import Attendee, MeetingData
from calsync.domain.prompting import PromptRules
from calsync.models import User
from calsync.services import cadences

# Attendees each further meeting keeps once a sync has stored CALSYNC_MAX_ATTENDEES_PER_SYNC.
FEW_ATTENDEES = 3


def bound(meetings: list[MeetingData], settings: Settings,
          user: User) -> tuple[list[MeetingData], list[str]]:
    """Meetings with their attendees bounded: each to CALSYNC_MAX_ATTENDEES_PER_MEETING
    (counting all), and this sync to CALSYNC_MAX_ATTENDEES_PER_SYNC in total."""
    owners, budget = frozenset({user.email.lower()}), settings.max_attendees_per_sync
    rules = cadences.rules_for(user, settings)
    # Occurrences of a series share one attendee tuple: choose from it once. The tuple is
    # kept beside its choice, so its id can't be reused while this runs.
    chosen: dict[tuple[int, int], tuple[object, tuple[Attendee, ...]]] = {}
    bounded, squeezed = [], 0
    for meeting in meetings:
        limit = settings.max_attendees_per_meeting if budget > 0 else FEW_ATTENDEES
        key = (id(meeting.attendees), limit)
        if key not in chosen:
            lead = _lead_domain(meeting, rules) if len(meeting.attendees) > limit else ""
            chosen[key] = (meeting.attendees, meeting.bounded(limit, owners, lead).attendees)
        kept = chosen[key][1]
        if kept is not meeting.attendees:
            meeting = replace(meeting, attendees=kept, attendee_count=meeting.listed_attendees)
            squeezed += budget <= 0
        budget -= len(kept)
        bounded.append(meeting)
    if not squeezed:
        return bounded, []
    return bounded, [f"This calendar lists more attendees than calsync stores from one "
                     f"calendar ({settings.max_attendees_per_sync:,}); {squeezed:,} meetings "
                     f"keep only you and a few of their people."]


def _lead_domain(meeting: MeetingData, rules: PromptRules) -> str:
    """The company the meeting was with, by the user's rules today ("" if no company)."""
    kind, _, value = counterpart_of(meeting, rules).key.partition(":")
    return value if kind == "domain" else ""
