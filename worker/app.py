"""The Celery app. Configured lazily from Broadsheet's settings the first time it is used."""

from __future__ import annotations

import os

from celery import Celery, signals

from broadsheet.settings import Settings, load_settings
from worker import heartbeat, logs
from worker.queues import QUEUE, QUEUES, SCHEDULER_QUEUE, TRANSACTIONAL_QUEUE

# Imported for their signal handlers: logs quiets the tick, heartbeat leaves health facts.
__all__ = ["QUEUE", "QUEUES", "celery_app", "celery_config", "heartbeat", "logs"]

celery_app = Celery(
    "broadsheet", include=["worker.tasks", "worker.bounces", "worker.tracking", "worker.feeds"]
)


# Floor for the visibility timeout (seconds); it grows with the longest RETRY_DELAYS entry.
LONGEST_RETRY_SECONDS = 3600


def broker_url(redis_url: str) -> str:
    """Kombu spells a Unix socket `redis+socket://`; redis-py spells it `unix://`."""
    if redis_url.startswith("unix://"):
        return "redis+socket://" + redis_url.removeprefix("unix://")
    return redis_url


def celery_config(settings: Settings) -> dict[str, object]:
    return {
        "broker_url": broker_url(settings.redis_url),
        "broker_connection_retry_on_startup": True,
        # A web request that cannot reach Redis gives up quickly; the scheduler repairs later.
        "task_publish_retry_policy": {
            "max_retries": 2,
            "interval_start": 0.1,
            "interval_step": 0.2,
        },
        "broker_transport_options": {
            # Above the longest retry countdown, or Redis would hand a waiting retry to a
            # second worker while the first still holds it.
            "visibility_timeout": 2 * max(LONGEST_RETRY_SECONDS, *settings.retry_delays),
            # Poll queues in the order given (QUEUES), not round robin.
            "queue_order_strategy": "priority",
        },
        "task_default_queue": QUEUE,
        # Confirmations, link checks and the scheduler's work wait for no campaign: workers
        # read these queues first (see QUEUES).
        "task_routes": {
            "broadsheet.sweep_outbox": {"queue": TRANSACTIONAL_QUEUE},
            "broadsheet.send_test": {"queue": TRANSACTIONAL_QUEUE},
            "broadsheet.check_links": {"queue": TRANSACTIONAL_QUEUE},
            "broadsheet.tick": {"queue": SCHEDULER_QUEUE},
            "broadsheet.poll_bounces": {"queue": SCHEDULER_QUEUE},
            # Short, and the hits wait in Redis meanwhile: never behind a campaign's batches.
            "broadsheet.drain_hits": {"queue": SCHEDULER_QUEUE},
            # Only reads and enqueues; each feed's poll (up to FEED_TIMEOUT) waits in the
            # default queue, where no confirmation waits behind it.
            "broadsheet.poll_feeds": {"queue": SCHEDULER_QUEUE},
        },
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "task_ignore_result": True,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "worker_hijack_root_logger": False,
        # Task events (sent, started, succeeded, failed) for Flower or `celery events` beside
        # the workers (docs/operations.md); a few small messages per task on the broker.
        "worker_send_task_events": True,
        "task_send_sent_event": True,
        "beat_schedule": {
            # A tick or poll that could not run in time (every worker busy) is dropped, not
            # run late in a pile: the next one does the same work.
            "tick": {
                "task": "broadsheet.tick",
                "schedule": settings.tick_seconds,
                "options": {"expires": settings.tick_seconds},
            },
            "drain-hits": {
                "task": "broadsheet.drain_hits",
                "schedule": 2.0,
                "options": {"expires": 2.0},
            },
            "poll-bounces": {
                "task": "broadsheet.poll_bounces",
                "schedule": 60.0,
                "options": {"expires": 60},
            },
            "poll-feeds": {
                "task": "broadsheet.poll_feeds",
                "schedule": float(settings.feed_poll_seconds),
                "options": {"expires": settings.feed_poll_seconds},
            },
        },
        "timezone": "UTC",
    }


@signals.worker_init.connect
def _yield_cpu(**_: object) -> None:
    """Lower the worker's priority before its pool forks (the pool processes inherit it): a
    send on a machine shared with the web takes only the CPU the readers' requests leave."""
    nice = load_settings().worker_nice
    if nice:
        os.nice(nice)


@celery_app.on_configure.connect
def _configure(sender: Celery, **_: object) -> None:
    sender.conf.update(celery_config(load_settings()))
