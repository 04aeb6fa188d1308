"""Bar charts for the admin, drawn on the server: an SVG of the bars and HTML for the words.

The bars are an SVG stretched to the chart's width (`preserveAspectRatio="none"`), so a chart
fills a 375 px phone and a 1440 px screen alike; the axis labels, units and legend are HTML
around it, so the text keeps its size at any width. Colours come from the stylesheet's
variables, so dark mode needs nothing here. Every chart carries its figures as a table (the
text equivalent screen readers announce, and anyone can open).

A series can be drawn below the zero line (`below`): readers leaving under readers joining.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

# The plot's own coordinates: 1,000 units wide per chart, 100 high.
_WIDTH = 1000.0
_HEIGHT = 100.0
# At most this many labels under the x axis; the rest are in the table and the bars' titles.
_X_LABELS = 4
# The share of a bucket's width left as a gap between buckets.
_GAP = 0.2


@dataclass(frozen=True)
class Series:
    """One kind of value over the chart's buckets (e.g. signups per day), in one colour."""

    name: str
    values: Sequence[float]
    # A colour slot of the stylesheet: .chart-c1 … .chart-c4.
    colour: int = 1
    # Drawn downwards from the zero line (its values are given as positive counts).
    below: bool = False

    def drawn(self, i: int) -> float:
        return -self.values[i] if self.below else self.values[i]


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    colour: int
    title: str


@dataclass(frozen=True)
class Tick:
    """A label on an axis and where it sits, as a percentage of the axis's length."""

    at: float
    label: str


@dataclass(frozen=True)
class BarChart:
    """Everything `admin/_chart.html` draws: bars in plot units, ticks in percentages."""

    title: str
    unit: str  # what the values count, for the y axis ("messages a minute")
    x_unit: str  # what the buckets are ("minutes since the send began")
    labels: Sequence[str]
    series: Sequence[Series]
    bars: list[Bar] = field(default_factory=list)
    y_ticks: list[Tick] = field(default_factory=list)
    x_ticks: list[Tick] = field(default_factory=list)
    zero: float = 0.0  # the zero line, in plot units from the top
    width: float = _WIDTH
    height: float = _HEIGHT

    @property
    def empty(self) -> bool:
        return not self.labels

    @property
    def summary(self) -> str:
        """One sentence for screen readers: what is shown and its largest values."""
        if self.empty:
            return f"{self.title}: nothing yet."
        parts = []
        for series in self.series:
            peak = max(range(len(series.values)), key=lambda i: series.values[i])
            parts.append(
                f"{series.name}: largest {_number(series.values[peak])} at {self.labels[peak]}"
            )
        return f"{self.title}, {len(self.labels)} {self.x_unit}. " + "; ".join(parts) + "."

    def rows(self) -> list[tuple[str, list[str]]]:
        """The figures as table rows: a bucket's label, then each series' value."""
        return [
            (label, [_number(s.values[i]) for s in self.series])
            for i, label in enumerate(self.labels)
        ]


def bar_chart(
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    unit: str,
    x_unit: str,
) -> BarChart:
    """A chart of `series` over the buckets named by `labels` (one value per label each);
    several series stand side by side in each bucket."""
    for s in series:
        if len(s.values) != len(labels):
            raise ValueError(f"series {s.name!r} has {len(s.values)} values for {len(labels)}")
    values = [s.drawn(i) for s in series for i in range(len(labels))]
    if not values:
        return BarChart(title=title, unit=unit, x_unit=x_unit, labels=labels, series=series)
    top, bottom = _scale(max(0.0, *values)), -_scale(-min(0.0, *values))
    span = (top - bottom) or 1.0

    def y_of(value: float) -> float:
        return (top - value) / span * _HEIGHT

    zero = y_of(0.0)
    bucket = _WIDTH / len(labels)
    bar_width = bucket * (1 - _GAP) / len(series)
    bars = [
        Bar(
            x=i * bucket + bucket * _GAP / 2 + j * bar_width,
            y=min(y_of(s.drawn(i)), zero),
            width=bar_width,
            height=abs(y_of(s.drawn(i)) - zero),
            colour=s.colour,
            title=f"{label}: {_number(s.values[i])} {s.name.lower()}",
        )
        for i, label in enumerate(labels)
        for j, s in enumerate(series)
    ]
    step = max(1, math.ceil(len(labels) / _X_LABELS))
    return BarChart(
        title=title,
        unit=unit,
        x_unit=x_unit,
        labels=labels,
        series=series,
        bars=bars,
        y_ticks=[
            Tick(y_of(v) / _HEIGHT * 100, _number(abs(v)))
            for v in _ticks(bottom, top)
            # Counts read as counts: no 0.5 on the axis of a chart of whole numbers.
            if v.is_integer() or not all(float(x).is_integer() for x in values)
        ],
        x_ticks=[
            Tick((i + 0.5) * bucket / _WIDTH * 100, labels[i]) for i in range(0, len(labels), step)
        ],
        zero=zero,
    )


def _scale(peak: float) -> float:
    """The axis's end for values up to `peak`: the next 1, 2 or 5 times a power of ten."""
    if peak <= 0:
        return 0.0
    power = 10 ** math.floor(math.log10(peak))
    for step in (1, 2, 5, 10):
        if peak <= step * power:
            return float(step * power)
    return float(10 * power)


def _ticks(bottom: float, top: float) -> list[float]:
    """Zero, the axis's ends and their halves, leaving out any too close to one already
    marked to be read apart on a phone (below zero the figures count downwards)."""
    span = top - bottom
    marks: list[float] = []
    for mark in (0.0, top, bottom, top / 2, bottom / 2):
        if all(abs(mark - m) > span * 0.15 for m in marks):
            marks.append(mark)
    return sorted(marks, reverse=True)


def _number(value: float) -> str:
    """A figure as people read it: 1,234 or 2.5 (no trailing zeros)."""
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.1f}"
