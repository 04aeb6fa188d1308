"""Routine tasks stay quiet: the tick (every TICK_SECONDS) and the bounce poll (every minute)
would fill the worker's and beat's logs with lines saying they ran. Celery's "sending due
task", "received" and "succeeded" lines are dropped for them; each logs a line of its own
when it did something."""

from __future__ import annotations

import logging

from celery import signals

ROUTINE = frozenset({"broadsheet.tick", "broadsheet.poll_bounces"})
# The loggers of beat's "Sending due task", the worker's "received" and the trace's
# "succeeded" lines.
CELERY_LOGGERS = ("celery.beat", "celery.worker.strategy", "celery.app.trace")


class QuietRoutine(logging.Filter):
    """Drops the INFO lines Celery logs about a routine task; warnings and errors pass."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.INFO:
            return True
        data = getattr(record, "data", None)  # the worker's lines carry the task's context
        if isinstance(data, dict):
            return data.get("name") not in ROUTINE
        args = record.args if isinstance(record.args, tuple) else ()
        return not (len(args) == 2 and args[1] in ROUTINE)  # beat: (entry name, task name)


@signals.after_setup_logger.connect
def _quiet_routine_tasks(**_: object) -> None:
    for name in CELERY_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, QuietRoutine) for f in logger.filters):
            logger.addFilter(QuietRoutine())
