"""The dashboard's figures as JSON: the same service function the /dashboard page calls."""

from __future__ import annotations

from datetime import timedelta

from calsync.db import get_session
from calsync.domain.stats import Stats
from calsync.services import stats
from calsync.web import current_settings
from calsync.web.api.registry import api_user, route
from calsync.web.api.schemas import (
    ClosedAtTouchOut,
    OpenAtTouchOut,
    PromisesKeptOut,
    StatsOut,
    StatsWeekOut,
)


@route("/stats", "GET", response=StatsOut)
def get_stats() -> StatsOut:
    """The dashboard: how deals close, open deals by touches, follow-ups kept week by week.

    Win rate and touches at close by the touch number at which deals closed; open deals by
    their answered touches; the last 12 weeks (in the user's zone) of follow-ups on time,
    late and missed; the median time from a meeting's end to its answer; promises kept
    early, on time and late.
    """
    return stats_out(stats.dashboard(get_session(), current_settings(), api_user()))


def stats_out(figures: Stats) -> StatsOut:
    return StatsOut(
        closed_by_touch=[ClosedAtTouchOut(touches=row.touches, label=row.label, won=row.won,
                                          lost=row.lost, win_rate=row.win_rate)
                         for row in figures.closed],
        median_touches_won=figures.median_touches_won,
        median_touches_lost=figures.median_touches_lost,
        open_by_touch=[OpenAtTouchOut(touches=row.touches, label=row.label, deals=row.deals)
                       for row in figures.open],
        weeks=[StatsWeekOut(start=week.start, on_time=week.on_time, late=week.late,
                            missed=week.missed, median_answer_seconds=_seconds(week.median_answer))
               for week in figures.weeks],
        median_answer_seconds=_seconds(figures.median_answer),
        promises=PromisesKeptOut.of(figures.promises))


def _seconds(length: timedelta | None) -> int | None:
    return None if length is None else round(length.total_seconds())
