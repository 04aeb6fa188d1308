"""`broadsheet status`: campaigns being sent, queues, workers, beat's last tick and the
warnings, with exit status 1 while a warning stands (for cron)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from broadsheet import health
from broadsheet.models import Delivery, Subscriber
from broadsheet.services.campaigns import start_send
from broadsheet.settings import PROJECT_ROOT
from tests.support.factories import add_readers, make_campaign
from worker.tasks import tick


def status() -> tuple[int, str]:
    done = subprocess.run(
        [sys.executable, "-m", "cli", "status"], cwd=PROJECT_ROOT, env=dict(os.environ),
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    return done.returncode, done.stdout + done.stderr


def test_status_lists_the_work_and_fails_while_beat_is_silent(committed, stack, celery_worker):
    client = stack["redis"].client()
    tick.delay()  # what beat sends; the worker runs it and notes the tick
    deadline = time.monotonic() + 20
    while client.get(health.TICK_KEY) is None:
        assert time.monotonic() < deadline, "the tick did not run"
        time.sleep(0.1)
    campaign = make_campaign(committed, "Autumn issue")  # its subject is the title
    start_send(committed, campaign.id)  # sending, after the tick
    # Planned, its one delivery waiting for a retry an hour away: a task that comes for the
    # campaign anyway (a start or a batch of an earlier test's campaign of the same id, which
    # SQLite hands out again) finds nothing to send and cannot finish it.
    add_readers(committed, 1)
    reader = committed.scalar(select(Subscriber.id))
    later = datetime.now(UTC) + timedelta(hours=1)
    committed.add(Delivery(campaign_id=campaign.id, subscriber_id=reader, next_attempt_at=later))
    campaign.planned_at = datetime.now(UTC)
    committed.commit()

    code, out = status()
    assert code == 0, out
    assert f"#{campaign.id} 'Autumn issue'" in out
    assert "Workers: 1" in out and "Beat's last tick: " in out and "s ago" in out
    assert "Warnings: none" in out

    client.delete(health.TICK_KEY)
    code, out = status()
    assert code == 1, out
    assert "The scheduler (beat) has not ticked yet" in out
