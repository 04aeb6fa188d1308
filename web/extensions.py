"""Extensions and per-process clients, made once per app in `init_app` and reached through
`current_app`: CSRF protection, and the one Redis client (rates, login throttling)."""

from __future__ import annotations

import redis
from flask import Flask, current_app
from flask_wtf.csrf import CSRFProtect

from broadsheet.settings import Settings

csrf = CSRFProtect()
REDIS = "broadsheet.redis"


def init_app(app: Flask, settings: Settings) -> None:
    csrf.init_app(app)
    # Connects on first use and keeps a pool; redis-py makes a new pool in a forked child.
    app.extensions[REDIS] = redis.Redis.from_url(settings.redis_url, socket_timeout=5)


def redis_client() -> redis.Redis:
    """This process's Redis client. Its errors become a 503 answer (web/errors.py)."""
    return current_app.extensions[REDIS]
