"""Broadsheet's Flask front end: the reader pages (public/), the JSON API (api/), the admin
(admin/) and webhooks; the request owns the transaction (db.py) and enqueues after it commits
(enqueue.py), and limits (limits.py) are counted in Redis."""

from web.app import create_app

__all__ = ["create_app"]
