"""Broadsheet's Celery worker: the app, thin tasks (tasks.py), the one send loop for campaign
batches and the outbox sweep (sending.py, batch.py, sweep.py), the SMTP client, relay
connections, the Redis throttle, the link check, feed polling (feeds.py, feed_fetch.py), the
tracking drain (tracking.py), the bounce mailbox poll (bounces.py), the health facts and counts
left in Redis (heartbeat.py, metrics.py, send_counts.py), and the quiet logs of routine tasks.

`celery -A worker worker` finds the app here as `worker.celery`.
"""

from worker.app import celery_app as celery

__all__ = ["celery"]
