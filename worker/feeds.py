"""Feed polling: beat enqueues one poll task per due feed every FEED_POLL_SECONDS, so a slow
or failing feed never holds up the others (see worker.app and docs/feeds.md)."""

from __future__ import annotations

import logging
from datetime import timedelta

from broadsheet.feeds.fetched import FeedUnavailable, Fetched
from broadsheet.feeds.polling import (
    PollOutcome,
    active_feeds,
    due_feeds,
    feed_to_fetch,
    record_failure,
    record_poll,
    seed_feeds,
)
from broadsheet.feeds.reading import read_feed
from broadsheet.models import utcnow
from worker.app import celery_app
from worker.feed_fetch import fetch_feed
from worker.link_policy import PUBLIC_ONLY, AddressPolicy
from worker.resources import Resources, resources
from worker.tasks import start_campaign

log = logging.getLogger(__name__)


@celery_app.task(name="broadsheet.poll_feeds")
def poll_feeds() -> int:
    """Add the feeds FEED_URLS names and not there yet, then enqueue a `poll_feed` per feed
    due. Seeding here rather than at `migrate`: it needs the settings of the running system
    (a migration stays schema only), and a URL added to FEED_URLS is picked up at the next
    poll without a restart. Idempotent: a duplicate run enqueues polls that find the feed
    polled just now and skip nothing harmful (entries are taken once)."""
    res = resources()
    every = timedelta(seconds=res.settings.feed_poll_seconds)
    with res.sessions.begin() as session:
        added = seed_feeds(session, res.settings.feed_urls)
        due = due_feeds(session, utcnow(), every)
    if added:
        log.info("feeds: %s added from FEED_URLS", added)
    for feed_id in due:
        poll_feed.delay(feed_id)
    return len(due)


@celery_app.task(name="broadsheet.poll_feed")
def poll_feed(feed_id: int) -> dict[str, object]:
    """Fetch one feed and take its new entries (broadsheet.feeds). Idempotent: entries are
    keyed per feed, so a redelivered or duplicate poll makes no second article. Not retried:
    a failure is kept on the feed and the next beat run polls it again."""
    outcome = poll_one(resources(), feed_id)
    return {"new": outcome.new, "old": outcome.old, "error": outcome.error}


def poll_now(res: Resources, *, policy: AddressPolicy = PUBLIC_ONLY) -> list[PollOutcome]:
    """Add FEED_URLS's feeds, then poll every feed not paused, one after the other, in this
    process (`broadsheet poll-feeds`: no worker needed, whether or not one was due)."""
    with res.sessions.begin() as session:
        seed_feeds(session, res.settings.feed_urls)
        feed_ids = active_feeds(session)
    return [poll_one(res, feed_id, policy=policy) for feed_id in feed_ids]


def poll_one(res: Resources, feed_id: int, *, policy: AddressPolicy = PUBLIC_ONLY) -> PollOutcome:
    """Poll a feed now: read its validators, fetch outside any transaction, then take the
    entries in one transaction and enqueue the campaigns to start once it commits. Whatever
    goes wrong is recorded on the feed, logged with its reason, and never raised."""
    with res.sessions.begin() as session:
        request = feed_to_fetch(session, feed_id)
    if request is None:
        return PollOutcome(feed_id)
    settings = res.settings
    try:
        fetched = fetch_feed(
            request, timeout=settings.feed_timeout, max_bytes=settings.feed_max_bytes,
            policy=policy,
        )  # fmt: skip
        entries = [] if fetched.unchanged else read_feed(fetched, request.url)
        with res.sessions.begin() as session:
            outcome = record_poll(
                session, feed_id, fetched, entries, now=utcnow(),
                max_age=timedelta(seconds=settings.feed_max_age), tracking=settings.tracking,
            )  # fmt: skip
    except FeedUnavailable as exc:
        return _failed(res, feed_id, request.url, str(exc))
    except Exception as exc:  # a bug or a database error: this feed fails, no other
        log.exception("feed %s: poll failed", feed_id, extra={"feed_id": feed_id})
        return _failed(res, feed_id, request.url, f"the poll failed ({type(exc).__name__})")
    for campaign_id in outcome.started:
        start_campaign.delay(campaign_id)
    _log(outcome, request.url, fetched)
    return outcome


def _failed(res: Resources, feed_id: int, url: str, reason: str) -> PollOutcome:
    with res.sessions.begin() as session:
        outcome = record_failure(session, feed_id, reason, now=utcnow())
    log.warning(
        "feed %s (%s): %s%s", feed_id, url, reason,
        "; paused after repeated failures" if outcome.paused else "",
        extra={"feed_id": feed_id},
    )  # fmt: skip
    return outcome


def _log(outcome: PollOutcome, url: str, fetched: Fetched) -> None:
    if outcome.new or outcome.old:
        log.info(
            "feed %s (%s): %s new entries (campaigns %s), %s only recorded as seen",
            outcome.feed_id, url, outcome.new, outcome.campaigns, outcome.old,
            extra={"feed_id": outcome.feed_id},
        )  # fmt: skip
    elif fetched.unchanged:
        log.debug("feed %s: unchanged (304)", outcome.feed_id)
    if outcome.held:
        log.warning(
            "feed %s (%s): campaigns %s kept as drafts, not sent: their text holds braces "
            "readers would see as written (see their checks)",
            outcome.feed_id, url, outcome.held, extra={"feed_id": outcome.feed_id},
        )  # fmt: skip
