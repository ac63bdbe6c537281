"""Charts drawn on the server as SVG, bars (side by side or stacked) and lines, with no
script and no stylesheet: colours and sizes are SVG attributes, which the CSP allows.

Positions across are percentages, so a chart fills its column at any width while its text
keeps its size (a viewBox would shrink the labels to nothing on a phone).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from itertools import pairwise

from markupsafe import Markup

HEIGHT = 220  # px
LEGEND = 30  # px above the plot for the legend
UNDER = 26  # px below the plot for the labels
LEFT, RIGHT = 12.0, 99.0  # % across: the plot; the axis's figures sit left of it
# Labels under the plot are as many as fit a phone's plot (about 270 px of a 390 px
# screen) at about 7 px a character; beyond that every second (third...) one.
LABEL_ROOM, CHARACTER, GAP = 270, 7, 12
INK, MUTED, GRID = "#1d2330", "#5d6675", "#dde1e8"
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"


class Kind(StrEnum):
    BARS = "bars"  # one bar per series, side by side
    STACKED = "stacked"  # the series on top of each other
    LINE = "line"


@dataclass(frozen=True)
class Series:
    name: str
    values: tuple[float | None, ...]  # one per label; None draws nothing
    texts: tuple[str, ...]  # each value as a person reads it: the table, the tooltips
    colour: str | None = None  # None: a column of the table only, not drawn


@dataclass(frozen=True)
class Chart:
    key: str  # unique on the page: names its title and description
    title: str
    summary: str  # what a screen reader says about it; its table holds every figure
    heading: str  # the first column of its table ("Touches", "Week of")
    labels: tuple[str, ...]  # along the bottom
    series: tuple[Series, ...]  # the table's columns in order; those with a colour drawn
    axis: Callable[[float], str]  # an axis figure as text
    kind: Kind = Kind.BARS
    top: float | None = None  # the axis's top; None: a round number above the data

    @property
    def drawn(self) -> tuple[Series, ...]:
        return tuple(s for s in self.series if s.colour is not None)

    @property
    def rows(self) -> list[tuple[str, list[str]]]:
        """The table beside the chart: each label with its texts, series by series."""
        return [(label, [s.texts[n] for s in self.series])
                for n, label in enumerate(self.labels)]


def svg(chart: Chart) -> Markup:
    """The chart as an inline <svg> element, named for assistive technology."""
    top = chart.top or round_top(_highest(chart))
    body = [*_legend(chart), *_grid(chart, top), *_marks(chart, top), *_labels(chart)]
    return Markup(
        '<svg xmlns="http://www.w3.org/2000/svg" width="100%" height="{height}" role="img" '
        'aria-labelledby="chart-{key}-title chart-{key}-desc" font-family="{font}" '
        'font-size="12" fill="{ink}"><title id="chart-{key}-title">{title}</title>'
        '<desc id="chart-{key}-desc">{summary}</desc>{body}</svg>'
    ).format(height=HEIGHT, key=chart.key, font=FONT, ink=INK, title=chart.title,
             summary=chart.summary, body=Markup("").join(body))


def round_top(highest: float) -> float:
    """The axis's top: 2, 4, 6, 8 or 10 times the power of ten at or below `highest`,
    the first that reaches it (1 -> 2, 5 -> 6, 10 -> 20, 0.3 -> 0.4), so its middle is a
    round figure too: no "0.5" on an axis of counts."""
    if highest <= 0:
        return 2.0
    power = 10.0 ** math.floor(math.log10(highest))
    return next(step * power for step in (2, 4, 6, 8, 10) if step * power >= highest)


def _highest(chart: Chart) -> float:
    if chart.kind is Kind.STACKED:
        totals = [sum(s.values[n] or 0 for s in chart.drawn) for n in range(len(chart.labels))]
        return max(totals, default=0)
    return max((v for s in chart.drawn for v in s.values if v is not None), default=0)


def _y(value: float, top: float) -> float:
    plot = HEIGHT - LEGEND - UNDER
    return LEGEND + plot * (1 - min(value, top) / top)


def _slot(chart: Chart) -> float:
    return (RIGHT - LEFT) / max(len(chart.labels), 1)


def _centre(chart: Chart, n: int) -> float:
    return LEFT + _slot(chart) * (n + 0.5)


def _legend(chart: Chart) -> Iterator[Markup]:
    if len(chart.drawn) < 2:
        return
    for n, series in enumerate(chart.drawn):
        yield Markup('<rect x="{x:.2f}%" y="8" width="11" height="11" fill="{colour}"/>'
                     '<text x="{x:.2f}%" dx="15" y="18">{name}</text>').format(
            x=LEFT + n * 26, colour=series.colour, name=series.name)


def _grid(chart: Chart, top: float) -> Iterator[Markup]:
    for value in (0, top / 2, top):
        yield Markup('<line x1="{left:.2f}%" x2="{right:.2f}%" y1="{y:.1f}" y2="{y:.1f}" '
                     'stroke="{grid}"/><text x="{figure:.2f}%" y="{baseline:.1f}" '
                     'text-anchor="end" font-size="11" fill="{muted}">{text}</text>').format(
            left=LEFT, right=RIGHT, y=_y(value, top), grid=GRID, figure=LEFT - 1,
            baseline=_y(value, top) + 4, muted=MUTED, text=chart.axis(value))


def _labels(chart: Chart) -> Iterator[Markup]:
    widest = max((len(label) for label in chart.labels), default=0) * CHARACTER + GAP
    every = max(math.ceil(len(chart.labels) * widest / LABEL_ROOM), 1)
    last = len(chart.labels) - 1
    for n, label in enumerate(chart.labels):
        if (last - n) % every:
            continue  # crowded: every second (third...) one, counted back from the latest
        # A crowded chart's last label ends at the edge rather than running past it.
        x, anchor = (RIGHT, "end") if n == last and every > 1 else (_centre(chart, n), "middle")
        yield Markup('<text x="{x:.2f}%" y="{y}" text-anchor="{anchor}" fill="{muted}">'
                     "{label}</text>").format(x=x, y=HEIGHT - 8, anchor=anchor, muted=MUTED,
                                              label=label)


def _marks(chart: Chart, top: float) -> Iterator[Markup]:
    if chart.kind is Kind.LINE:
        return _line(chart, top)
    if chart.kind is Kind.STACKED:
        return _stacked(chart, top)
    return _bars(chart, top)


def _tooltip(chart: Chart, series: Series, n: int) -> str:
    return f"{chart.heading} {chart.labels[n]}, {series.name}: {series.texts[n]}"


def _bar(x: float, width: float, low: float, high: float, top: float, colour: str | None,
         tooltip: str) -> Markup:
    return Markup('<rect x="{x:.2f}%" y="{y:.1f}" width="{width:.2f}%" height="{height:.1f}" '
                  'fill="{colour}"><title>{tooltip}</title></rect>').format(
        x=x, y=_y(high, top), width=width, height=_y(low, top) - _y(high, top),
        colour=colour or INK, tooltip=tooltip)


def _bars(chart: Chart, top: float) -> Iterator[Markup]:
    drawn = chart.drawn
    width = _slot(chart) * 0.7 / max(len(drawn), 1)
    for n in range(len(chart.labels)):
        left = _centre(chart, n) - width * len(drawn) / 2
        for k, series in enumerate(drawn):
            value = series.values[n]
            if value:
                yield _bar(left + k * width, width, 0, value, top, series.colour,
                           _tooltip(chart, series, n))


def _stacked(chart: Chart, top: float) -> Iterator[Markup]:
    width = _slot(chart) * 0.7
    for n in range(len(chart.labels)):
        low = 0.0
        for series in chart.drawn:
            value = series.values[n] or 0
            if value:
                yield _bar(_centre(chart, n) - width / 2, width, low, low + value, top,
                           series.colour, _tooltip(chart, series, n))
            low += value


def _line(chart: Chart, top: float) -> Iterator[Markup]:
    for series in chart.drawn:
        points = [(_centre(chart, n), _y(v, top), n) for n, v in enumerate(series.values)
                  if v is not None]
        for (x1, y1, n1), (x2, y2, n2) in pairwise(points):
            if n2 == n1 + 1:  # a week without a figure breaks the line
                yield Markup('<line x1="{x1:.2f}%" y1="{y1:.1f}" x2="{x2:.2f}%" y2="{y2:.1f}" '
                             'stroke="{colour}" stroke-width="2"/>').format(
                    x1=x1, y1=y1, x2=x2, y2=y2, colour=series.colour)
        for x, y, n in points:
            yield Markup('<circle cx="{x:.2f}%" cy="{y:.1f}" r="4" fill="{colour}">'
                         "<title>{tooltip}</title></circle>").format(
                x=x, y=y, colour=series.colour, tooltip=_tooltip(chart, series, n))
