"""A feed's body read into entries: RSS 0.9x, 1.0 (RDF) and 2.0, and Atom, by feedparser,
which also decodes the declared or sniffed encoding, expands entities and resolves relative
links against the feed's address."""

from __future__ import annotations

import calendar
import html
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser
import nh3

from broadsheet.feeds.fetched import FeedUnavailable, Fetched

_HTML_TYPES = ("text/html", "application/xhtml+xml")


@dataclass(frozen=True)
class Entry:
    """One entry as an article needs it. `key` identifies it within its feed: its id (GUID),
    or its link when it has none; an entry with neither cannot be told apart and is left out."""

    key: str
    link: str | None
    title: str
    html: str  # the entry's content, or else its summary, as HTML (not yet our sanitizing)
    author: str
    published: datetime | None


def read_feed(fetched: Fetched, url: str) -> list[Entry]:
    """The entries of a fetched feed, oldest first; FeedUnavailable when the body is not a
    feed. Ill-formed XML is read as far as feedparser's lenient parser can: a feed with
    entries is taken, one with none and a parse error is refused."""
    base = fetched.url or url
    headers = {"content-location": base}
    if fetched.content_type:
        headers["content-type"] = fetched.content_type
    parsed = feedparser.parse(fetched.body, response_headers=headers)
    if not parsed.entries and (parsed.bozo or not parsed.get("version")):
        reason = parsed.get("bozo_exception")
        raise FeedUnavailable(f"not an RSS or Atom feed{f' ({_short(reason)})' if reason else ''}")
    entries = [_entry(raw, base) for raw in parsed.entries]
    found = [entry for entry in entries if entry is not None]
    found.reverse()  # feeds list newest first; articles are made in the order they appeared
    return found


def _entry(raw: Any, base: str) -> Entry | None:
    link = _link(raw.get("link"), base)
    key = (raw.get("id") or "").strip() or link
    if not key:
        return None
    return Entry(
        key=key[:2000],
        link=link,
        title=_title(raw),
        html=_body(raw),
        author=_author(raw),
        published=_time(raw.get("published_parsed") or raw.get("updated_parsed")),
    )


def _author(raw: Any) -> str:
    """The author's name: RSS 0.94 and 2.0 give an address with the name in brackets
    (`ann@example.org (Ann Lee)`), of which the name is kept; an address alone stays."""
    name = (raw.get("author_detail") or {}).get("name") or raw.get("author") or ""
    return " ".join(name.split())


def _link(value: object, base: str) -> str | None:
    """An absolute http(s) address, or None."""
    if not isinstance(value, str) or not value.strip():
        return None
    link = urljoin(base, value.strip())
    parts = urlsplit(link)
    if parts.scheme not in ("http", "https") or not parts.netloc or len(link) > 2000:
        return None
    return link


def _title(raw: Any) -> str:
    """The title as plain text: an HTML title (Atom's type="html") loses its tags."""
    title: str = raw.get("title") or ""
    detail = raw.get("title_detail") or {}
    if detail.get("type") in _HTML_TYPES:
        title = html.unescape(nh3.clean(title, tags=set()))
    return " ".join(title.split())


def _body(raw: Any) -> str:
    """The full content when there is some (HTML preferred), else the summary; plain text is
    escaped so that it reads as text."""
    candidates = [*raw.get("content", ()), raw.get("summary_detail")]
    parts = [part for part in candidates if part and (part.get("value") or "").strip()]
    if not parts:
        return ""
    chosen = next((part for part in parts if part.get("type") in _HTML_TYPES), parts[0])
    value: str = chosen["value"]
    if chosen.get("type") in _HTML_TYPES:
        return value
    return "".join(f"<p>{html.escape(p.strip())}</p>" for p in value.split("\n\n") if p.strip())


def _time(value: time.struct_time | None) -> datetime | None:
    """feedparser's UTC struct_time as an aware datetime."""
    if value is None:
        return None
    return datetime.fromtimestamp(calendar.timegm(value), UTC)


def _short(reason: object) -> str:
    text = " ".join(str(reason).split())
    return text if len(text) <= 200 else text[:199] + "…"
