"""Article Markdown: rendered, sanitized to the allow-list, counted and timed."""

import pytest

from broadsheet.markdown import count_words, reading_minutes, render_markdown


def test_structure_is_kept():
    html = render_markdown(
        "## Section\n\nSome *em* and **strong** with [a link](https://example.org/a?b=1&c=2 "
        '"Title").\n\n- one\n- two\n\n1. first\n\n> quoted\n\n`inline()`\n\n'
        "```python\nprint('hi')\n```\n\n---\n\n| a | b |\n|--:|---|\n| 1 | 2 |\n\n~~gone~~\n"
    )
    assert "<h2>Section</h2>" in html
    assert "<em>em</em>" in html and "<strong>strong</strong>" in html
    assert (
        '<a href="https://example.org/a?b=1&amp;c=2" title="Title" rel="noopener">a link</a>'
        in html
    )
    assert "<ul>\n<li>one</li>\n<li>two</li>\n</ul>" in html
    assert "<ol>\n<li>first</li>\n</ol>" in html
    assert "<blockquote>\n<p>quoted</p>\n</blockquote>" in html
    assert "<code>inline()</code>" in html
    assert "<pre><code>print('hi')\n</code></pre>" in html
    assert "<hr>" in html
    assert '<th style="text-align:right">a</th>' in html and "<td>2</td>" in html
    assert "<s>gone</s>" in html


@pytest.mark.parametrize(
    ("source", "forbidden"),
    [
        ("<script>alert('x')</script>Hello", "alert"),
        ('<p onclick="steal()">Hello</p>', "onclick"),
        ('<a href="javascript:alert(1)">Hello</a>', "javascript"),
        ("[Hello](javascript:alert(1))", 'href="javascript'),
        ('<a href="data:text/html,hi">Hello</a>', "data:"),
        ('<img src="x" onerror="alert(1)">Hello', "onerror"),
        ('<img src="javascript:alert(1)">Hello', "javascript"),
        ("<iframe src='https://evil.test'></iframe>Hello", "iframe"),
        ("<style>body{display:none}</style>Hello", "display"),
        ('<div style="position:fixed">Hello</div>', "position"),
        ('<form action="https://evil.test"><input name="pw"></form>Hello', "input"),
    ],
)
def test_dangerous_html_is_removed(source, forbidden):
    html = render_markdown(source)
    assert forbidden not in html
    assert "Hello" in html


def test_allowed_raw_html_and_link_rules():
    html = render_markdown(
        '<figure><img src="https://cdn.example.org/a.png" alt="A cat" width="300" '
        'height="200" class="x"><figcaption>A cat</figcaption></figure>\n\n'
        '<a href="mailto:ed@example.org" target="_blank" rel="opener">mail</a> '
        '<a href="/relative">rel</a> <a href="http://example.org">plain</a>'
    )
    assert '<img src="https://cdn.example.org/a.png" alt="A cat" width="300" height="200">' in html
    assert "<figcaption>A cat</figcaption>" in html
    assert '<a href="mailto:ed@example.org" rel="noopener">mail</a>' in html
    assert '<a rel="noopener">rel</a>' in html  # relative URLs mean nothing in an email
    assert '<a href="http://example.org" rel="noopener">plain</a>' in html
    assert "target" not in html and "class" not in html


def test_top_level_headings_are_demoted_below_the_title():
    html = render_markdown("# One\n\n###### Six\n\n### Three\n")
    assert html.split() == ["<h2>One</h2>", "<h4>Six</h4>", "<h3>Three</h3>"]


def test_count_words_ignores_markup_and_urls():
    source = (
        "# A title\n\nOne **two** [three](https://example.org/very/long/url) four.\n\n"
        "- five\n- six-seven\n\n<b>eight</b> --- \n"
    )
    # "<b>" is raw HTML and not counted; the stray "---" is not a word.
    assert count_words(source) == 9
    assert count_words("") == 0


@pytest.mark.parametrize(
    ("words", "minutes"), [(0, 1), (1, 1), (230, 1), (231, 2), (460, 2), (461, 3), (2300, 10)]
)
def test_reading_minutes_rounds_up_with_a_minimum_of_one(words, minutes):
    assert reading_minutes(words) == minutes
