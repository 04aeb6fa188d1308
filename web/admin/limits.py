"""Counting attempts in Redis, shared by every web process: failed sign-ins and test sends.

A fixed window per key: the first attempt starts it, later ones count until it ends. Redis
errors are not caught here; they become a 503 answer (web/errors.py), so a limit is never
silently skipped.
"""

from __future__ import annotations

from dataclasses import dataclass

from web.extensions import redis_client

PREFIX = "broadsheet:limit:"
# Count, and start the window on the first attempt (one script, so a key never lacks its
# expiry; EXPIRE's NX flag would need Redis 7, the bundled server is 6.2).
_SPEND = """
local used = redis.call('INCRBY', KEYS[1], ARGV[1])
if redis.call('TTL', KEYS[1]) < 0 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return used
"""


@dataclass(frozen=True)
class Limit:
    name: str
    attempts: int  # allowed within one window
    seconds: int  # the window

    def wait(self, key: str) -> int:
        """Seconds until `key` may try again (0: it may now)."""
        client, full = redis_client(), f"{PREFIX}{self.name}:{key}"
        used = client.get(full)
        if used is None or int(used) < self.attempts:
            return 0
        return max(int(client.ttl(full)), 1)

    def spend(self, key: str, count: int = 1) -> int:
        """Count `count` attempts for `key`; returns how many the window now holds."""
        full = f"{PREFIX}{self.name}:{key}"
        return int(redis_client().eval(_SPEND, 1, full, count, self.seconds))

    def clear(self, key: str) -> None:
        redis_client().delete(f"{PREFIX}{self.name}:{key}")


# Five failed sign-ins a minute for an address, and for a client address: enough for typos,
# far too few to guess a password.
SIGN_IN_ACCOUNT = Limit("sign-in:account", 5, 60)
SIGN_IN_CLIENT = Limit("sign-in:client", 5, 60)
# Test messages an editor may send: 30 per 10 minutes (three full sends of 10 addresses).
TEST_MESSAGES = Limit("test-messages", 30, 600)
