"""Celery tasks: thin wrappers that parse ids, open one transaction, call the domain, decide retry.

Names are explicit and stable (`broadsheet.*`) because queued messages outlive deployments.
Arguments are JSON ids only; every task re-reads the database, so a redelivery is harmless.
"""

from __future__ import annotations

import logging
import smtplib
from datetime import timedelta
from email.utils import parseaddr

from celery import Task

from broadsheet.models import Campaign, Subscriber, SubscriberStatus, utcnow
from broadsheet.outbox import confirmation_message, render_campaign
from broadsheet.services import ledger
from broadsheet.services.subscriptions import mark_confirmation_sent
from worker import smtp
from worker.app import celery_app
from worker.resources import resources
from worker.sending import send_batch as send_one_batch

log = logging.getLogger(__name__)

# Seconds before the n-th retry of a batch whose deliveries failed transiently.
RETRY_DELAYS = (30, 60, 300, 900, 3600)
# Sending campaigns with no progress for this long get their lost tasks enqueued again.
STALL_AFTER = timedelta(minutes=2)


def _retry_delay(retries: int) -> int:
    return RETRY_DELAYS[min(retries, len(RETRY_DELAYS) - 1)]


@celery_app.task(name="broadsheet.send_confirmation", bind=True, max_retries=len(RETRY_DELAYS))
def send_confirmation(self: Task, subscriber_id: int) -> None:
    """Mail the double opt-in link to a pending reader.

    Idempotent enough: a redelivery may send a second confirmation, which is harmless (both
    links work). Retries relay errors on the RETRY_DELAYS schedule, then gives up.
    """
    res = resources()
    with res.sessions.begin() as session:
        subscriber = session.get(Subscriber, subscriber_id)
        if subscriber is None or subscriber.status != SubscriberStatus.PENDING:
            return
        message = confirmation_message(subscriber, res.settings)
        email = subscriber.email
    res.throttle.wait()
    try:
        conn = smtp.connect(res.settings.smtp)
        try:
            conn.sendmail(_envelope_from(res.settings.mail_from), [email], message)
        finally:
            smtp.close(conn)
    except smtplib.SMTPRecipientsRefused as exc:
        code = next(iter(exc.recipients.values()))[0]
        if code >= 500:
            log.warning("confirmation to subscriber %s refused: %s", subscriber_id, exc)
            return
        raise self.retry(exc=exc, countdown=_retry_delay(self.request.retries)) from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise self.retry(exc=exc, countdown=_retry_delay(self.request.retries)) from exc
    with res.sessions.begin() as session:
        subscriber = session.get(Subscriber, subscriber_id)
        if subscriber is not None:
            mark_confirmation_sent(session, subscriber, utcnow())


@celery_app.task(name="broadsheet.start_campaign")
def start_campaign(campaign_id: int) -> int:
    """Render the campaign once, plan a delivery per active reader, enqueue the batches.

    Idempotent: planning adds only missing rows and batches claim only queued rows, so running
    it twice sends nobody twice. Not retried; the scheduler's tick re-runs a stalled start.
    """
    res = resources()
    with res.sessions.begin() as session:
        campaign = session.get(Campaign, campaign_id)
        if campaign is None or campaign.status.value != "sending":
            return 0
        if campaign.rendered_html is None:
            rendered = render_campaign(campaign, res.settings)
            campaign.rendered_html, campaign.rendered_text = rendered.html, rendered.text
        planned = ledger.plan_deliveries(session, campaign)
    log.info("campaign %s: planned %s deliveries", campaign_id, planned)
    return enqueue_batches(campaign_id)


def enqueue_batches(campaign_id: int) -> int:
    """One send_batch task per BATCH_SIZE queued deliveries; completes an empty campaign."""
    res = resources()
    with res.sessions.begin() as session:
        ranges = list(ledger.batch_ranges(session, campaign_id, res.settings.batch_size))
        if not ranges:
            ledger.complete_if_done(session, campaign_id)
    for first_id, last_id in ranges:
        send_batch.delay(campaign_id, first_id, last_id)
    return len(ranges)


@celery_app.task(name="broadsheet.send_batch", bind=True, max_retries=None)
def send_batch(self: Task, campaign_id: int, first_id: int, last_id: int) -> dict[str, int]:
    """Send the queued deliveries with ids in [first_id, last_id] over one SMTP connection.

    Idempotent: only queued rows are claimed, so a duplicate or redelivered task sends nothing
    twice. Transiently failed rows go back to the queue and the task retries on RETRY_DELAYS;
    each delivery gives up after MAX_ATTEMPTS tries (see worker.sending).
    """
    res = resources()
    worker = f"{self.request.hostname}/{self.request.id}"
    outcome = send_one_batch(res, campaign_id, first_id, last_id, worker)
    with res.sessions.begin() as session:
        ledger.complete_if_done(session, campaign_id)
    if outcome.retry:
        log.warning(
            "campaign %s batch %s-%s: %s deliveries to retry (%s)",
            campaign_id,
            first_id,
            last_id,
            len(outcome.retry),
            outcome.error,
        )
        raise self.retry(countdown=_retry_delay(self.request.retries))
    return {"sent": outcome.sent, "failed": outcome.failed}


@celery_app.task(name="broadsheet.tick")
def tick() -> dict[str, int]:
    """The scheduler's periodic repair: free deliveries of vanished workers and re-enqueue
    the work of campaigns that stalled (their tasks lost with Redis). Idempotent."""
    res = resources()
    now = utcnow()
    with res.sessions.begin() as session:
        expired = ledger.expire_leases(session, now)
        stalled = ledger.campaigns_needing_work(session, now - STALL_AFTER)
    for campaign_id in stalled["unplanned"]:
        start_campaign.delay(campaign_id)
    for campaign_id in stalled["queued"]:
        enqueue_batches(campaign_id)
    return {"expired": expired, **{k: len(v) for k, v in stalled.items()}}


def _envelope_from(mail_from: str) -> str:
    return parseaddr(mail_from)[1]
