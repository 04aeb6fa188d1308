"""An accent colour's shades and their contrast (WCAG 2), and what the email does with a
colour that did not come through the form: it never reaches the stylesheet as typed."""

from __future__ import annotations

import pytest

from broadsheet.mail.look import Look, accent_colours, contrast, contrast_problems, normal_accent
from broadsheet.mail.rendering import render_email
from broadsheet.mail.skeleton import placeholder_context


def test_contrast_matches_wcag():
    assert contrast("#000000", "#ffffff") == pytest.approx(21)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)


@pytest.mark.parametrize("accent", ["#0b57b8", "#9b1c1c", "#2f7d5b", "#6a1b9a"])
def test_dark_mode_lifts_a_dark_accent_until_it_reads(accent):
    colours = accent_colours(accent)
    assert colours.link == accent
    assert contrast(colours.dark_link, "#1e1e1e") >= 4.5
    assert contrast_problems(accent) == []


def test_a_pale_accent_is_named_for_what_it_spoils():
    assert contrast_problems("#ffcc00") == ["links in light mode (1.5:1)"]
    assert contrast_problems("#777777") == [
        "links in light mode (4.4:1)",
        "button text in light mode (4.4:1)",
    ]


@pytest.mark.parametrize("typed", ["#ABC", "aabbcc", " #AaBbCc "])
def test_colours_are_kept_as_six_lower_case_digits(typed):
    assert normal_accent(typed) == "#aabbcc"


@pytest.mark.parametrize("typed", ["red", "#ff00001", "#fff;}", "rgb(0,0,0)", 12])
def test_anything_else_is_refused(typed):
    with pytest.raises(ValueError, match="hex"):
        normal_accent(typed)


def test_a_stored_colour_that_is_not_hex_fails_the_rendering_rather_than_the_css():
    context = {"publication_name": "P", "public_url": "https://example.org",
               **placeholder_context()}  # fmt: skip
    with pytest.raises(ValueError, match="not a hex colour"):
        render_email("confirm", {**context, "look": Look(accent="red;}a{x:y")})
    plain = render_email("confirm", context).html
    assert "border-top: 4px" not in plain  # no look: the stock colours
