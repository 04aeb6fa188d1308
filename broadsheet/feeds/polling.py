"""A feed's polls as its row keeps them: what to fetch next, a poll's entries taken, a failed
poll counted (and the feed paused after MAX_FAILURES in a row), which feeds are due, and the
feeds FEED_URLS names added."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from broadsheet.db import dialect_insert
from broadsheet.feeds.entries import known_keys, link_seen, take_entry
from broadsheet.feeds.fetched import Fetched, FetchRequest
from broadsheet.feeds.reading import Entry
from broadsheet.models import Feed
from broadsheet.services import newsletters

# Failed polls in a row after which a feed is paused (an editor resumes it).
MAX_FAILURES = 5


@dataclass
class PollOutcome:
    """What one poll did, for the log and the command line."""

    feed_id: int
    unchanged: bool = False
    new: int = 0  # entries that became an article and a campaign
    old: int = 0  # entries seen for the first time but too old (a first poll) or repeated
    campaigns: list[int] = field(default_factory=list)
    started: list[int] = field(default_factory=list)  # to enqueue once committed
    held: list[int] = field(default_factory=list)  # drafts, though the feed sends at once
    error: str | None = None
    paused: bool = False


def feed_to_fetch(session: Session, feed_id: int) -> FetchRequest | None:
    """The feed's address and validators; None when it is gone or paused."""
    feed = session.get(Feed, feed_id)
    if feed is None or feed.paused:
        return None
    return FetchRequest(feed.id, feed.url, feed.etag, feed.last_modified)


def record_poll(
    session: Session,
    feed_id: int,
    fetched: Fetched,
    entries: list[Entry],
    *,
    now: datetime,
    max_age: timedelta,
    tracking: bool,
) -> PollOutcome:
    """Take a successful poll's entries (none for a 304) and reset the feed's failures. On
    the feed's first successful poll, entries older than `max_age`, or undated, are only
    recorded as seen: adding a feed does not mail its backlog."""
    outcome = PollOutcome(feed_id, unchanged=fetched.unchanged)
    feed = session.get(Feed, feed_id)
    if feed is None:
        return outcome
    first = feed.last_ok_at is None
    known = known_keys(session, feed_id, [entry.key for entry in entries])
    for entry in entries:
        if entry.key in known:
            continue
        too_old = first and (entry.published is None or entry.published < now - max_age)
        repeated = link_seen(session, feed_id, entry.link)
        taken = take_entry(
            session, feed, entry, now=now, only_seen=too_old or repeated, tracking=tracking
        )
        if taken.campaign is None:
            outcome.old += too_old or repeated
            continue
        outcome.new += 1
        outcome.campaigns.append(taken.campaign.id)
        if taken.started:
            outcome.started.append(taken.campaign.id)
        if taken.held:
            outcome.held.append(taken.campaign.id)
    if not fetched.unchanged:
        feed.etag, feed.last_modified = fetched.etag, fetched.last_modified
    feed.last_polled_at = feed.last_ok_at = now
    feed.failures = 0
    session.flush()
    return outcome


def record_failure(session: Session, feed_id: int, reason: str, *, now: datetime) -> PollOutcome:
    """Count a failed poll with its reason (shown in the admin); the MAX_FAILURES-th in a row
    pauses the feed. One conditional UPDATE, so two failing polls at once count twice."""
    row = session.execute(
        update(Feed)
        .where(Feed.id == feed_id)
        .values(
            failures=Feed.failures + 1,
            paused=or_(Feed.paused, Feed.failures + 1 >= MAX_FAILURES),
            last_error=reason,
            last_error_at=now,
            last_polled_at=now,
        )
        .returning(Feed.paused)
        .execution_options(synchronize_session=False)
    ).one_or_none()
    return PollOutcome(feed_id, error=reason, paused=bool(row and row.paused))


def due_feeds(session: Session, now: datetime, every: timedelta) -> list[int]:
    """Feeds not paused and not polled in the last half period. Half, not a whole one: beat's
    next run comes a whole period after the last, and a poll records its time a moment after
    its run began, so a whole period would skip every other run; a feed polled by hand just
    now still waits."""
    query = select(Feed.id).where(
        Feed.paused.is_(False),
        or_(Feed.last_polled_at.is_(None), Feed.last_polled_at <= now - every / 2),
    )
    return list(session.scalars(query.order_by(Feed.id)))


def active_feeds(session: Session) -> list[int]:
    """Every feed not paused (what `broadsheet poll-feeds` polls at once)."""
    return list(session.scalars(select(Feed.id).where(Feed.paused.is_(False)).order_by(Feed.id)))


def seed_feeds(session: Session, urls: tuple[str, ...]) -> int:
    """Add the feeds of FEED_URLS not there yet, as drafts to the default newsletter (every
    reader when there is none); returns how many were added. A feed already there keeps its
    settings, and one no longer named stays (an editor removes it)."""
    if not urls:
        return 0
    present = set(session.scalars(select(Feed.url).where(Feed.url.in_(urls))))
    missing = [url for url in urls if url not in present]
    if not missing:
        return 0
    default = next(iter(newsletters.default_ids(session)), None)
    dialect = session.get_bind().dialect.name
    table = Feed.__table__
    added = session.scalars(
        dialect_insert(dialect, table)
        .values([{"url": url, "newsletter_id": default} for url in missing])
        .on_conflict_do_nothing(index_elements=["url"])
        .returning(table.c.id)
    ).all()
    return len(added)
