"""Reading system health (broadsheet/health.py) from the facts workers leave in Redis and
the figures in the database: for the admin overview, /metrics and `broadsheet status`.

`snapshot(client, session)` is the one reader; `broadsheet.health.warnings(health, now)`
turns what it returns into plain words.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import redis
from sqlalchemy.orm import Session

from broadsheet import health
from broadsheet.health import Doing, Health, MailboxPoll, RelayState, WorkerState
from broadsheet.services import vitals
from worker import queues

# kombu's Redis transport keeps a queue's higher priorities in lists of their own, named
# with this separator and the priority step (tasks sent without a priority use the plain name).
_PRIORITY_SEPARATOR, _PRIORITY_STEPS = "\x06\x16", (3, 6, 9)


def snapshot(client: redis.Redis, session: Session | None = None) -> Health:
    """Workers and what they do, queue depths, relays, the last task, tick and bounce poll
    (Redis), and, given a session, the last campaigns' complaint rates (the database).
    Raises redis.RedisError when Redis cannot be read."""
    workers = _json_values(client, health.WORKER_KEY)
    doing = _json_values(client, health.TASK_KEY)
    relays = _json_values(client, health.RELAY_KEY)
    last_task, last_tick, mailbox = client.mget(
        [health.LAST_TASK_KEY, health.TICK_KEY, health.MAILBOX_KEY]
    )
    return Health(
        workers=tuple(
            WorkerState(
                name,
                _time(fact.get("at")) or datetime.min.replace(tzinfo=UTC),
                tuple(_doing(key, d) for key, d in sorted(doing.items()) if key[0] == name),
            )
            for name, fact in sorted(workers.items())
        ),
        queues=queue_depths(client),
        relays=tuple(
            RelayState(
                name,
                str(fact.get("state", "ok")),
                _time(fact.get("at")) or datetime.min.replace(tzinfo=UTC),
                fact.get("error"),
                _time(fact.get("error_at")),
            )
            for name, fact in sorted(relays.items())
        ),
        last_task_at=_time(last_task),
        last_tick_at=_time(last_tick),
        mailbox=_mailbox(mailbox),
        complaints=vitals.complaint_rates(session) if session is not None else (),
    )


def queue_depths(client: redis.Redis) -> dict[str, int]:
    """Tasks waiting in each Celery queue (every priority of it), in one round trip."""
    pipe = client.pipeline(transaction=False)
    for queue in queues.ALL:
        pipe.llen(queue)
        for step in _PRIORITY_STEPS:
            pipe.llen(f"{queue}{_PRIORITY_SEPARATOR}{step}")
    lengths = pipe.execute()
    per = 1 + len(_PRIORITY_STEPS)
    return {q: sum(lengths[i * per : (i + 1) * per]) for i, q in enumerate(queues.ALL)}


def _json_values(client: redis.Redis, prefix: str) -> dict[Any, dict[str, Any]]:
    """Every key under `prefix`, by the rest of its name, with its JSON value; a key under
    TASK_KEY is named by (node, pid)."""
    keys = sorted(client.scan_iter(match=prefix + "*", count=500))
    values = client.mget(keys) if keys else []
    found: dict[Any, dict[str, Any]] = {}
    for key, value in zip(keys, values, strict=True):
        try:
            fact = json.loads(value) if value is not None else None
        except ValueError:
            continue
        if not isinstance(fact, dict):
            continue
        name = (key.decode() if isinstance(key, bytes) else str(key)).removeprefix(prefix)
        found[tuple(name.rsplit(":", 1)) if prefix == health.TASK_KEY else name] = fact
    return found


def _doing(key: tuple[str, ...], fact: dict[str, Any]) -> Doing:
    campaign_id = fact.get("campaign_id")
    return Doing(
        ":".join(key),
        str(fact.get("task", "?")),
        _time(fact.get("since")) or datetime.min.replace(tzinfo=UTC),
        campaign_id if isinstance(campaign_id, int) else None,
    )


def _mailbox(raw: bytes | str | None) -> MailboxPoll | None:
    try:
        fact = json.loads(raw) if raw is not None else None
    except ValueError:
        return None
    if not isinstance(fact, dict) or _time(fact.get("at")) is None:
        return None
    return MailboxPoll(
        _time(fact["at"]) or datetime.min, bool(fact.get("ok")), fact.get("result", "")
    )


def _time(raw: object) -> datetime | None:
    if isinstance(raw, bytes):
        raw = raw.decode()
    if not isinstance(raw, str):
        return None
    try:
        when = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)
