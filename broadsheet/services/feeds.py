"""Feeds as editors manage them: add one (its address, the newsletter its campaigns go to,
drafts or sent at once), list them with how their polls went, resume a paused one."""

from __future__ import annotations

from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from broadsheet.errors import Conflict, NotFound, ValidationError
from broadsheet.models import Feed
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
    newsletter_id = None
    if newsletter is None:
        newsletter_id = next(iter(newsletters.default_ids(session)), None)
    elif not isinstance(newsletter, str):
        errors["newsletter"] = "must be a newsletter's slug"
    else:
        try:
            newsletter_id = newsletters.by_slugs(session, [newsletter], "newsletter")[0].id
        except ValidationError as exc:
            errors.update(exc.fields)
    if not isinstance(send_now, bool):
        errors["send_now"] = "must be true or false"
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


def resume_feed(session: Session, feed_id: int) -> Feed:
    """Poll a paused feed again, its count of failures back to zero."""
    feed = session.get(Feed, feed_id)
    if feed is None:
        raise NotFound(f"feed {feed_id} does not exist")
    feed.paused, feed.failures = False, 0
    session.flush()
    return feed
