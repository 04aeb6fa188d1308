"""Article Markdown to safe HTML, plus the word count and reading time shown with it."""

from __future__ import annotations

import math
import re
from functools import cache

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token

WORDS_PER_MINUTE = 230

ALLOWED_TAGS = frozenset(
    {
        "p", "h2", "h3", "h4", "a", "em", "strong", "s", "del", "blockquote", "ul", "ol", "li",
        "code", "pre", "img", "hr", "br", "figure", "figcaption",
        "table", "caption", "thead", "tbody", "tfoot", "tr", "th", "td",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "ol": {"start"},
    # markdown-it writes table column alignment as style="text-align:..."; nothing else survives.
    "th": {"style", "colspan", "rowspan"},
    "td": {"style", "colspan", "rowspan"},
}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
# Body headings stay within h2-h4 (the article title is the h1) rather than lose their markup.
_HEADING_TAGS = {"h1": "h2", "h5": "h4", "h6": "h4"}
_WORD = re.compile(r"\w")


@cache
def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])


@cache
def _cleaner() -> nh3.Cleaner:
    return nh3.Cleaner(
        tags=set(ALLOWED_TAGS),
        clean_content_tags={"script", "style"},
        attributes={tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()},
        attribute_filter=_filter_attribute,
        link_rel="noopener",
        url_schemes=set(URL_SCHEMES),
        url_relative="deny",
        filter_style_properties={"text-align"},
    )


def _filter_attribute(tag: str, attr: str, value: str) -> str | None:
    """Images load only over http(s); sizes must be plain numbers."""
    if tag == "img" and attr == "src" and not value.lower().startswith(("http://", "https://")):
        return None
    if attr in ("width", "height", "colspan", "rowspan", "start") and not value.isdigit():
        return None
    return value


def render_markdown(source: str) -> str:
    """Render CommonMark (+ tables, strikethrough) and sanitize it, raw HTML included."""
    tokens = _parser().parse(source)
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = _HEADING_TAGS.get(token.tag, token.tag)
    html = _parser().renderer.render(tokens, _parser().options, {})
    return _cleaner().clean(html)


def count_words(source: str) -> int:
    """Count the words a reader sees in Markdown `source` (markup, URLs and raw HTML excluded)."""
    return sum(_count(token) for token in _parser().parse(source))


def _count(token: Token) -> int:
    if token.type == "inline":
        return sum(_count(child) for child in token.children or ())
    if token.type in ("text", "code_inline", "code_block", "fence"):
        return sum(1 for word in token.content.split() if _WORD.search(word))
    return 0


def reading_minutes(words: int) -> int:
    """Minutes to read `words` at 230 words a minute, rounded up, never less than one."""
    return max(1, math.ceil(words / WORDS_PER_MINUTE))


def count_html_words(html: str) -> int:
    """Count the words a reader sees in HTML (tags and attributes left out), for a body that
    came as HTML (a feed's entry) rather than Markdown."""
    text = nh3.clean(html, tags=set())
    return sum(1 for word in text.split() if _WORD.search(word))
