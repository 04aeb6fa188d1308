"""Counting for /metrics (broadsheet/telemetry.py): what a process counted goes to the one
Redis hash every process shares, in one pipelined round trip, never one per message.

The send loop keeps a tally per process (`pending`) and pushes it at the end of each run and
at least every `PUSH_EVERY` seconds while a long run goes on; a pool process killed mid-run
loses at most that much of its counting (the ledger, not this, is the record of who got
mail). Sessions push what their services noted once they commit (`count_commits`). The web
uses `push` and `count_commits` too (web/db.py), so every process counts the same way.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable

import redis
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from broadsheet import telemetry
from broadsheet.telemetry import Metric, Tally

log = logging.getLogger(__name__)

PUSH_EVERY = 5.0  # seconds: the longest a running send loop keeps counts to itself

_lock = threading.Lock()  # a threads pool runs several send loops in one process
_pending = Tally()
_pushed_at = time.monotonic()


def push(client: redis.Redis, tally: Tally) -> bool:
    """Add `tally` to the store in one round trip; False (logged) when Redis is away: the
    counts are lost then, and nothing else is held up."""
    if not tally:
        return True
    pipe = client.pipeline(transaction=False)
    for field, n in tally.counts.items():
        pipe.hincrby(telemetry.STORE_KEY, field, n)
    for field, x in tally.sums.items():
        pipe.hincrbyfloat(telemetry.STORE_KEY, field, x)
    try:
        pipe.execute()
    except redis.RedisError as exc:
        log.warning("metrics not counted (Redis unavailable): %s", exc)
        return False
    return True


def add(metric: Metric, *labels: str, n: float = 1) -> None:
    """Count in this process; pushed by the next `flush`."""
    with _lock:
        _pending.add(metric, *labels, n=n)


def observe(metric: Metric, value: float, *labels: str) -> None:
    with _lock:
        _pending.observe(metric, value, *labels)


def since(metric: Metric, started: float, *labels: str) -> None:
    """Observe the seconds since `started` (a time.monotonic() reading)."""
    observe(metric, time.monotonic() - started, *labels)


def flush(client: redis.Redis, *, force: bool = False) -> None:
    """Push this process's counts if `PUSH_EVERY` has passed since the last push (or now)."""
    global _pending, _pushed_at
    if not force and time.monotonic() - _pushed_at < PUSH_EVERY:
        return
    with _lock:
        tally, _pending, _pushed_at = _pending, Tally(), time.monotonic()
    push(client, tally)


def count_engagement(client: redis.Redis, verdicts: Iterable[tuple[str, bool]]) -> None:
    """Count opens and clicks by verdict, one (kind, human) pair each (`kind`: "open" or
    "click"), in one round trip: for the task that records them, after its commit."""
    metrics = {"open": telemetry.OPENS, "click": telemetry.CLICKS}
    tally = Tally()
    for kind, human in verdicts:
        tally.add(metrics[kind], "human" if human else "machine")
    push(client, tally)


def count_commits(sessions: sessionmaker[Session], client: Callable[[], redis.Redis]) -> None:
    """Push what a session of `sessions` noted (telemetry.note) once its transaction commits,
    and forget it when it rolls back; `client()` gives the Redis client at that time."""

    def committed(session: Session) -> None:
        tally = telemetry.take_noted(session)
        if tally:
            push(client(), tally)

    def rolled_back(session: Session) -> None:
        telemetry.take_noted(session)

    event.listen(sessions, "after_commit", committed)
    event.listen(sessions, "after_rollback", rolled_back)
