"""The worker's and beat's logs: one JSON object a line with LOG_FORMAT=json, carrying the
task's id and, for a campaign's tasks, its campaign's (broadsheet/logformat.py).

Routine tasks stay quiet: the tick (every TICK_SECONDS) and the bounce poll (every minute)
would fill the worker's and beat's logs with lines saying they ran. Celery's "sending due
task", "received" and "succeeded" lines are dropped for them; each logs a line of its own
when it did something."""

from __future__ import annotations

import logging
from typing import Any

from celery import current_task, signals

from broadsheet.logformat import JsonFormatter, use_json
from broadsheet.settings import load_settings

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


class TaskJsonFormatter(JsonFormatter):
    """JSON lines that name the task they were logged in (Celery's current task)."""

    def ids(self, record: logging.LogRecord) -> dict[str, object]:
        request = getattr(current_task, "request", None) if current_task else None
        task_id = getattr(request, "id", None)
        return {"task_id": task_id} if task_id else {}


@signals.after_setup_logger.connect
@signals.after_setup_task_logger.connect
def _json_lines(logger: logging.Logger | None = None, **_: Any) -> None:
    if logger is not None and load_settings().log_format == "json":
        use_json(logger, TaskJsonFormatter())
