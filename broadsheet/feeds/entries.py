"""An entry new to its feed becomes an article and a campaign, in the poll's transaction.

The entry's key is inserted first, skipping a key the feed already has (`ON CONFLICT DO
NOTHING`): the poller whose insert made the row makes the article, any other (a restart, a
second poller at once) makes nothing. On PostgreSQL a second insert of the same key waits for
the first transaction and then skips; on SQLite writers take turns. Key, article and campaign
commit together or not at all, so there is never half an article, and an entry once seen is
never sent again, however it is edited later.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from broadsheet.db import dialect_insert
from broadsheet.feeds.reading import Entry
from broadsheet.mail import personal
from broadsheet.markdown import count_html_words, reading_minutes
from broadsheet.models import Campaign, Feed, FeedEntry, Newsletter
from broadsheet.services import campaigns
from broadsheet.services.articles import MAX_BODY, create_feed_article

TITLE_MAX, AUTHOR_MAX = 300, 200


@dataclass(frozen=True)
class Taken:
    """What one entry became: None for an entry already seen (or seen now, too old)."""

    campaign: Campaign | None
    started: bool
    held: bool = False  # kept as a draft, though its feed sends at once (`unfilled`)


def take_entry(
    session: Session, feed: Feed, entry: Entry, *, now: datetime, only_seen: bool, tracking: bool
) -> Taken:
    """Record `entry` as seen in `feed`, and unless `only_seen` (too old on a first poll) or
    it was seen already, make its article and a campaign to the feed's newsletter: a draft,
    or started at once (`sending`) when the feed says so; the caller enqueues its start
    after the commit. An entry whose title or text holds braces that are no reader field
    (a post about templates) stays a draft even then: its checks name them for an editor."""
    table = FeedEntry.__table__
    dialect = session.get_bind().dialect.name
    inserted = session.scalar(
        dialect_insert(dialect, table)
        .values(feed_id=feed.id, key=entry.key, link=entry.link, seen_at=now)
        .on_conflict_do_nothing(index_elements=["feed_id", "key"])
        .returning(table.c.id)
    )
    if inserted is None or only_seen:
        return Taken(None, False)
    article = create_feed_article(
        session,
        title=_clip(entry.title or entry.link or "Untitled entry", TITLE_MAX),
        body_markdown=_as_markdown(entry),
        author=_clip(entry.author, AUTHOR_MAX),
        url=entry.link,
        published_at=entry.published or now,
    )
    article.word_count = count_html_words(article.body_html)
    article.reading_minutes = reading_minutes(article.word_count)
    session.execute(update(FeedEntry).where(FeedEntry.id == inserted).values(article_id=article.id))
    campaign = campaigns.create_campaign(
        session, article.id, audience=_audience(session, feed), tracking=tracking
    )
    if not feed.send_now:
        return Taken(campaign, False)
    if personal.unfilled(campaign.subject, article.body_html):
        return Taken(campaign, False, held=True)
    return Taken(campaigns.start_send(session, campaign.id), True)


def link_seen(session: Session, feed_id: int, link: str | None) -> bool:
    """Whether an entry with this link was seen in the feed already: a feed that changes its
    entries' ids (some regenerate GUIDs on each build) must not send the same post again."""
    if link is None:
        return False
    query = select(FeedEntry.id).where(FeedEntry.feed_id == feed_id, FeedEntry.link == link)
    return session.scalar(query.limit(1)) is not None


def known_keys(session: Session, feed_id: int, keys: list[str]) -> set[str]:
    """The keys among `keys` the feed has seen (one query, before the inserts)."""
    if not keys:
        return set()
    query = select(FeedEntry.key).where(FeedEntry.feed_id == feed_id, FeedEntry.key.in_(keys))
    return set(session.scalars(query))


def _audience(session: Session, feed: Feed) -> object:
    if feed.newsletter_id is None:
        return "everyone"
    slug = session.scalar(select(Newsletter.slug).where(Newsletter.id == feed.newsletter_id))
    return {"newsletters": [slug]}


def _as_markdown(entry: Entry) -> str:
    """The entry's HTML as the article's source, which the article service renders and
    sanitizes like any other. Wrapped in a <div> with no blank line inside, it is one raw HTML
    block to Markdown: nothing in it (indented lines, `#`, `*`) is read as Markdown."""
    body = entry.html.strip()
    if not body and entry.link:
        link = html.escape(entry.link)
        body = f'<p><a href="{link}">{link}</a></p>'
    lines = [line for line in body.splitlines() if line.strip()]
    text = "\n".join(["<div>", *lines, "</div>"]) if lines else entry.title or "(no text)"
    return text[:MAX_BODY]


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
