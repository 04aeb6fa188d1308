"""Broadsheet's Flask front end: the reader pages (public/), the JSON API (api/), the admin
(admin/), the open pixel and click redirect (tracking/), webhooks, the probes and /metrics; the
request owns the transaction (db.py) and enqueues after it commits (enqueue.py), and limits
(limits.py) are counted in Redis."""

from web.app import create_app

__all__ = ["create_app"]
