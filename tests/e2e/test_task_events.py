"""Celery's task events, for Flower or `celery events` beside the workers: a worker started
as in production sends them, and a receiver on the broker sees a task sent and succeed."""

from __future__ import annotations

import threading
import time

from worker.app import celery_app
from worker.tracking import drain_hits


def test_a_receiver_sees_a_task_sent_and_succeed(celery_worker):
    seen: list[tuple[str, str]] = []
    with celery_app.connection_for_read() as connection:
        receiver = celery_app.events.Receiver(
            connection,
            handlers={"*": lambda event: seen.append((event["type"], event.get("uuid", "")))},
        )
        listening = threading.Thread(target=receiver.capture, kwargs={"wakeup": False}, daemon=True)
        listening.start()
        time.sleep(1)  # its queue is bound to the events exchange
        task_id = drain_hits.delay().id
        deadline = time.monotonic() + 30
        while ("task-succeeded", task_id) not in seen and time.monotonic() < deadline:
            time.sleep(0.1)
        receiver.should_stop = True
        listening.join(10)
    assert ("task-sent", task_id) in seen and ("task-succeeded", task_id) in seen, seen
