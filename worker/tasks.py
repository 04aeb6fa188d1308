"""Celery tasks: thin wrappers that parse ids, open one transaction, call the domain, decide retry.

Names are explicit and stable (`broadsheet.*`) because queued messages outlive deployments.
Arguments are JSON ids only; every task re-reads the database, so a redelivery is harmless.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import Counter
from datetime import timedelta
from email.utils import parseaddr
from typing import Any, TypedDict

import redis
from celery import Task

from broadsheet.mail.checks import links_in
from broadsheet.mail.link_report import BROKEN, NOT_CHECKED
from broadsheet.mail.preview import message_for_test
from broadsheet.models import Campaign, CampaignStatus, utcnow
from broadsheet.services import campaigns, ledger, progress, reader_imports, samples
from broadsheet.services.engagement_report import recount_engagement
from broadsheet.services.upkeep import run_upkeep
from worker import heartbeat, smtp
from worker.app import celery_app
from worker.batch import send_range
from worker.links import check_links
from worker.resources import Resources, resources
from worker.sweep import sweep_due

log = logging.getLogger(__name__)

# Set in Redis by the tick; its absence means Redis lost its data, and the queued tasks too.
BROKER_MARKER = "broadsheet:broker-marker"
# A sweep of the outbox was asked for and has not started (see wake_sweep), and one was
# scheduled for rows waiting on a retry time.
WAKE_KEY, WAKE_EXPIRY = "broadsheet:outbox-wake", 10
# A sweep starts this long after the first ask: the signups of that moment share its
# connection instead of each burst of a few paying for a connection and a task of its own.
GATHER_SECONDS = 0.5
# After its own ask, a process does not ask again for this long: that sweep cannot have
# started yet, so it will see what commits meanwhile (half of GATHER_SECONDS, a margin
# for clocks). At 200 signups/s that spares about half of them a Redis round trip.
ASK_AGAIN_AFTER = GATHER_SECONDS / 2
_asked_at = float("-inf")  # time.monotonic() of this process's last ask that enqueued
RETRY_KEY = "broadsheet:outbox-retry"
# A row still queued this many ticks after its retry time has no live task to send it (a
# task retrying it runs within a second of that time, unless every worker is busy): the
# tick sends it again.
OVERDUE_TICKS = 2


@celery_app.task(name="broadsheet.sweep_outbox", bind=True)
def sweep_outbox(self: Task[Any, Any], scheduled: bool = False) -> dict[str, int]:
    """Send the outbox's due mail (confirmations) over one connection (worker/sweep.py).

    Asked for by `wake_sweep` after a signup commits, by the tick when rows are due, and by
    itself when rows wait for a retry. Idempotent: only pending rows are claimed, so extra
    sweeps find nothing; what a dead sweep held is settled by the tick once its lease runs out.
    """
    res = resources()
    try:  # from now on, a new signup asks for a sweep of its own (see wake_sweep)
        res.redis.delete(WAKE_KEY, *([RETRY_KEY] if scheduled else []))
    except redis.RedisError as exc:
        log.warning("could not clear the sweep request: %s", exc)
    outcome = sweep_due(res, f"{self.request.id}:{uuid.uuid4().hex[:12]}")
    if outcome.more:
        try:
            wake_sweep(res.redis)
        except redis.RedisError as exc:
            log.warning("could not ask for the next sweep (the tick will): %s", exc)
    elif outcome.retry_at is not None:
        wait = max(1.0, (outcome.retry_at - utcnow()).total_seconds())
        if outcome.error:
            log.info("outbox: sweeping again in %.0fs after %s", wait, outcome.error)
        _sweep_later(res.redis, wait)
    return outcome.counts()


def forget_asking() -> None:
    """The next `wake_sweep` asks Redis whatever this process asked before (for a caller
    that just removed the wake key and the queued tasks, as the tests do between tests)."""
    global _asked_at
    _asked_at = float("-inf")


def wake_sweep(client: redis.Redis) -> bool:
    """Ask for a sweep, `GATHER_SECONDS` from now. One sweep task is queued however many ask
    before it starts: the first asker sets the key and enqueues, the sweep clears the key as
    it begins, so a row committed before any ask is seen by a sweep that starts after it.
    The key expires, so an enqueue lost after the key was set does not block later asks."""
    global _asked_at
    if time.monotonic() - _asked_at < ASK_AGAIN_AFTER:
        return False
    if not client.set(WAKE_KEY, utcnow().isoformat(), nx=True, ex=WAKE_EXPIRY):
        return False
    sweep_outbox.apply_async(countdown=GATHER_SECONDS)
    _asked_at = time.monotonic()
    return True


def _sweep_later(client: redis.Redis, wait: float) -> None:
    """One delayed sweep at a time for rows waiting on a retry time; it clears the key as it
    starts (the expiry, and the tick, are the safety net if it is lost)."""
    try:
        if client.set(RETRY_KEY, utcnow().isoformat(), nx=True, ex=int(wait) + WAKE_EXPIRY):
            sweep_outbox.apply_async(kwargs={"scheduled": True}, countdown=wait)
    except redis.RedisError as exc:
        log.warning("could not schedule the next sweep (the tick will): %s", exc)


class AddressResult(TypedDict):
    """What the relay said to a test message for one address."""

    address: str
    ok: bool
    reply: str


@celery_app.task(name="broadsheet.send_test")
def send_test(campaign_id: int, addresses: list[str], requested_by: str) -> list[AddressResult]:
    """Send the campaign's message, marked "[Test]", to each address (any address, not only
    readers), one connection each through the single-message path, and keep what the relay
    said on the campaign (`test_report`) for its page. Nothing goes in the ledger.

    Not retried: the editor sees each outcome and may send again. A redelivered task (the
    worker died mid-way) sends the test again, which is harmless for a test.
    """
    res = resources()
    with res.sessions.begin() as session:
        campaign = session.get(Campaign, campaign_id)
        if campaign is None:
            return []
        campaigns.prepare(session, campaign, res.settings)
        messages = [(a, message_for_test(campaign, res.settings, a)) for a in addresses]
    envelope_from = parseaddr(res.settings.mail_from)[1]
    results: list[AddressResult] = []
    for address, message in messages:
        res.throttle.wait(res.settings.smtp)
        try:
            reply = smtp.send_one(
                res.settings.smtp, envelope_from, address, message,
                timeout=res.settings.smtp_timeout,
            )  # fmt: skip
            results.append({"address": address, "ok": True, "reply": reply})
        except smtp.Rejected as exc:
            results.append({"address": address, "ok": False, "reply": exc.reply})
        except smtp.Lost as exc:
            results.append({"address": address, "ok": False, "reply": f"not sent: {exc}"})
    log.info("campaign %s: test sent for %s: %s", campaign_id, requested_by, results)
    with res.sessions.begin() as session:
        campaign = session.get(Campaign, campaign_id)
        if campaign is not None:
            report = {"at": utcnow().isoformat(), "by": requested_by, "results": results}
            campaign.test_report = report
    return results


@celery_app.task(name="broadsheet.start_campaign")
def start_campaign(campaign_id: int) -> int:
    """Freeze the campaign's audience (a segment's rules as they are now), render it once,
    plan a delivery per reader of it, enqueue the batches.

    Idempotent: planning adds only missing rows and batches claim only queued rows, so running
    it twice sends nobody twice. Not retried; the scheduler's tick re-runs a stalled start.
    """
    res = resources()
    with res.sessions.begin() as session:
        campaign = session.get(Campaign, campaign_id)
        if campaign is None or campaign.status != CampaignStatus.SENDING:
            return 0
        campaigns.freeze_audience(session, campaign, res.settings)
        campaigns.prepare(session, campaign, res.settings)
        postgresql = session.get_bind().dialect.name == "postgresql"
        parts = ledger.PLAN_PARTS_POSTGRESQL if postgresql else 1
        planned = ledger.plan_deliveries(session, campaign) if parts == 1 else 0
    if parts > 1:  # the rendering is committed; the parts commit one by one
        planned = ledger.plan_in_parts(res.sessions, campaign_id, parts)
    log.info("campaign %s: planned %s deliveries", campaign_id, planned)
    enqueued = enqueue_batches(campaign_id)
    with res.sessions.begin() as session:  # once the first batches are on their way
        progress.keep(session, [campaign_id])
    return enqueued


def enqueue_batches(campaign_id: int) -> int:
    """One send_batch task per BATCH_SIZE queued deliveries; completes an empty campaign."""
    res = resources()
    done = 0
    with res.sessions.begin() as session:
        ranges = list(ledger.batch_ranges(session, campaign_id, res.settings.batch_size))
        if not ranges:
            done = ledger.complete_if_done(
                session, campaign_id, notify_admins=res.settings.notify_admins
            )
    if done and res.settings.notify_admins:
        _wake_for_reports(res, campaign_id)
    for first_id, last_id in ranges:
        send_batch.delay(campaign_id, first_id, last_id)
    return len(ranges)


def _wake_for_reports(res: Resources, campaign_id: int) -> None:
    """Reports to admins were owed with the campaign's new status: a sweep sends them now
    (else the next tick asks for one)."""
    try:
        wake_sweep(res.redis)
    except redis.RedisError as exc:
        log.warning(
            "campaign %s: could not ask for a sweep of its reports (the tick will): %s",
            campaign_id, exc, extra={"campaign_id": campaign_id},
        )  # fmt: skip


@celery_app.task(name="broadsheet.send_batch", bind=True, max_retries=None)
def send_batch(
    self: Task[Any, Any], campaign_id: int, first_id: int, last_id: int
) -> dict[str, int]:
    """Send the due, queued deliveries with ids in [first_id, last_id] over one connection.

    Idempotent: only queued rows are claimed, so a duplicate or redelivered task sends nobody
    twice; what a dead run held is settled by the tick once its lease runs out. Rows that
    failed temporarily wait in the ledger (`next_attempt_at`) and the task retries when the
    first is due; each row gives up after RETRY_DELAYS or RETRY_MAX_AGE.
    """
    res = resources()
    # A key of its own for every run: a redelivered or retried message keeps its task id, and
    # a second run must never act on rows the first (perhaps still alive) holds.
    claim_key = f"{self.request.id}:{uuid.uuid4().hex[:12]}"
    outcome = send_range(res, campaign_id, first_id, last_id, claim_key)
    with res.sessions.begin() as session:
        # Only a batch that failed some rows can push the campaign over its failure limit.
        done = ledger.complete_if_done(
            session, campaign_id, notify_admins=res.settings.notify_admins
        )
        reason = None
        if not done and (outcome.failed or outcome.unknown):
            reason = campaigns.pause_if_failing(
                session,
                campaign_id,
                rate=res.settings.pause_failure_rate,
                after=res.settings.pause_after_attempts,
                notify_admins=res.settings.notify_admins,
            )
    if (done or reason) and res.settings.notify_admins:
        _wake_for_reports(res, campaign_id)
    if reason:
        log.warning(
            "campaign %s paused: %s", campaign_id, reason, extra={"campaign_id": campaign_id}
        )
        return outcome.counts()
    if outcome.retry_at is not None and not outcome.stopped:
        wait = max(1.0, (outcome.retry_at - utcnow()).total_seconds())
        log.info(
            "campaign %s batch %s-%s: retry in %.0fs after %s",
            campaign_id, first_id, last_id, wait,
            outcome.error or "rows of this range waiting for their retry time",
        )  # fmt: skip
        raise self.retry(countdown=wait)
    return outcome.counts()


@celery_app.task(name="broadsheet.tick")
def tick() -> dict[str, int]:
    """The scheduler's periodic upkeep (broadsheet.services.upkeep): start scheduled campaigns
    that are due, settle the claims of vanished workers and send their unsent rows at once,
    send rows still queued `OVERDUE_TICKS` ticks after their retry time (the task retrying
    them is gone), and re-enqueue the work of campaigns that stalled; then
    count large sending campaigns again (broadsheet.services.progress) and sample the pace
    of sending ones (broadsheet.services.samples), and count again the engagement of
    campaigns with many hits and new ones (broadsheet.services.engagement_kept). Idempotent: the
    decisions are made in one transaction and only enqueued after it commits; a duplicate
    task finds nothing to claim."""
    res = resources()
    tasks_lost = _broker_lost_its_state(res)
    with res.sessions.begin() as session:
        upkeep = run_upkeep(
            session,
            utcnow(),
            stall_after=timedelta(seconds=res.settings.stall_after),
            batch_size=res.settings.batch_size,
            overdue_after=timedelta(seconds=OVERDUE_TICKS * res.settings.tick_seconds),
            tasks_lost=tasks_lost,
            notify_admins=res.settings.notify_admins,
        )
    for campaign_id, first_id, last_id in upkeep.batches:
        send_batch.delay(campaign_id, first_id, last_id)
    for campaign_id in upkeep.plan:
        log.info("campaign %s: starting (scheduled time reached, or planning stalled)", campaign_id)
        start_campaign.delay(campaign_id)
    for import_id in upkeep.imports:
        log.warning("import %s: its run was lost; running it again", import_id)
        run_import.delay(import_id)
    if upkeep.sweep:
        wake_sweep(res.redis)
    # Apart, after the rest: counting a large campaign takes a while (about 300 ms at a
    # million), and the transaction above holds locks that finishing batches wait for.
    with res.sessions.begin() as session:
        recounted = progress.recount(session)
        samples.take_samples(session, utcnow())
    with res.sessions.begin() as session:  # its own: it locks only engagement_reports rows
        engaged = recount_engagement(session, utcnow())
    if tasks_lost and (upkeep.batches or upkeep.plan):
        log.warning(
            "Redis came back without its queued tasks (restarted or flushed): %s batches and "
            "%s plannings enqueued again", len(upkeep.batches), len(upkeep.plan),
        )  # fmt: skip
    counts = {name: n for name, n in upkeep.counts().items() if n}
    if counts:  # a tick that found nothing to do says nothing (see worker/logs.py)
        log.info("tick: %s", counts)
    heartbeat.ticked(res.redis)  # a tick that got this far (the overview's "beat's last tick")
    return {**upkeep.counts(), "recounted": len(recounted), "engagement_recounted": len(engaged)}


def _broker_lost_its_state(res: Resources) -> bool:
    """True once after Redis came back without its data (a restart without persistence, a
    flush), and on the very first tick: the marker this sets is gone then. Queued tasks went
    with it, so the tick enqueues the sends again at once instead of after STALL_AFTER; when
    nothing was lost (a first tick), the extra batches find nothing to claim."""
    return bool(res.redis.set(BROKER_MARKER, utcnow().isoformat(), nx=True))


@celery_app.task(name="broadsheet.run_import")
def run_import(import_id: int) -> str:
    """Do what a readers' import started in the admin waits for: its dry run, or (once
    confirmed) its import, a batch committed at a time (broadsheet.services.reader_imports).

    Idempotent: a run takes the job with a lease, so a duplicate finds it taken and does
    nothing; a run that dies is freed by the tick and taken up after its last committed line.
    Not retried by Celery: the tick is the retry."""
    res = resources()
    outcome = reader_imports.work(res.sessions, import_id, res.settings.secret_key)
    log.info("import %s: %s", import_id, outcome)
    return outcome


@celery_app.task(name="broadsheet.resume_campaign")
def resume_campaign(campaign_id: int) -> int:
    """Enqueue batches for a campaign's queued rows (after resume or retry-failed).
    Idempotent: extra batches find nothing to claim."""
    return enqueue_batches(campaign_id)


@celery_app.task(name="broadsheet.check_links")
def check_campaign_links(campaign_id: int) -> int:
    """Ask every link of a campaign's email whether it works (HEAD requests from this worker
    host to public addresses only, outside any transaction; worker/links.py) and store the
    report on the campaign for the pre-send checks; renders the campaign first if it was not
    yet. Returns how many links were asked.
    Idempotent: a re-run replaces the report. Not retried: an editor runs it again."""
    res = resources()
    with res.sessions.begin() as session:
        campaign = session.get(Campaign, campaign_id)
        if campaign is None:
            return 0
        campaigns.prepare(session, campaign, res.settings)
        urls = links_in(campaign.rendered_html or "", public_url=res.settings.public_url)
    report = check_links(urls)
    with res.sessions.begin() as session:
        campaigns.record_link_report(session, campaign_id, report)
    outcomes = Counter(result["outcome"] for result in report["results"])
    log.info(
        "campaign %s: link check of %s links: %s",
        campaign_id, len(urls),
        report["skipped"] or f"{outcomes[BROKEN]} broken, {outcomes[NOT_CHECKED]} not checked",
    )  # fmt: skip
    return len(urls)
