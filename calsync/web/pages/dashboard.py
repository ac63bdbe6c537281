"""The dashboard: how deals close, how follow-ups are kept and how soon meetings are
answered, as server-drawn charts each with its figures in a table beside it."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

from flask import render_template
from flask_login import current_user, login_required

from calsync.db import get_session
from calsync.domain.stats import Stats
from calsync.services import stats as stats_service
from calsync.web import current_settings
from calsync.web.pages import bp
from calsync.web.pages.charts import Chart, Kind, Series, svg

if TYPE_CHECKING:
    from calsync.models import User

# The house colours (web/static/calsync.css): accent, yes, no, and an amber for "late".
BLUE, GREEN, RED, AMBER = "#2457c5", "#1f7a45", "#b3261e", "#b7791f"


@bp.get("/dashboard")
@login_required
def dashboard() -> str:
    user: User = current_user
    figures = stats_service.dashboard(get_session(), current_settings(), user)
    return render_template("dashboard.html", stats=figures, charts=charts(figures), svg=svg,
                           duration=duration)


def charts(stats: Stats) -> dict[str, Chart]:
    """The page's charts by name; those with nothing to show yet are left out."""
    found = {"weeks": followups_chart(stats), "answers": answers_chart(stats)}
    if stats.closed:
        found |= {"win_rate": win_rate_chart(stats), "closes": closes_chart(stats)}
    if stats.open:
        found["open"] = open_chart(stats)
    return found


def win_rate_chart(stats: Stats) -> Chart:
    rates = tuple(row.win_rate for row in stats.closed)
    return Chart(
        key="win-rate", title="Win rate by the touch at which deals closed",
        summary="Of the deals that closed at each touch number, the share won.",
        heading="Touch", labels=tuple(row.label for row in stats.closed),
        series=(Series("Win rate", rates, tuple(_percent(r) for r in rates), BLUE),
                _counts("Closed deals", [row.closed for row in stats.closed])),
        axis=_percent, top=1.0)


def closes_chart(stats: Stats) -> Chart:
    return Chart(
        key="closes", title="Touches at close, won and lost",
        summary=(f"Won deals closed at a median of {_touches(stats.median_touches_won)}, "
                 f"lost ones at {_touches(stats.median_touches_lost)}."),
        heading="Touch", labels=tuple(row.label for row in stats.closed),
        series=(_counts("Won", [row.won for row in stats.closed], GREEN),
                _counts("Lost", [row.lost for row in stats.closed], RED)),
        axis=_count)


def followups_chart(stats: Stats) -> Chart:
    weeks = stats.weeks
    return Chart(
        key="followups", title="Follow-ups on time, late and missed, week by week",
        summary=(f"Follow-ups whose time ended in each of the last {len(weeks)} weeks: "
                 "answered within one working day of their time, later, or not at all."),
        heading="Week of", labels=tuple(week_label(w.start) for w in weeks),
        series=(_counts("On time", [w.on_time for w in weeks], BLUE),
                _counts("Late", [w.late for w in weeks], AMBER),
                _counts("Missed", [w.missed for w in weeks], RED)),
        axis=_count, kind=Kind.STACKED)


def answers_chart(stats: Stats) -> Chart:
    medians = [w.median_answer for w in stats.weeks]
    return Chart(
        key="answers", title="Time from a meeting's end to its answer",
        summary=(f"The median over the last {len(stats.weeks)} weeks is "
                 f"{duration(stats.median_answer)}; week by week in the table."),
        heading="Week of", labels=tuple(week_label(w.start) for w in stats.weeks),
        series=(Series("Median", tuple(None if m is None else m / timedelta(hours=1)
                                       for m in medians),
                       tuple(duration(m) for m in medians), BLUE),),
        axis=lambda hours: f"{hours:g} h", kind=Kind.LINE)


def open_chart(stats: Stats) -> Chart:
    return Chart(
        key="open", title="Open deals by touches so far",
        summary="How many open deals have had each number of answered touches.",
        heading="Touches", labels=tuple(row.label for row in stats.open),
        series=(_counts("Open deals", [row.deals for row in stats.open], BLUE),),
        axis=_count)


def week_label(monday: date) -> str:
    """ "3 Mar", kept on one line in a narrow table."""
    return f"{monday.day}\N{NO-BREAK SPACE}{monday:%b}"


def duration(length: timedelta | None) -> str:
    """ "45 min", "3 h 20 min", "2 d 4 h"; a dash for no figure."""
    if length is None:
        return "—"
    minutes = round(length.total_seconds() / 60)
    days, hours, minutes = minutes // 1440, minutes % 1440 // 60, minutes % 60
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min"


def _counts(name: str, counts: list[int], colour: str | None = None) -> Series:
    return Series(name, tuple(map(float, counts)), tuple(map(str, counts)), colour)


def _count(value: float) -> str:
    return f"{value:g}"


def _percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate:.0%}"


def _touches(median: float | None) -> str:
    if median is None:
        return "— (none yet)"
    return "1 touch" if median == 1 else f"{median:g} touches"
