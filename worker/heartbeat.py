"""The health facts workers leave in Redis for the overview and `broadsheet status` (key
names and their meaning in broadsheet/health.py): each worker's heartbeat, the task each pool
process runs, when a task was last taken, the tick, each relay's state, the bounce poll.

Each is one small write beside work that costs far more (a task, a connection, a poll); a
Redis that cannot be written to is logged and never stops the work.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import threading
from typing import Any

import redis
from celery import signals

from broadsheet import health, logformat
from broadsheet.models import utcnow
from broadsheet.settings import load_settings
from worker.resources import resources

log = logging.getLogger(__name__)

# Tasks whose first argument is a campaign id: what a process "is doing" names it.
CAMPAIGN_TASKS = frozenset(
    {"broadsheet.send_batch", "broadsheet.start_campaign", "broadsheet.resume_campaign",
     "broadsheet.send_test", "broadsheet.check_links"}
)  # fmt: skip


def _write(client: redis.Redis, key: str, value: object, ttl: int | None = None) -> None:
    text = value if isinstance(value, str) else json.dumps(value)
    try:
        client.set(key, text, ex=ttl)
    except redis.RedisError as exc:
        log.warning("health fact %s not written: %s", key, exc)


def ticked(client: redis.Redis) -> None:
    """The scheduler's tick ran now."""
    _write(client, health.TICK_KEY, utcnow().isoformat())


def relay_answered(client: redis.Redis, relay: str) -> None:
    """A connection to `relay` opened: it is "ok" (its last error, if any, is kept)."""
    _relay(client, relay, None)


def relay_refused(client: redis.Redis, relay: str, error: str) -> None:
    """A connection to `relay` failed: it is "refusing", with the error and its time."""
    _relay(client, relay, error[:500])


def _relay(client: redis.Redis, relay: str, error: str | None) -> None:
    key = health.RELAY_KEY + relay
    now = utcnow().isoformat()
    fact: dict[str, Any] = {"state": "ok" if error is None else "refusing", "at": now}
    if error is not None:
        fact.update(error=error, error_at=now)
    else:
        try:
            last = json.loads(client.get(key) or "{}")
        except (redis.RedisError, ValueError):
            last = {}
        if isinstance(last, dict) and last.get("error"):
            fact.update(error=last["error"], error_at=last.get("error_at"))
    _write(client, key, fact)


def mailbox_polled(client: redis.Redis, ok: bool, result: str) -> None:
    _write(client, health.MAILBOX_KEY, {"at": utcnow().isoformat(), "ok": ok, "result": result})


# --- a pool process's task, and the worker's own heartbeat (Celery signals) -----------------
def _client() -> redis.Redis:
    return resources().redis


def _process_key(hostname: str) -> str:
    return f"{health.TASK_KEY}{hostname}:{os.getpid()}"


@signals.task_prerun.connect
def _task_started(task_id: str, task: Any, args: Any = (), **_: object) -> None:
    hostname = getattr(task.request, "hostname", None) or socket.gethostname()
    campaign_id = args[0] if task.name in CAMPAIGN_TASKS and args else None
    now = utcnow().isoformat()
    doing = {"task": task.name, "task_id": task_id, "since": now, "campaign_id": campaign_id}
    logformat.context.set({"campaign_id": campaign_id} if campaign_id is not None else None)
    client = _client()
    _write(client, _process_key(hostname), doing, health.TASK_TTL)
    _write(client, health.LAST_TASK_KEY, now)


@signals.task_postrun.connect
def _task_ended(task: Any, **_: object) -> None:
    logformat.context.set(None)
    hostname = getattr(task.request, "hostname", None) or socket.gethostname()
    try:
        _client().delete(_process_key(hostname))
    except redis.RedisError as exc:
        log.warning("health fact not cleared: %s", exc)


class Heart:
    """Renews the worker's key every WORKER_BEAT_SECONDS from a thread of the main process."""

    def __init__(self, hostname: str) -> None:
        self.key = health.WORKER_KEY + hostname
        self.client = redis.Redis.from_url(load_settings().redis_url, socket_timeout=2)
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._beat, name="broadsheet-heart", daemon=True)

    def _beat(self) -> None:
        while True:
            fact = {"at": utcnow().isoformat(), "pid": os.getpid(), "host": socket.gethostname()}
            _write(self.client, self.key, fact, health.WORKER_TTL)
            if self.stopped.wait(health.WORKER_BEAT_SECONDS):
                return

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=3)
        with contextlib.suppress(redis.RedisError):  # else it expires after WORKER_TTL
            self.client.delete(self.key)
        self.client.close()


_heart: Heart | None = None


@signals.worker_ready.connect
def _start_heart(sender: Any = None, **_: object) -> None:
    global _heart
    _heart = Heart(getattr(sender, "hostname", None) or socket.gethostname())
    _heart.thread.start()


@signals.worker_shutdown.connect
def _stop_heart(**_: object) -> None:
    global _heart
    if _heart is not None:
        _heart.stop()
        _heart = None
