"""Which planned follow-ups a set of meetings covers: same counterpart, before it, appeared
after it was planned; never the planning meeting, an all-day, cancelled or own event."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from calsync.domain.booked import GRACE, BookedCandidate, PlannedTouch, covers

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
PLANNED_AT = NOW - timedelta(days=1)
FOLLOWUP = PlannedTouch(id=1, deal_key="domain:contoso.example", start=NOW + timedelta(days=3),
                        changed_at=PLANNED_AT, planned_by=frozenset({7}))


def booked(id: int = 10, days: float = 2, *, key: str = "domain:contoso.example",
           **flags: bool) -> BookedCandidate:
    updated_at = PLANNED_AT - timedelta(hours=1) if flags.get("old") else NOW
    return BookedCandidate(id=id, key=key, start=NOW + timedelta(days=days),
                           updated_at=updated_at, all_day=flags.get("all_day", False),
                           cancelled=flags.get("cancelled", False),
                           own_event=flags.get("own_event", False))


def test_the_earliest_meeting_with_them_before_it_covers_it() -> None:
    assert covers([FOLLOWUP], [booked(11, 2.5), booked(10, 2)], NOW) == {1: 10}


def test_meetings_that_do_not_cover() -> None:
    for meeting in (booked(days=3), booked(days=4),  # at or after the follow-up
                    booked(key="domain:fabrikam.example"),  # someone else
                    booked(key="title:contoso demo"),  # a title only
                    booked(all_day=True), booked(cancelled=True), booked(own_event=True),
                    booked(old=True),  # already there when the follow-up was planned
                    booked(id=7),  # the meeting that planned it
                    booked(days=-(GRACE / timedelta(days=1)) - 0.01)):  # long past
        assert covers([FOLLOWUP], [meeting], NOW) == {}, meeting


def test_a_meeting_held_this_morning_still_covers() -> None:
    assert covers([FOLLOWUP], [booked(days=-0.2)], NOW) == {1: 10}


def test_promises_and_hand_made_deals_are_never_covered() -> None:
    promise = PlannedTouch(2, "domain:contoso.example", FOLLOWUP.start, PLANNED_AT, frozenset(),
                           coverable=False)
    by_hand = PlannedTouch(3, None, FOLLOWUP.start, PLANNED_AT, frozenset())
    assert covers([promise, by_hand, FOLLOWUP], [booked()], NOW) == {1: 10}
