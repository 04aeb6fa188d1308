"""One global send rate shared by every worker process on every host, held in Redis."""

from __future__ import annotations

import time

import redis

# Generic cell rate algorithm as a reservation: each call books the next free slots and says
# how long to wait for them. Atomic in Redis, so any number of workers share one rate. The
# clock is Redis's own, so hosts whose clocks differ still agree.
_RESERVE = """
local interval = tonumber(ARGV[1])
local count = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local new_tat = tat + interval * count
local ttl = math.ceil((new_tat - now) / 1000) + 1000
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', ttl)
return tat - now
"""


class Throttle:
    """`wait(n)` blocks until `n` messages may go without exceeding `rate` per second overall."""

    def __init__(self, client: redis.Redis, key: str, rate: float) -> None:
        self.key = key
        self.interval_us = max(1, round(1_000_000 / rate))
        self._reserve = client.register_script(_RESERVE)

    def reserve(self, count: int = 1) -> float:
        """Book `count` slots; returns the seconds to wait before using them."""
        wait_us = int(self._reserve(keys=[self.key], args=[self.interval_us, count]))
        return max(0.0, wait_us / 1_000_000)

    def wait(self, count: int = 1) -> None:
        delay = self.reserve(count)
        if delay:
            time.sleep(delay)
