"""Email templates: rendered once, CSS inlined, placeholders intact, text part readable."""

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from html.parser import HTMLParser
from typing import Any

import pytest
from jinja2 import UndefinedError

from broadsheet.mail.plaintext import html_to_text
from broadsheet.mail.rendering import inline_css, render_email
from broadsheet.mail.skeleton import PLACEHOLDERS, placeholder_context
from broadsheet.markdown import render_markdown

ARCHIVE_URL = "https://news.example.org/archive/issue-12?ref=email&x=1"
BODY_MARKDOWN = """Hello **world**, this is the body.

## What happened

- first point
- second point with [a source](https://example.org/source?a=1&b=2)

> A quotation worth reading.

`inline_code()` and a block:

```
def f():
    return 1
```
"""


@dataclass
class FakeArticle:
    title: str = "Café & <Cake>"
    dek: str = "Why the corner café bakes at dawn"
    author: str = "Ann Author"
    body_html: str = render_markdown(BODY_MARKDOWN)
    published_at: datetime = datetime(2025, 3, 5, 7, 30, tzinfo=UTC)
    reading_minutes: int = 4
    canonical_url: str | None = None


def article_context(**article_fields: Any) -> dict[str, object]:
    article = FakeArticle(**article_fields)
    return {
        **placeholder_context(),
        "article": article,
        "body_html": article.body_html,
        "subject": "Issue 12:\n  Café & <Cake>",
        "preheader": "A short look at cake.",
        "archive_url": ARCHIVE_URL,
        "publication_name": "The Example Gazette",
        "public_url": "https://news.example.org",
    }


class Elements(HTMLParser):
    """Every start tag with its attributes, and every link as (text, href), in document order."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None]]] = []
        self.links: list[tuple[str, str]] = []
        self._link: tuple[str, list[str]] | None = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs)))
        if tag == "a":
            self._link = (dict(attrs).get("href") or "", [])

    def handle_data(self, data):
        if self._link:
            self._link[1].append(data)

    def handle_endtag(self, tag):
        if tag == "a" and self._link:
            self.links.append(("".join(self._link[1]).strip(), self._link[0]))
            self._link = None

    def all(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.found if name == tag]


@pytest.fixture
def article_email():
    return render_email("article", article_context())


def only_dark_mode_styles(html: str) -> bool:
    """Every rule is inlined but the dark-mode ones, kept in one <style> (they cannot be)."""
    blocks = re.findall(r"<style>(.*?)</style>", html, re.S)
    return len(blocks) == 1 and blocks[0].strip().startswith("@media (prefers-color-scheme: dark)")


def test_article_html_has_css_inlined(article_email):
    html = article_email.html
    assert only_dark_mode_styles(html)
    assert "background-color: #121212 !important" in html, "dark colours win over inline ones"
    elements = Elements(html)
    for tag in ("body", "h1", "p", "a", "li", "blockquote", "pre"):
        styled = [attrs for attrs in elements.all(tag) if attrs.get("style")]
        assert styled, f"no inline style on <{tag}>"
    body_style = elements.all("body")[0]["style"]
    assert body_style is not None
    assert "font-family" in body_style and "-apple-system" in body_style
    assert "max-width:600px" in html.replace(" ", "")


def test_article_html_shows_the_article(article_email):
    html = article_email.html
    assert html.startswith("<!DOCTYPE html>")
    assert "Café &amp; &lt;Cake&gt;</h1>" in html  # autoescaped in HTML
    assert "Why the corner café bakes at dawn" in html
    assert "By Ann Author" in html
    assert '<time datetime="2025-03-05">5 March 2025</time>' in html
    assert "4 min read" in html
    assert "<strong>world</strong>" in html
    assert "first point</li>" in html
    assert "BSxGREETINGxBS here is the latest from The Example Gazette." in html
    assert (
        "You are receiving this because you subscribed to The Example Gazette at "
        '<a href="https://news.example.org"' in html
    )


def test_article_links(article_email):
    links = Elements(article_email.html).links
    assert ("View in browser", ARCHIVE_URL) in links
    assert ("Read on the web", ARCHIVE_URL) in links  # no canonical URL: the archive copy
    assert ("a source", "https://example.org/source?a=1&b=2") in links
    assert ("Unsubscribe", PLACEHOLDERS["unsubscribe_url"]) in links
    assert ("https://news.example.org", "https://news.example.org") in links
    assert f"Read on the web: {ARCHIVE_URL}\n" in article_email.text
    assert f"View in browser: {ARCHIVE_URL}\n" in article_email.text


def test_read_on_the_web_prefers_the_canonical_url():
    rendered = render_email("article", article_context(canonical_url="https://blog.example.org/p"))
    links = Elements(rendered.html).links
    assert ("Read on the web", "https://blog.example.org/p") in links
    assert ("View in browser", ARCHIVE_URL) in links
    assert "Read on the web: https://blog.example.org/p\n" in rendered.text
    assert f"View in browser: {ARCHIVE_URL}\n" in rendered.text


@pytest.mark.parametrize("field", sorted(PLACEHOLDERS))
def test_placeholders_survive_premailer_in_attributes_and_text(field):
    placeholder = PLACEHOLDERS[field]
    html = inline_css(
        "<html><head><style>a { color: red; }</style></head><body>"
        f'<a href="{placeholder}">{placeholder}</a><img src="https://x.test/{placeholder}.png">'
        f'<a href="https://x.test/u?t={placeholder}&amp;v=1">x</a></body></html>'
    )
    assert f'href="{placeholder}"' in html
    assert f'src="https://x.test/{placeholder}.png"' in html
    assert f'href="https://x.test/u?t={placeholder}&amp;v=1"' in html
    assert f">{placeholder}</a>" in html


def test_unsubscribe_placeholder_survives_in_the_rendered_article(article_email):
    assert f'href="{PLACEHOLDERS["unsubscribe_url"]}"' in article_email.html
    assert f"Unsubscribe: {PLACEHOLDERS['unsubscribe_url']}\n" in article_email.text
    assert f"sent to {PLACEHOLDERS['email']}." in article_email.text


def test_article_text_part(article_email):
    text = article_email.text
    assert "<" not in text.replace("<Cake>", "")  # no markup, only the raw title
    assert "Café & <Cake>\n=============\n" in text  # not HTML-escaped in text
    assert "Why the corner café bakes at dawn\n" in text
    assert "By Ann Author · 5 March 2025 · 4 min read\n" in text
    assert "Hello world, this is the body.\n\nWhat happened\n-------------\n" in text
    assert "- second point with a source (https://example.org/source?a=1&b=2)\n" in text
    assert "> A quotation worth reading.\n" in text
    assert "def f():\n    return 1\n" in text
    assert (
        "You are receiving this because you subscribed to The Example Gazette at "
        "https://news.example.org." in text
    )
    assert "\n\n\n" not in text


def test_subject_is_one_line(article_email):
    assert article_email.subject == "Issue 12: Café & <Cake>"


def test_missing_context_fails_loudly():
    context = article_context()
    del context["archive_url"]
    with pytest.raises(UndefinedError):
        render_email("article", context)


def test_date_is_shown_in_the_datetime_own_zone():
    paris = timezone(timedelta(hours=1))
    rendered = render_email(
        "article", article_context(published_at=datetime(2025, 3, 6, 0, 30, tzinfo=paris))
    )
    assert "6 March 2025" in rendered.text


def test_confirm_email():
    rendered = render_email(
        "confirm",
        {
            **placeholder_context(),
            "confirm_url": "https://news.example.org/confirm/tok?en=1&x=2",
            "publication_name": "The Example Gazette",
            "public_url": "https://news.example.org",
        },
    )
    assert rendered.subject == "Confirm your subscription to The Example Gazette"
    links = Elements(rendered.html).links
    assert ("Confirm your subscription", "https://news.example.org/confirm/tok?en=1&x=2") in links
    assert only_dark_mode_styles(rendered.html)
    for personal in ("BSxGREETINGxBS", "BSxNAMExBS"):  # nobody's name: they have not confirmed
        assert personal not in rendered.html and personal not in rendered.text
    assert rendered.text.startswith("Hello,\n") and ">Hello,</p>" in rendered.html
    assert "https://news.example.org/confirm/tok?en=1&x=2\n" in rendered.text
    assert "If you did not sign up, you can ignore this email" in rendered.text
    assert "If you did not sign up, you can ignore this email" in rendered.html


def test_html_to_text_layout():
    text = html_to_text(
        "<p>One &amp; <em>two</em>\nthree.</p><h2>Heading</h2>"
        "<ul><li>a</li><li>b<ul><li>nested</li></ul></li></ul>"
        '<ol start="3"><li>third</li><li>fourth</li></ol>'
        "<blockquote><p>q1</p><p>q2</p></blockquote>"
        '<p>See <a href="https://x.test/p">the page</a>, <a href="https://x.test">https://x.test</a>'
        ' or <a href="mailto:ed@x.test">ed@x.test</a>.<br>Next line.</p>'
        "<pre><code>  indented\n    more</code></pre><hr><p>end</p>"
    )
    assert text == (
        "One & two three.\n\nHeading\n-------\n\n- a\n- b\n  - nested\n\n3. third\n4. fourth\n\n"
        "> q1\n>\n> q2\n\nSee the page (https://x.test/p), https://x.test or ed@x.test.\n"
        "Next line.\n\n  indented\n    more\n\n* * *\n\nend"
    )
