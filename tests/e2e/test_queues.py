"""Confirmations and the scheduler's tick do not wait behind a campaign: they have queues of
their own, read first."""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import select

from broadsheet.models import Campaign, CampaignStatus, utcnow
from broadsheet.services.articles import create_article
from broadsheet.services.campaigns import create_campaign
from tests.support.api import bearer, wait_for_status
from tests.support.factories import add_readers, sign_up, start_campaign
from worker.app import QUEUE
from worker.tasks import tick


def test_confirmation_overtakes_a_long_campaign(client, committed, stack, smtp, celery_worker):
    headers = bearer(committed)
    celery_worker.restart(SEND_RATE="100", BATCH_SIZE="10")
    try:
        add_readers(committed, 300)
        campaign_id = start_campaign(committed)
        smtp.wait_for(20)  # the campaign is under way: 30 batches queued
        sign_up(committed, stack["redis"].client(), "late@example.org")
        smtp.wait_for(21 + 100, timeout=30)
        order = [m.rcpt_tos[0] for m in smtp.messages]
        assert order.index("late@example.org") < 120, "the confirmation waited for the campaign"
        wait_for_status(client, headers, campaign_id, "sent")
    finally:
        celery_worker.restart()


def test_the_tick_overtakes_a_long_campaign(client, committed, stack, smtp, celery_worker):
    """A scheduled campaign falls due while 60 batches wait: the tick still runs at once."""
    celery_worker.restart(SEND_RATE="20", BATCH_SIZE="5")
    try:
        add_readers(committed, 300)
        start_campaign(committed)
        smtp.wait_for(5)
        article = create_article(committed, title="Morning Edition", body_markdown="Due now.")
        due = create_campaign(committed, article.id)
        due.status, due.scheduled_at = CampaignStatus.SCHEDULED, utcnow() - timedelta(seconds=1)
        committed.commit()
        waiting = stack["redis"].client().llen(QUEUE)
        assert waiting > 20, "the campaign's batches should still be queued"
        tick.delay()
        deadline = time.monotonic() + 5
        while committed.scalar(select(Campaign.status).where(Campaign.id == due.id)) == "scheduled":
            committed.rollback()
            assert time.monotonic() < deadline, f"the tick waited behind {waiting} batches"
            time.sleep(0.1)
        committed.rollback()
    finally:
        celery_worker.restart()
