"""The outbox under faults, with real processes: sweeping pool processes killed with SIGKILL,
Redis restarted empty mid-sweep. Checked at the SMTP server: no reader gets two
confirmations, and every reader gets one except those the outbox reports `unknown` (at most
one per killed connection)."""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from typing import TypedDict

from sqlalchemy import func, select

from broadsheet.models import OutboxMessage, OutboxStatus, Subscriber
from broadsheet.services import outbox_queue
from broadsheet.services.subscriptions import request_subscription
from tests.support.factories import sign_up
from tests.support.services import FAST_RECOVERY, CeleryBeat, TestRedis, make_tempdir
from worker.tasks import wake_sweep

OPEN = (OutboxStatus.PENDING, OutboxStatus.SENDING)


def owe_many(session, client, count: int, prefix: str) -> None:
    """`count` signups committed at once (a burst the sweep has to work through), one ask."""
    for n in range(count):
        reader = request_subscription(session, f"{prefix}{n}@example.org").subscriber_id
        outbox_queue.queue_confirmation(session, reader)
    session.commit()
    wake_sweep(client)


def wait_until_swept(session, timeout: float, worker) -> None:
    deadline = time.monotonic() + timeout
    query = select(func.count()).where(OutboxMessage.status.in_(OPEN))
    while session.scalar(query):
        session.rollback()  # on SQLite an open read holds the write lock the worker needs
        assert time.monotonic() < deadline, f"outbox not swept in {timeout}s\n{worker.log()}"
        time.sleep(0.25)
    session.rollback()


class Audit(TypedDict):
    """What the relay received against what the outbox says (`audit`)."""

    readers: int
    duplicates: list[str]
    missing_not_unknown: set[str]
    unknown: set[str]
    statuses: Counter[str]


def audit(session, smtp) -> Audit:
    rows = session.execute(
        select(Subscriber.email_key, OutboxMessage.status).join(
            OutboxMessage, OutboxMessage.subscriber_id == Subscriber.id
        )
    ).all()
    session.rollback()
    received = Counter(r for m in smtp.messages for r in m.rcpt_tos)
    unknown = {email for email, status in rows if status == OutboxStatus.UNKNOWN}
    missing = {email for email, _ in rows if received[email] == 0}
    report: Audit = {
        "readers": len(rows),
        "duplicates": sorted(e for e, n in received.items() if n > 1),
        "missing_not_unknown": missing - unknown,
        "unknown": unknown,
        "statuses": Counter(status.value for _, status in rows),
    }
    print(f"\n{report}")
    return report


def test_sweeping_processes_killed_twice(committed, smtp, celery_worker, stack):
    celery_worker.restart(SEND_RATE="150", **FAST_RECOVERY)
    beat = CeleryBeat({**celery_worker.env}, stack["workdir"])
    beat.start()
    client = stack["redis"].client()
    try:
        owe_many(committed, client, 450, "burst")
        kills = 0
        for progress in (100, 250):
            smtp.wait_for(progress, timeout=60)
            for pid in celery_worker.children():
                os.kill(pid, signal.SIGKILL)  # a pool process dies mid-sweep
                kills += 1
        for n in range(30):  # readers who sign up after the faults are mailed as usual
            sign_up(committed, client, f"later{n}@example.org")
        wait_until_swept(committed, 90, celery_worker)
    finally:
        beat.stop()
        celery_worker.restart()
    report = audit(committed, smtp)
    assert report["readers"] == 480
    assert report["duplicates"] == [], "a reader received two confirmations"
    assert report["missing_not_unknown"] == set(), "a confirmation was lost without a trace"
    assert len(report["unknown"]) <= kills
    assert report["statuses"]["sent"] >= 480 - kills


def test_redis_restarted_empty_mid_sweep(committed, smtp, celery_worker, stack):
    """The sweep's task, the ask for the next one and the rate limiter's state are gone: the
    sweep gives its rows back, and the tick finds them due and asks for a sweep again."""
    own = TestRedis(make_tempdir())
    own.embedded, own.url = True, f"unix://{own.socket}"
    own.start()
    celery_worker.restart(**{**FAST_RECOVERY, "REDIS_URL": own.url, "SEND_RATE": "150"})
    beat = CeleryBeat({**celery_worker.env}, stack["workdir"])
    beat.start()
    try:
        owe_many(committed, own.client(), 400, "burst")
        smtp.wait_for(100, timeout=60)
        assert own.proc is not None
        own.proc.kill()
        own.proc.wait(10)
        own.start()
        wait_until_swept(committed, 90, celery_worker)
    finally:
        beat.stop()
        celery_worker.restart()
        own.stop()
    report = audit(committed, smtp)
    assert report["duplicates"] == [], "a reader received two confirmations"
    assert report["missing_not_unknown"] == set(), "a confirmation was lost without a trace"
    assert report["statuses"] == {"sent": 400}
