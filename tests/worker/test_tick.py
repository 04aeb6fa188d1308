"""The tick's log says something only when it did something: a fresh install's first tick
(Redis has no marker yet, nothing is sending) is silent, and one that must enqueue sends
again after Redis lost its data says so once."""

from __future__ import annotations

import logging

from tests.support.factories import add_readers, campaign_in
from worker import tasks


def ticked(stack, caplog) -> list[logging.LogRecord]:
    stack["redis"].client().delete(tasks.BROKER_MARKER)  # as on a fresh or emptied Redis
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="worker.tasks"):
        tasks.tick()
    return [r for r in caplog.records if r.name == "worker.tasks"]


def test_a_fresh_install_ticks_silently(committed, stack, caplog):
    assert ticked(stack, caplog) == []
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="worker.tasks"):
        tasks.tick()  # the marker is there now: an ordinary quiet tick
    assert [r for r in caplog.records if r.name == "worker.tasks"] == []


def test_a_send_whose_tasks_redis_lost_is_enqueued_again_and_said_once(committed, stack, caplog):
    add_readers(committed, 3)
    campaign_in(committed, "sending")  # planned, its batch tasks nowhere
    committed.commit()
    records = ticked(stack, caplog)
    warnings = [r.getMessage() for r in records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "Redis came back without its queued tasks" in warnings[0]
    assert any(r.getMessage().startswith("tick: {") for r in records)
