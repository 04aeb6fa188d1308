"""The Celery app. Configured lazily from Broadsheet's settings the first time it is used."""

from __future__ import annotations

from datetime import timedelta

from celery import Celery

from broadsheet.settings import Settings, load_settings

celery_app = Celery("broadsheet", include=["worker.tasks"])

QUEUE = "broadsheet"
TRANSACTIONAL_QUEUE = "broadsheet.transactional"
# The order matters: a worker takes from the first non-empty queue.
QUEUES = f"{TRANSACTIONAL_QUEUE},{QUEUE}"

# Longest countdown a task may be retried with; the broker must not redeliver before it.
LONGEST_RETRY = timedelta(hours=1)


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
            "visibility_timeout": int(LONGEST_RETRY.total_seconds()) * 2,
            # Poll queues in the order given (QUEUES), not round robin.
            "queue_order_strategy": "priority",
        },
        "task_default_queue": QUEUE,
        # Confirmations wait for no campaign: workers read this queue first (see QUEUES).
        "task_routes": {"broadsheet.send_confirmation": {"queue": TRANSACTIONAL_QUEUE}},
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "task_ignore_result": True,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "worker_hijack_root_logger": False,
        "beat_schedule": {
            "tick": {"task": "broadsheet.tick", "schedule": 15.0},
        },
        "timezone": "UTC",
    }


@celery_app.on_configure.connect
def _configure(sender: Celery, **_: object) -> None:
    sender.conf.update(celery_config(load_settings()))
