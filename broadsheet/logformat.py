"""LOG_FORMAT=json: one JSON object a line, for a log collector to read without patterns.

Each line carries time, level, logger, message and process, and the ids a line is about
where they are known: `campaign_id`, `delivery_id`, `subscriber_id` and `task_id`, given
with `extra=` at the call, or set for the duration of a task (`context`, worker/logs.py).
"""

from __future__ import annotations

import contextvars
import json
import logging
from datetime import UTC, datetime
from typing import Any

IDS = ("campaign_id", "delivery_id", "subscriber_id", "task_id")

# Ids that hold for everything logged meanwhile (a task's id and its campaign's).
context: contextvars.ContextVar[dict[str, object] | None] = contextvars.ContextVar(
    "broadsheet_log_context", default=None
)


class JsonFormatter(logging.Formatter):
    """A record as one line of JSON (a formatter for any handler: stdlib, Celery, gunicorn)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.process,
        }
        line.update(context.get() or {})
        line.update(self.ids(record))
        for name in IDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)

    def ids(self, record: logging.LogRecord) -> dict[str, object]:
        """Ids a subclass knows from elsewhere (the worker: Celery's current task)."""
        return {}


def use_json(logger: logging.Logger, formatter: logging.Formatter | None = None) -> None:
    """Give every handler of `logger` the JSON formatter."""
    for handler in logger.handlers:
        handler.setFormatter(formatter or JsonFormatter())
