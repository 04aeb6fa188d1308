"""The send limits in force now, read from Redis for the API (the web app imports this)."""

from __future__ import annotations

import redis

from broadsheet.settings import Settings
from worker.throttle import Throttle


def current_rates(client: redis.Redis, settings: Settings) -> dict[str, object]:
    """Configured and effective rates per relay and domain, and each relay's connections."""
    return Throttle(client, settings).snapshot()
