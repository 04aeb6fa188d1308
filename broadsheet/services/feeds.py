"""Feeds as editors manage them: add one (its address, the newsletter its campaigns go to,
drafts or sent at once), list them with how their polls went, change where and how its
campaigns go, pause and resume it, check it may be polled now, and remove it (its articles
stay)."""

from __future__ import annotations

from urllib.parse import urlsplit

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from broadsheet.errors import Conflict, NotFound, ValidationError
from broadsheet.models import Feed, FeedEntry
from broadsheet.services import newsletters


def create_feed(
    session: Session, url: object, *, newsletter: object = None, send_now: object = False
) -> Feed:
    """A feed polled from now on. `newsletter` is a newsletter's slug (None: the default
    newsletter, or every reader when there is none); `send_now` makes each new entry's
    campaign start at once instead of waiting as a draft. Every problem at once
    (ValidationError by field); an address already added is a Conflict."""
    errors: dict[str, str] = {}
    address = url.strip() if isinstance(url, str) else ""
    parts = urlsplit(address)
    if parts.scheme not in ("http", "https") or not parts.netloc or len(address) > 2000:
        errors["url"] = "must be an absolute http(s) URL of at most 2000 characters"
    if newsletter is None:
        newsletter_id = next(iter(newsletters.default_ids(session)), None)
    else:
        newsletter_id = _newsletter_id(session, newsletter, errors)
    _check_send_now(send_now, errors)
    if errors:
        raise ValidationError(errors)
    if session.scalar(select(Feed.id).where(Feed.url == address)) is not None:
        raise Conflict(f"the feed {address} is already added")
    feed = Feed(url=address, newsletter_id=newsletter_id, send_now=bool(send_now))
    session.add(feed)
    session.flush()
    return feed


def list_feeds(session: Session) -> list[Feed]:
    """Every feed, oldest first."""
    return list(session.scalars(select(Feed).order_by(Feed.id)))


def paused_feeds(session: Session) -> list[Feed]:
    """The feeds not polled until someone resumes them (the admin's overview warns of each)."""
    return list(session.scalars(select(Feed).where(Feed.paused.is_(True)).order_by(Feed.id)))


def get_feed(session: Session, feed_id: int) -> Feed:
    feed = session.get(Feed, feed_id)
    if feed is None:
        raise NotFound(f"feed {feed_id} does not exist")
    return feed


def update_feed(session: Session, feed_id: int, *, newsletter: object, send_now: object) -> Feed:
    """Send the feed's next campaigns to another newsletter (a slug; None: every active
    reader), as drafts or at once. Campaigns already made keep their audience. Every problem
    at once (ValidationError)."""
    feed = get_feed(session, feed_id)
    errors: dict[str, str] = {}
    newsletter_id = None if newsletter is None else _newsletter_id(session, newsletter, errors)
    _check_send_now(send_now, errors)
    if errors:
        raise ValidationError(errors)
    feed.newsletter_id, feed.send_now = newsletter_id, bool(send_now)
    session.flush()
    return feed


def pause_feed(session: Session, feed_id: int) -> Feed:
    """Stop polling the feed until it is resumed (its entries meanwhile wait in the feed)."""
    feed = get_feed(session, feed_id)
    feed.paused = True
    session.flush()
    return feed


def resume_feed(session: Session, feed_id: int) -> Feed:
    """Poll a paused feed again, its count of failures back to zero."""
    feed = get_feed(session, feed_id)
    feed.paused, feed.failures = False, 0
    session.flush()
    return feed


def feed_to_poll_now(session: Session, feed_id: int) -> Feed:
    """The feed an editor asks to poll at once; a paused one is a Conflict (the poll would
    skip it: resume it first)."""
    feed = get_feed(session, feed_id)
    if feed.paused:
        raise Conflict(f"the feed {feed.url} is paused; resume it to poll it")
    return feed


def articles_made(session: Session, feed_id: int) -> int:
    """How many articles the feed's entries became (read from its own entries' index)."""
    query = select(func.count()).where(
        FeedEntry.feed_id == feed_id, FeedEntry.article_id.is_not(None)
    )
    return session.scalar(query) or 0


def delete_feed(session: Session, feed_id: int) -> None:
    """Remove the feed and the record of the entries it saw; the articles and campaigns they
    became stay, as any article does. Added again later, it starts as a new feed (its first
    poll takes only entries younger than FEED_MAX_AGE)."""
    feed = get_feed(session, feed_id)
    session.execute(delete(FeedEntry).where(FeedEntry.feed_id == feed_id))
    session.delete(feed)
    session.flush()


def _newsletter_id(session: Session, slug: object, errors: dict[str, str]) -> int | None:
    """The newsletter a slug names, or None with the reason added to `errors`."""
    if not isinstance(slug, str):
        errors["newsletter"] = "must be a newsletter's slug"
        return None
    try:
        return newsletters.by_slugs(session, [slug], "newsletter")[0].id
    except ValidationError as exc:
        errors.update(exc.fields)
        return None


def _check_send_now(send_now: object, errors: dict[str, str]) -> None:
    if not isinstance(send_now, bool):
        errors["send_now"] = "must be true or false"
