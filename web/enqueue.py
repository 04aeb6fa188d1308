"""The only place the web app touches the worker: sending tasks, after the commit."""

from __future__ import annotations

from broadsheet.services import outbox_queue
from web.db import after_commit, session
from web.extensions import redis_client
from worker.feeds import poll_feed
from worker.tasks import (
    check_campaign_links,
    resume_campaign,
    run_import,
    send_test,
    start_campaign,
    wake_sweep,
)


def confirmation(subscriber_id: int) -> None:
    """Owe the reader a confirmation in this request's transaction (the outbox), and once it
    commits ask for a sweep; a lost ask only delays the mail until the next tick."""
    if outbox_queue.queue_confirmation(session(), subscriber_id):
        after_commit(lambda: wake_sweep(redis_client()))


def welcome(subscriber_id: int) -> None:
    """Owe a reader who just confirmed their welcome (once ever, when one of their newsletters
    sends one), and once it commits ask for a sweep."""
    if outbox_queue.queue_welcome(session(), subscriber_id):
        after_commit(lambda: wake_sweep(redis_client()))


def data_export(subscriber_id: int) -> bool:
    """Owe a reader their data (the outbox), and once it commits ask for a sweep; False when
    it is owed already (asked for and not sent yet)."""
    if not outbox_queue.queue_data_export(session(), subscriber_id):
        return False
    after_commit(lambda: wake_sweep(redis_client()))
    return True


def campaign_start(campaign_id: int) -> None:
    after_commit(lambda: start_campaign.delay(campaign_id))


def campaign_batches(campaign_id: int) -> None:
    after_commit(lambda: resume_campaign.delay(campaign_id))


def copies_for_test(campaign_id: int, addresses: list[str], requested_by: str) -> None:
    after_commit(lambda: send_test.delay(campaign_id, addresses, requested_by))


def link_check(campaign_id: int) -> None:
    after_commit(lambda: check_campaign_links.delay(campaign_id))


def reader_import(import_id: int) -> None:
    """Its dry run or its import, once the request that asked for it commits; a lost ask is
    made again by the tick (broadsheet.services.reader_imports.stalled)."""
    after_commit(lambda: run_import.delay(import_id))


def feed_poll(feed_id: int) -> None:
    after_commit(lambda: poll_feed.delay(feed_id))
