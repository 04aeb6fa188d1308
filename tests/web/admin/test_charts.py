"""The admin's bar charts: bars to scale, axes people can read, and the figures as a table."""

from __future__ import annotations

import pytest
from flask import Flask, render_template_string

from web.admin.charts import Series, bar_chart


def test_bars_are_to_scale_on_an_axis_ending_at_a_round_figure() -> None:
    chart = bar_chart(
        "Sent", ["0", "1", "2"], [Series("Sent", [300, 1200, 0])], unit="a", x_unit="b"
    )
    # 1,200 rounds up to an axis of 2,000: 0 at the bottom (100), 2,000 at the top (0).
    assert [round(bar.height, 1) for bar in chart.bars] == [15.0, 60.0, 0.0]
    assert chart.zero == 100.0
    assert [(round(t.at), t.label) for t in chart.y_ticks] == [
        (0, "2,000"),
        (50, "1,000"),
        (100, "0"),
    ]
    assert chart.summary == "Sent, 3 b. Sent: largest 1,200 at 1."


def test_a_series_below_the_line_counts_downwards_and_reads_as_positive() -> None:
    chart = bar_chart(
        "Readers",
        ["1 Nov", "2 Nov"],
        [Series("Joined", [40, 20]), Series("Left", [10, 5], colour=2, below=True)],
        unit="readers a day",
        x_unit="days",
    )
    joined, left = chart.bars[0], chart.bars[1]
    assert joined.y + joined.height == pytest.approx(chart.zero)  # up from the zero line
    assert left.y == pytest.approx(chart.zero) and left.height > 0  # down from it
    assert "10 left" in left.title
    assert chart.rows() == [("1 Nov", ["40", "10"]), ("2 Nov", ["20", "5"])]
    assert all(not t.label.startswith("-") for t in chart.y_ticks)


def test_a_series_must_have_a_value_for_every_bucket() -> None:
    with pytest.raises(ValueError, match="2 values for 3"):
        bar_chart("x", ["a", "b", "c"], [Series("s", [1, 2])], unit="u", x_unit="v")


def test_the_page_gets_a_labelled_svg_and_a_table_of_the_figures(app: Flask) -> None:
    chart = bar_chart(
        "Sent a minute", ["0 min", "1 min"], [Series("Sent", [5, 7])], unit="msgs", x_unit="minutes"
    )
    template = '{% from "admin/_chart.html" import chart %}{{ chart(c, "sent") }}'
    with app.test_request_context():
        html = render_template_string(template, c=chart)
    assert 'role="img" aria-label="Sent a minute, 2 minutes. Sent: largest 7 at 1 min."' in html
    assert html.count("<rect") == 2
    assert '<th scope="row">1 min</th><td class="num">7</td>' in html


def test_nothing_to_draw_says_so(app: Flask) -> None:
    chart = bar_chart("Sent a minute", [], [Series("Sent", [])], unit="msgs", x_unit="minutes")
    template = '{% from "admin/_chart.html" import chart %}{{ chart(c, "sent") }}'
    with app.test_request_context():
        html = render_template_string(template, c=chart)
    assert "Nothing to show yet." in html and "<svg" not in html


def test_an_axis_of_whole_numbers_has_no_halves() -> None:
    chart = bar_chart("Opens", ["9:00"], [Series("Opens", [1])], unit="opens", x_unit="hours")
    assert [t.label for t in chart.y_ticks] == ["1", "0"]
