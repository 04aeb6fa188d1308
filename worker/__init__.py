"""Broadsheet's Celery worker: the app, thin tasks, the SMTP sender and the Redis throttle.

`celery -A worker worker` finds the app here as `worker.celery`.
"""

from worker.app import celery_app as celery

__all__ = ["celery"]
