"""The only place the web app touches the worker: sending tasks, after the commit."""

from __future__ import annotations

from web.db import after_commit
from worker.tasks import (
    check_campaign_links,
    resume_campaign,
    send_confirmation,
    send_test,
    start_campaign,
)


def confirmation(subscriber_id: int) -> None:
    after_commit(lambda: send_confirmation.delay(subscriber_id))


def campaign_start(campaign_id: int) -> None:
    after_commit(lambda: start_campaign.delay(campaign_id))


def campaign_batches(campaign_id: int) -> None:
    after_commit(lambda: resume_campaign.delay(campaign_id))


def copies_for_test(campaign_id: int, addresses: list[str], requested_by: str) -> None:
    after_commit(lambda: send_test.delay(campaign_id, addresses, requested_by))


def link_check(campaign_id: int) -> None:
    after_commit(lambda: check_campaign_links.delay(campaign_id))
