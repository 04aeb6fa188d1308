"""How often a client, an address or an editor may do what: signups, sign-ins and test
messages, each an allowance its view spends. All are counted by the one limiter
(web/extensions.py) in Redis, shared by every web process.

`Allowance.spend` checks and counts in one Redis script per window, so requests arriving
together can never get past a limit between a check and a count (30 wrong passwords sent at
once get at most 5 checked). It calls the limiter's strategy directly rather than through
Flask-Limiter's view decorator, whose machinery cost a signup more than its database work (at
200 signups/s the p99 went from 18 to 334 ms). Redis errors are not caught here; they become
a 503 (web/errors.py).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse_many

from web.extensions import limiter


@dataclass(frozen=True)
class Allowance:
    """A limit a view spends from itself: at most `items` (e.g. 5 per minute, and 20 per
    hour) per key, each window its own count."""

    name: str
    items: tuple[RateLimitItem, ...]

    @classmethod
    def of(cls, name: str, limits: str) -> Allowance:
        """`Allowance.of("sign-in", "5 per minute; 20 per hour")`."""
        return cls(name, tuple(parse_many(limits)))

    def spend(self, key: str, cost: int = 1) -> int:
        """Take `cost` for `key` from each window, checked and counted in one step per
        window, shortest first. 0 when taken; else the windows after the full one are not
        counted, and the answer is the seconds until it may be."""
        for item in self.items:
            if not limiter.limiter.hit(item, self.name, key, cost=cost):
                stats = limiter.limiter.get_window_stats(item, self.name, key)
                return _seconds_until(stats.reset_time)
        return 0

    def forgive(self, key: str) -> None:
        """Forget what `key` has spent (an account's failed sign-ins, once it signs in)."""
        for item in self.items:
            limiter.limiter.clear(item, self.name, key)


# Five sign-in attempts a minute for an address (one that works forgives its failures), and
# five from a client address: enough for typos, far too few to guess a password. Counted
# before the password is checked, so a client's count includes its sign-ins that worked.
SIGN_IN_ACCOUNT = Allowance.of("sign-in:account", "5 per minute")
SIGN_IN_CLIENT = Allowance.of("sign-in:client", "5 per minute")
# A reader signs up once; a household, an office or a conference's Wi-Fi a few times a
# minute. A script posting the form meets this within seconds.
SIGNUPS_PER_CLIENT = Allowance.of("signups-per-client", "20 per minute")
# Asking again for a confirmation that has not come is fine a few times; mailing one inbox
# over and over is not (the domain also mails a pending reader at most once in 5 minutes).
# Counted for signups of an address already known: with the first, 5 an hour.
SIGNUPS_PER_ADDRESS = Allowance.of("signups-per-address", "4 per hour")
# A reader's data, mailed to them from their preferences page: once an hour is plenty for
# them, and keeps a leaked link from filling their inbox with attachments.
MY_DATA = Allowance.of("my-data", "1 per hour")
# Test messages an editor may send: 30 per 10 minutes (three full sends of 10 addresses).
TEST_MESSAGES = Allowance.of("test-messages", "30 per 10 minutes")


def wait_in_words(seconds: int) -> str:
    """A wait as a person reads it: "40 seconds", "2 minutes", "3 hours" (rounded up)."""
    if seconds < 90:
        count, unit = seconds, "second"
    elif seconds < 2 * 3600:
        count, unit = math.ceil(seconds / 60), "minute"
    else:
        count, unit = math.ceil(seconds / 3600), "hour"
    return f"{count} {unit}{'' if count == 1 else 's'}"


def _seconds_until(when: float) -> int:
    """Whole seconds from now until the Unix time `when` (at least 1: it is still to come)."""
    return max(math.ceil(when - time.time()), 1)
