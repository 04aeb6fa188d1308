"""Wrapping a campaign's links: the reader's own pages stay as they are, every other link
gets an index, and the pixel and honeypot are added."""

from __future__ import annotations

from broadsheet.tracking.links import TRACK_PLACEHOLDER, make_trackable, tracked_links

PUBLIC = "https://news.example.org"
HTML = f"""<html><body>
<a href="https://example.com/a?x=1&amp;y=2">A</a>
<a style="color:red" href='https://example.com/b'>B</a>
<a href="https://example.com/a?x=1&amp;y=2">A again</a>
<a href="{PUBLIC}/archive/rate-of-change">Read on the web</a>
<a href="{PUBLIC}/unsubscribe/BSxUNSUBSCRIBExBS">Unsubscribe</a>
<a href="BSxUNSUBSCRIBExBS">Unsubscribe too</a>
<a href="mailto:editor@example.org">Write</a>
<a href="{PUBLIC}">Home</a>
</body></html>"""


def test_links_are_wrapped_by_index_each_url_once():
    trackable = make_trackable(HTML, PUBLIC)
    assert trackable.links == ["https://example.com/a?x=1&y=2", "https://example.com/b"]
    base = f"{PUBLIC}/t/{TRACK_PLACEHOLDER}"
    assert trackable.html.count(f'href="{base}/0"') == 2
    assert f"href='{base}/1'" in trackable.html
    assert "https://example.com" not in trackable.html


def test_reader_pages_and_other_schemes_are_left_alone():
    html = make_trackable(HTML, PUBLIC).html
    for kept in (
        f"{PUBLIC}/archive/rate-of-change",
        f"{PUBLIC}/unsubscribe/BSxUNSUBSCRIBExBS",
        'href="BSxUNSUBSCRIBExBS"',
        "mailto:editor@example.org",
        f'href="{PUBLIC}"',
    ):
        assert kept in html


def test_pixel_and_hidden_honeypot_go_before_the_body_ends():
    trackable = make_trackable(HTML, PUBLIC)
    base = f"{PUBLIC}/t/{TRACK_PLACEHOLDER}"
    honeypot = f'<a href="{base}/{trackable.honeypot}" tabindex="-1" aria-hidden="true"'
    assert trackable.honeypot == 2
    tail = trackable.html.partition(honeypot)[2]
    assert tail, "honeypot missing"
    assert "display:none" in tail.split(">")[0]
    assert f'<img src="{base}.gif" width="1" height="1" alt=""' in tail
    assert tail.rstrip().endswith("</body></html>")


def test_the_same_html_gives_the_same_links():
    assert tracked_links(HTML, PUBLIC) == make_trackable(HTML, PUBLIC).links


def test_a_link_no_redirect_could_carry_is_left_alone():
    html = (
        '<a href="https://example.com/a\r\nSet-Cookie: x=1">A</a><a href="https://e.test/a b">B</a>'
    )
    trackable = make_trackable(html, PUBLIC)
    assert trackable.links == []
    assert "https://example.com/a\r\nSet-Cookie" in trackable.html
