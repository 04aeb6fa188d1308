"""Extensions and per-process clients, made once per app in `init_app` and reached through
`current_app`: CSRF protection, the one Redis client (rates, health), and the rate limiter
that counts in that Redis (the limits themselves are in web/limits.py)."""

from __future__ import annotations

import redis
from flask import Flask, current_app, request
from flask_limiter import Limiter
from flask_wtf.csrf import CSRFProtect

from broadsheet.settings import Settings

REDIS = "broadsheet.redis"
# Every key the limiter writes starts with this (tests delete `broadsheet:limit:*`).
LIMIT_KEY_PREFIX = "broadsheet:limit"


def client_address() -> str:
    """Who is asking, as far as the limits know: the address the request came from, or behind
    TRUSTED_PROXIES reverse proxies, the one they forwarded (web/proxies.py)."""
    return request.remote_addr or "unknown"


csrf = CSRFProtect()
# Moving windows: at most N in any stretch of the window's length; a refused attempt is not
# counted. Errors from Redis are raised, never swallowed: a limit is never silently skipped.
limiter = Limiter(key_func=client_address, strategy="moving-window", swallow_errors=False)


@limiter.request_filter
def _no_automatic_checks() -> bool:
    """Every limit is an allowance its view spends (web/limits.py): the limiter's own check
    before each request has nothing to count, so it stops at once."""
    return True


def init_app(app: Flask, settings: Settings) -> None:
    csrf.init_app(app)
    # Connects on first use and keeps a pool; redis-py makes a new pool in a forked child.
    client = redis.Redis.from_url(settings.redis_url, socket_timeout=5)
    app.extensions[REDIS] = client
    app.config.update(
        RATELIMIT_STORAGE_URI=limits_storage_uri(settings.redis_url),
        # The limiter shares the app's pool: one set of connections per process, closed
        # with the app (the URI then only picks the `limits` package's Redis backend).
        RATELIMIT_STORAGE_OPTIONS={
            "key_prefix": LIMIT_KEY_PREFIX,
            "connection_pool": client.connection_pool,
        },
    )
    limiter.init_app(app)


def limits_storage_uri(redis_url: str) -> str:
    """REDIS_URL as the `limits` package spells it: `redis://` and `rediss://` alike, but a
    unix socket is `redis+unix://` there, where redis-py says `unix://`."""
    if redis_url.startswith("unix://"):
        return "redis+unix://" + redis_url.removeprefix("unix://")
    return redis_url


def redis_client() -> redis.Redis:
    """This process's Redis client. Its errors become a 503 answer (web/errors.py)."""
    client: redis.Redis = current_app.extensions[REDIS]
    return client
