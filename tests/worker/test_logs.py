"""The worker's and beat's logs stay readable: Celery's lines about the routine tasks (the
tick every few seconds, the bounce poll every minute) are dropped; everything else passes."""

from __future__ import annotations

import logging
from collections.abc import Mapping

import pytest

from worker.logs import QuietRoutine


def record(
    logger: str,
    msg: str,
    args: tuple[object, ...] | Mapping[str, object],
    level: int = logging.INFO,
    **extra: object,
) -> logging.LogRecord:
    made = logging.LogRecord(logger, level, __file__, 1, msg, args, None)
    made.__dict__.update(extra)
    return made


@pytest.mark.parametrize("task", ["broadsheet.tick", "broadsheet.poll_bounces"])
def test_celery_lines_about_a_routine_task_are_dropped(task: str) -> None:
    quiet = QuietRoutine()
    received = {"name": task, "id": "abc"}
    assert not quiet.filter(
        record("celery.worker.strategy", "Task %(name)s", received, data=received)
    )
    assert not quiet.filter(record("celery.app.trace", "Task %(name)s ok", received, data=received))
    assert not quiet.filter(record("celery.beat", "Sending due task %s (%s)", ("tick", task)))


def test_other_tasks_and_every_warning_pass() -> None:
    quiet = QuietRoutine()
    batch = {"name": "broadsheet.send_batch", "id": "abc"}
    assert quiet.filter(record("celery.worker.strategy", "Task %(name)s", batch, data=batch))
    assert quiet.filter(record("celery.beat", "Sending due task %s (%s)", ("x", "broadsheet.x")))
    tick = {"name": "broadsheet.tick", "id": "abc"}
    failed = record("celery.app.trace", "Task %(name)s raised", tick, logging.ERROR, data=tick)
    assert quiet.filter(failed)
