"""Confirmation mail does not wait behind a campaign: it has its own queue, read first."""

from __future__ import annotations

from broadsheet.services.subscriptions import request_subscription
from tests.support.api import bearer, wait_for_status
from tests.test_sending import add_readers, start_campaign
from worker.tasks import send_confirmation


def test_confirmation_overtakes_a_long_campaign(client, committed, smtp, celery_worker):
    headers = bearer(committed)
    celery_worker.restart(SEND_RATE="100", BATCH_SIZE="10")
    try:
        add_readers(committed, 300)
        campaign_id = start_campaign(committed)
        smtp.wait_for(20)  # the campaign is under way: 30 batches queued
        reader_id = request_subscription(committed, "late@example.org").subscriber_id
        committed.commit()
        send_confirmation.delay(reader_id)
        smtp.wait_for(21 + 100, timeout=30)
        order = [m.rcpt_tos[0] for m in smtp.messages]
        assert order.index("late@example.org") < 120, "the confirmation waited for the campaign"
        wait_for_status(client, headers, campaign_id, "sent")
    finally:
        celery_worker.restart()
