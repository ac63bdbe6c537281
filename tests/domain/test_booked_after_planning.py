"""A booked meeting covers a follow-up only as a touch after it was planned: one that had
started, or was over, when the user planned it never covers it, even when a sync reads it
only later (a calendar connected again, a feed added late)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from calsync.domain.booked import BookedCandidate, PlannedTouch, covers

NOW = datetime(2026, 12, 2, 1, 30, tzinfo=UTC)
KEY = "domain:contoso.example"


def followup(planned_hours_ago: float) -> PlannedTouch:
    """A follow-up three days ahead, planned `planned_hours_ago` by answering meeting 7."""
    return PlannedTouch(id=1, deal_key=KEY, start=NOW + timedelta(days=3),
                        changed_at=NOW - timedelta(hours=planned_hours_ago),
                        planned_by=frozenset({7}))


def read_now(started_hours_ago: float) -> BookedCandidate:
    """A meeting with them, read by the sync just now (so new to calsync)."""
    return BookedCandidate(id=18, key=KEY, start=NOW - timedelta(hours=started_hours_ago),
                           updated_at=NOW, all_day=False, cancelled=False, own_event=False)


@pytest.mark.parametrize(("started", "planned"), [
    (3, 2),  # held and over before the follow-up was planned (the reconnect case)
    (2.5, 2.25),  # under way while the user planned it
    (2, 1.999),  # a moment before
])
def test_a_meeting_that_began_before_the_follow_up_was_planned_never_covers_it(
        started: float, planned: float) -> None:
    assert covers([followup(planned)], [read_now(started)], NOW) == {}


@pytest.mark.parametrize(("started", "planned"), [
    (1, 2),  # held this morning, after it was planned
    (2, 2),  # at the very moment it was planned
    (-24, 2),  # booked for tomorrow
])
def test_a_meeting_that_begins_after_it_was_planned_covers_it(started: float,
                                                              planned: float) -> None:
    assert covers([followup(planned)], [read_now(started)], NOW) == {1: 18}


def test_the_earliest_qualifying_meeting_wins_over_an_earlier_one_from_before() -> None:
    before = read_now(3)
    after = BookedCandidate(id=19, key=KEY, start=NOW + timedelta(hours=5), updated_at=NOW,
                            all_day=False, cancelled=False, own_event=False)
    assert covers([followup(2)], [before, after], NOW) == {1: 19}
