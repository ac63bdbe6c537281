"""The server-drawn SVG charts: axis tops, bars where the figures say, escaped text, and
labels thinned to what a phone's width holds."""

from __future__ import annotations

import re

import pytest

from calsync.web.pages.charts import HEIGHT, LEFT, RIGHT, Chart, Kind, Series, round_top, svg


def chart(labels: tuple[str, ...], *series: Series, kind: Kind = Kind.BARS) -> Chart:
    return Chart(key="t", title="Touches <b>", summary="A & B", heading="Touch",
                 labels=labels, series=series, axis=lambda v: f"{v:g}", kind=kind)


def bars(drawn: str) -> list[tuple[float, float]]:
    """(top, height) of each bar; the legend's swatches have no tooltip."""
    return [(float(y), float(h)) for y, h in re.findall(
        r'<rect x="[\d.]+%" y="([\d.]+)" width="[\d.]+%" height="([\d.]+)"[^>]*><title>', drawn)]


def counts(name: str, values: list[float | None], colour: str | None = "#123456") -> Series:
    return Series(name, tuple(values), tuple("—" if v is None else f"{v:g}" for v in values),
                  colour)


@pytest.mark.parametrize(("highest", "top"), [
    (0, 2), (1, 2), (3, 4), (5, 6), (10, 20), (37, 40), (0.3, 0.4), (2.5, 4)])
def test_the_axis_top_is_a_round_figure_above_the_data(highest: float, top: float) -> None:
    assert round_top(highest) == pytest.approx(top)


def test_bars_reach_their_figures_and_text_is_escaped() -> None:
    drawn = svg(chart(("1", "2"), counts("Won", [4, 2]), counts("Closed", [5, 3], None)))
    assert "<title id=\"chart-t-title\">Touches &lt;b&gt;</title>" in drawn
    assert "<desc id=\"chart-t-desc\">A &amp; B</desc>" in drawn
    (_, four), (_, two) = bars(drawn)
    assert four == pytest.approx(2 * two)  # 4 against 2, on an axis to 4
    assert "Closed" not in drawn  # a table-only column is not drawn
    assert "<script" not in drawn and "style=" not in drawn


def test_stacked_bars_sit_on_each_other_and_a_line_breaks_at_a_gap() -> None:
    stacked = svg(chart(("a",), counts("On time", [1]), counts("Late", [1]), kind=Kind.STACKED))
    (low_top, _), (high_top, high_height) = bars(stacked)
    assert low_top == pytest.approx(high_top + high_height)  # the second sits on the first
    line = svg(chart(("a", "b", "c", "d"), counts("Median", [1, 2, None, 2]), kind=Kind.LINE))
    assert line.count("<circle") == 3 and line.count("<line x1=\"") - 3 == 1  # 3 gridlines


def test_crowded_labels_are_thinned_from_the_latest_which_ends_at_the_edge() -> None:
    weeks = tuple(f"{n}\N{NO-BREAK SPACE}Mar" for n in range(1, 13))
    drawn = svg(chart(weeks, counts("Missed", [1] * 12)))
    shown = re.findall(rf'<text x="([\d.]+)%" y="{HEIGHT - 8}" text-anchor="(\w+)"[^>]*>([^<]+)<',
                       drawn)
    assert 2 <= len(shown) < 12
    assert shown[-1] == (f"{RIGHT:.2f}", "end", weeks[-1])
    assert all(LEFT < float(x) <= RIGHT for x, _anchor, _label in shown)
    few = svg(chart(("1", "2", "3"), counts("Won", [1, 2, 3])))
    assert few.count(f'y="{HEIGHT - 8}" text-anchor="middle"') == 3
