"""Counting what the send loop sent, per relay and recipient domain, for the admin's current
rates (key names in broadsheet/send_counts.py): one Redis call per claim, never per message."""

from __future__ import annotations

import logging
import time
from collections import Counter

import redis

from broadsheet.send_counts import KEEP_SECONDS, domain_field, relay_field, step_key

log = logging.getLogger(__name__)


def add_sends(client: redis.Redis, relay: str, domains: Counter[str]) -> None:
    """Add a claim's sent messages (by recipient domain) to this step's counts and empty
    `domains`. A Redis error is logged, not raised: the counts only inform the admin."""
    if not domains:
        return
    key = step_key(time.time())
    pipe = client.pipeline(transaction=False)
    pipe.hincrby(key, relay_field(relay), sum(domains.values()))
    for domain, n in domains.items():
        pipe.hincrby(key, domain_field(domain), n)
    pipe.expire(key, KEEP_SECONDS)
    try:
        pipe.execute()
    except redis.RedisError as exc:
        log.warning("could not count %s sends for the admin's rates: %s", domains.total(), exc)
    domains.clear()
