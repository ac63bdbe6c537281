"""Booked meetings: a meeting with a deal's counterpart, on any calendar, after the deal's
follow-up was planned and before it is that deal's next touch, so the follow-up is covered
(cancelled, reason `booked`). This is what sales sequences do when a prospect books a meeting.

Which meetings count, and which follow-up each covers, is decided here; reading them and
cancelling is `calsync.services.booked`'s.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

# A meeting that began this long ago still counts: held this morning and synced now, it is
# as much the next touch as one booked for tomorrow.
GRACE = timedelta(hours=12)
# Keys of deals grouped by people. A title alone ("title:demo") says too little about who
# was met: a weekly "Demo" would cover every follow-up of that deal.
PEOPLE_KEYS = ("domain:", "email:")


@dataclass(frozen=True)
class PlannedTouch:
    """A planned follow-up, as far as being covered goes."""

    id: int
    deal_key: str | None  # None: a deal made by hand, which no calendar names
    start: datetime
    changed_at: datetime  # when it was last planned or moved
    planned_by: frozenset[int]  # the meetings whose answers planned it
    coverable: bool = True  # False for a promise: a meeting doesn't deliver what was promised


@dataclass(frozen=True)
class BookedCandidate:
    """A meeting on a synced calendar, with the deal key of its counterpart."""

    id: int
    key: str
    start: datetime
    updated_at: datetime  # when this meeting last appeared or changed in a sync
    all_day: bool
    cancelled: bool
    own_event: bool  # calsync's own follow-up read back from a calendar
    skipped: bool = False  # declined, or named by a skip keyword: not a sales meeting


def covers(followups: Iterable[PlannedTouch], meetings: Sequence[BookedCandidate],
           now: datetime) -> dict[int, int]:
    """Which follow-ups `meetings` cover: follow-up id -> the meeting taking its place (the
    earliest that qualifies). A meeting covers a follow-up of the same counterpart when it
    starts before it, no earlier than GRACE ago and not before the follow-up was planned (a
    touch already under way or held then is what the user planned after, even when a sync
    reads it only now, as when a calendar is connected again), appeared or moved after it
    was planned (one already there when the user planned it didn't stop them), and is not
    the meeting that planned it, an all-day, cancelled or skipped one, or calsync's own
    event."""
    by_key: dict[str, list[BookedCandidate]] = {}
    for meeting in sorted(meetings, key=lambda m: (m.start, m.id)):
        if not (meeting.all_day or meeting.cancelled or meeting.own_event or meeting.skipped) \
                and meeting.start >= now - GRACE and meeting.key.startswith(PEOPLE_KEYS):
            by_key.setdefault(meeting.key, []).append(meeting)
    covered: dict[int, int] = {}
    for followup in followups:
        if not followup.coverable or followup.deal_key is None:
            continue
        for meeting in by_key.get(followup.deal_key, ()):
            if meeting.start >= followup.start:
                break  # sorted by start: the rest are later still
            if meeting.id not in followup.planned_by \
                    and meeting.start >= followup.changed_at \
                    and meeting.updated_at > followup.changed_at:
                covered[followup.id] = meeting.id
                break
    return covered
