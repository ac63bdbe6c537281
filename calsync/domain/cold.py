"""Deals going cold: a planned follow-up passed with no word on it for COLD_AFTER_WORKING_DAYS
working days, or nothing planned for the cadence's current gap since the last touch. A deal
with a touch planned in the future is never cold (unlike "rotting" timers that ignore the
next activity); a won or lost deal never is.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from calsync.domain.cadence import Cadence
from calsync.domain.vocabulary import DealStatus

# Working days a passed follow-up may wait for its answer before the deal is cold.
COLD_AFTER_WORKING_DAYS = 2


def working_days_after(moment: datetime, days: int, working_days: frozenset[int],
                       tz: ZoneInfo) -> datetime:
    """The same wall time `days` working days later in `tz` (Thu 10:00 + 2 is Mon 10:00)."""
    local = moment.astimezone(tz)
    day = local.date()
    for _ in range(days):
        day += timedelta(days=1)
        while day.weekday() not in working_days:
            day += timedelta(days=1)
    wall = datetime.combine(day, local.time(), tzinfo=tz)
    return wall.astimezone(UTC).astimezone(tz)  # a skipped wall time: the moment after


def cold_since(status: DealStatus, planned_ends: Iterable[datetime], touches: int,
               last_touch: datetime | None, cadence: Cadence, tz: ZoneInfo,
               now: datetime) -> datetime | None:
    """When the deal went cold, or None while it is warm.

    `planned_ends`: the ends of its follow-ups still planned (one whose end has passed is
    waiting for its answer); `touches` and `last_touch`: its answered touches."""
    if status.closed:
        return None
    ends = list(planned_ends)
    if any(end > now for end in ends):
        return None  # the next touch is planned
    if ends:
        since = working_days_after(max(ends), COLD_AFTER_WORKING_DAYS,
                                   cadence.working_days, tz)
    elif last_touch is not None and touches:
        since = _on_a_working_day(last_touch + timedelta(days=cadence.gap_after(touches)),
                                  cadence.working_days, tz)
    else:
        return None  # never touched: nothing to go cold from
    return since if since <= now else None


def _on_a_working_day(moment: datetime, working_days: frozenset[int], tz: ZoneInfo) -> datetime:
    """`moment`, or the same wall time on the next working day: a gap ending on Saturday
    leaves the deal warm until Monday, as the cadence moves its suggestion there."""
    if moment.astimezone(tz).weekday() in working_days:
        return moment
    local = moment.astimezone(tz)
    day = local.date()
    while day.weekday() not in working_days:
        day += timedelta(days=1)
    return datetime.combine(day, local.time(), tzinfo=tz).astimezone(UTC).astimezone(tz)
