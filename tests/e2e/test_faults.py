"""Exactly once under faults, with real processes: workers killed with SIGKILL, Redis
restarted, a relay that refuses some readers for a while or stops answering mid-message.

Each test checks at the SMTP server: nobody received the issue twice, and everybody received
it once except deliveries the ledger reports as `unknown` (at most one per killed connection).
"""

from __future__ import annotations

import os
import random
import signal
import time
from collections import Counter
from contextlib import contextmanager
from typing import TypedDict

import pytest
from sqlalchemy import select

from broadsheet.models import Campaign, Delivery, DeliveryStatus, Subscriber
from broadsheet.services.articles import create_article
from broadsheet.services.campaigns import create_campaign, start_send
from tests.support.factories import add_readers
from tests.support.services import FAST_RECOVERY, CeleryBeat, TestRedis, make_tempdir
from worker.tasks import start_campaign


@contextmanager
def ticking(celery_worker, stack, **env: str):
    """The worker with `env` added and a real beat beside it; then the original worker."""
    celery_worker.restart(**env)
    beat = CeleryBeat({**celery_worker.env}, stack["workdir"])
    beat.start()
    try:
        yield beat
    finally:
        beat.stop()
        celery_worker.restart()


@pytest.fixture
def faulty(celery_worker, stack):
    """The worker and a real beat (ticking every second), with short leases and retries."""
    with ticking(celery_worker, stack, SEND_RATE="400", **FAST_RECOVERY) as beat:
        yield celery_worker, beat


def launch(session) -> int:
    """Start a campaign without enqueueing: beat's tick finds it unplanned and starts it, so
    the test process never needs the broker (which some tests replace)."""
    article = create_article(session, title="Under Fire", body_markdown="Steady as she goes.")
    campaign = start_send(session, create_campaign(session, article.id).id)
    session.commit()
    return campaign.id


def wait_until_sent(session, campaign_id: int, timeout: float, worker) -> None:
    deadline = time.monotonic() + timeout
    while session.scalar(select(Campaign.status).where(Campaign.id == campaign_id)) != "sent":
        session.rollback()  # end the transaction: on SQLite it holds the write lock
        assert time.monotonic() < deadline, f"campaign not sent in {timeout}s\n{worker.log()}"
        time.sleep(0.25)
    session.rollback()


class Audit(TypedDict):
    """What the relay received against what the ledger says (`audit`)."""

    readers: int
    duplicates: list[str]
    missing: set[str]
    missing_not_unknown: set[str]
    unknown: set[str]
    statuses: Counter[str]


def audit(session, smtp, campaign_id: int) -> Audit:
    """Compare what the relay received with what the ledger says."""
    rows = session.execute(
        select(Subscriber.email_key, Delivery.status)
        .join(Delivery, Delivery.subscriber_id == Subscriber.id)
        .where(Delivery.campaign_id == campaign_id)
    ).all()
    received = Counter(r for m in smtp.messages for r in m.rcpt_tos)
    unknown = {email for email, status in rows if status == DeliveryStatus.UNKNOWN}
    missing = {email for email, _ in rows if received[email] == 0}
    return {
        "readers": len(rows),
        "duplicates": sorted(e for e, n in received.items() if n > 1),
        "missing": missing,
        "missing_not_unknown": missing - unknown,
        "unknown": unknown,
        "statuses": Counter(status.value for _, status in rows),
    }


def assert_exactly_once(report: Audit, unknown_at_most: int) -> None:
    print(
        f"\nreaders {report['readers']}, duplicates {len(report['duplicates'])}, "
        f"missing {len(report['missing'])} (unknown {len(report['unknown'])}), "
        f"ledger {dict(report['statuses'])}"
    )
    assert report["duplicates"] == [], "a reader received the issue twice"
    assert report["missing_not_unknown"] == set(), "a reader was lost without a trace"
    assert len(report["unknown"]) <= unknown_at_most


def test_pool_processes_killed_three_times(committed, smtp, faulty):
    worker, _ = faulty
    add_readers(committed, 2000)
    campaign_id = launch(committed)
    kills = 0
    for progress in (300, 800, 1300):
        smtp.wait_for(progress, timeout=60)
        for pid in worker.children():
            os.kill(pid, signal.SIGKILL)  # a worker process dies mid-batch
            kills += 1
    wait_until_sent(committed, campaign_id, 180, worker)
    assert_exactly_once(audit(committed, smtp, campaign_id), unknown_at_most=kills)


def test_whole_worker_killed_and_replaced(committed, smtp, faulty):
    worker, _ = faulty
    add_readers(committed, 800)
    campaign_id = launch(committed)
    smtp.wait_for(200, timeout=60)
    worker.kill()  # the host vanished: nothing acks, nothing cleans
    worker.start()  # another machine's worker carries on; beat settles the expired claims
    wait_until_sent(committed, campaign_id, 180, worker)
    assert_exactly_once(audit(committed, smtp, campaign_id), unknown_at_most=2)


def restart_redis_mid_send(
    committed, smtp, celery_worker, stack, *, readers: int, after: int, within: float, **env
) -> int:
    """Send to `readers` through the worker and beat on a private Redis (one we may kill,
    whatever TEST_REDIS_URL is), kill it once `after` messages arrived and start it again
    empty, and wait for the campaign to be sent within `within` seconds."""
    own = TestRedis(make_tempdir())
    own.embedded, own.url = True, f"unix://{own.socket}"
    own.start()
    celery_worker.restart(**{**FAST_RECOVERY, "REDIS_URL": own.url, **env})
    beat = CeleryBeat({**celery_worker.env}, stack["workdir"])
    beat.start()
    try:
        add_readers(committed, readers)
        campaign_id = launch(committed)
        smtp.wait_for(after, timeout=60)
        assert own.proc is not None
        own.proc.kill()  # queued tasks, unacked tasks and the rate limiter's state are gone
        own.proc.wait(10)
        own.start()
        wait_until_sent(committed, campaign_id, within, celery_worker)
    finally:
        beat.stop()
        celery_worker.restart()
        own.stop()
    return campaign_id


def test_redis_restart_mid_send(committed, smtp, celery_worker, stack):
    campaign_id = restart_redis_mid_send(
        committed, smtp, celery_worker, stack, readers=1000, after=300, within=180, SEND_RATE="300"
    )
    assert_exactly_once(audit(committed, smtp, campaign_id), unknown_at_most=0)


def test_a_redis_restart_is_noticed_at_the_next_tick(committed, smtp, celery_worker, stack):
    """Not after STALL_AFTER (an hour here): the tick finds its marker gone with the data."""
    campaign_id = restart_redis_mid_send(
        committed, smtp, celery_worker, stack, readers=600, after=150, within=60,
        SEND_RATE="200", STALL_AFTER="3600",
    )  # fmt: skip
    assert_exactly_once(audit(committed, smtp, campaign_id), unknown_at_most=0)


def test_a_slow_live_worker_is_never_overtaken(committed, smtp, celery_worker, stack):
    """A relay that takes longer than CLAIM_LEASE to answer one message: the batch's lease
    is renewed by its own timer meanwhile, so the tick never settles the claim, and the
    slow message ends `sent`, not `unknown`."""
    env = {**FAST_RECOVERY, "SEND_RATE": "400", "CLAIM_LEASE": "2", "SMTP_TIMEOUT": "20"}
    celery_worker.restart(**env)
    beat = CeleryBeat({**celery_worker.env}, stack["workdir"])
    beat.start()
    slow = "reader10@example.org"
    smtp.stall_data = lambda rcpt: 6.0 if rcpt == slow else 0.0  # three leases long
    try:
        add_readers(committed, 60)
        campaign_id = launch(committed)
        wait_until_sent(committed, campaign_id, 60, celery_worker)
    finally:
        beat.stop()
        celery_worker.restart()
    report = audit(committed, smtp, campaign_id)
    assert_exactly_once(report, unknown_at_most=0)
    assert len(smtp.to(slow)) == 1
    assert report["statuses"] == {"sent": 60}


def test_relay_tempfails_one_reader_in_ten(committed, smtp, faulty):
    worker, _ = faulty
    refused_once: set[str] = set()
    chance = random.Random(7)

    def busy(rcpt: str) -> str | None:
        if rcpt not in refused_once and chance.random() < 0.10:
            refused_once.add(rcpt)
            return "451 4.3.2 please try again later"
        return None

    smtp.rcpt_rule = busy
    add_readers(committed, 1000)
    campaign_id = launch(committed)
    wait_until_sent(committed, campaign_id, 180, worker)
    report = audit(committed, smtp, campaign_id)
    assert_exactly_once(report, unknown_at_most=0)
    assert len(refused_once) > 50, "the fault was not injected"
    assert report["statuses"] == Counter({"sent": 1000})


def test_relay_that_stops_answering(committed, smtp, faulty):
    worker, _ = faulty
    add_readers(committed, 300)
    # Stall past SMTP_TIMEOUT (2 s), once each: before the message (nothing delivered, so it
    # is retried) and after it (the relay kept it; the client cannot know: `unknown`).
    before, after = {"reader40@example.org"}, {"reader140@example.org", "reader240@example.org"}
    stalled: set[str] = set()

    def stall(targets: set[str]):
        def delay(rcpt: str) -> float:
            if rcpt in targets and rcpt not in stalled:
                stalled.add(rcpt)
                return 4.0
            return 0.0

        return delay

    smtp.stall_rcpt, smtp.stall_data = stall(before), stall(after)
    campaign_id = launch(committed)
    wait_until_sent(committed, campaign_id, 180, worker)
    report = audit(committed, smtp, campaign_id)
    assert_exactly_once(report, unknown_at_most=2)
    assert report["unknown"] == after, "a message whose answer never came must be `unknown`"
    assert stalled == before | after


def test_a_retry_whose_task_died_with_its_worker_is_sent_a_few_ticks_later(
    committed, smtp, celery_worker, stack
):
    """Two readers are refused 451 once: their rows wait in the ledger for their retry time,
    and the task that was to retry them (a countdown the worker holds) dies with the whole
    worker. The tick sends them a few ticks after that time, not after STALL_AFTER (an hour
    here), although nothing else of the campaign is left to show progress or a stall."""
    refused: set[str] = set()

    def busy(rcpt: str) -> str | None:
        if rcpt in {"reader5@example.org", "reader15@example.org"} and rcpt not in refused:
            refused.add(rcpt)
            return "451 4.3.2 please try again later"
        return None

    smtp.rcpt_rule = busy
    env = {**FAST_RECOVERY, "SEND_RATE": "400", "RETRY_DELAYS": "3", "STALL_AFTER": "3600"}
    with ticking(celery_worker, stack, **env):
        offset = celery_worker.logfile.stat().st_size
        add_readers(committed, 20)
        campaign_id = launch(committed)
        start_campaign.delay(campaign_id)  # the tick would start it only after STALL_AFTER
        smtp.wait_for(18, timeout=30)
        deadline = time.monotonic() + 30
        while b"retry in" not in celery_worker.logfile.read_bytes()[offset:]:
            assert time.monotonic() < deadline, celery_worker.log()
            time.sleep(0.1)
        time.sleep(0.5)  # the retry's countdown message reaches the worker, which holds it
        celery_worker.kill()
        celery_worker.start()
        wait_until_sent(committed, campaign_id, 30, celery_worker)
    report = audit(committed, smtp, campaign_id)
    assert_exactly_once(report, unknown_at_most=0)
    assert refused == {"reader5@example.org", "reader15@example.org"}
    assert report["statuses"] == Counter({"sent": 20})
