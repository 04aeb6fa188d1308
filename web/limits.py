"""How often a client, an address or an editor may do what: signups (limits on the view, in
web/public), failed sign-ins and test messages (allowances the view spends). All are counted
by the one limiter (web/extensions.py) in Redis, shared by every web process.

`Allowance.spend` checks and counts in one Redis script, so requests arriving together can
never get past a limit between a check and a count (30 wrong passwords sent at once get at
most 5 checked). Redis errors are not caught here; they become a 503 (web/errors.py).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse

from web.extensions import limiter

# A reader signs up once; a household, an office or a conference's Wi-Fi a few times a
# minute. A script posting the form meets these within seconds.
SIGNUPS_PER_CLIENT = "20 per minute; 100 per hour"
# Asking again for a confirmation that has not come is fine a few times; mailing one inbox
# over and over is not (the domain also mails a pending reader at most once in 5 minutes).
SIGNUPS_PER_ADDRESS = "5 per hour; 10 per day"


@dataclass(frozen=True)
class Allowance:
    """A limit a view spends from itself: at most `item` (e.g. 5 per minute) per key."""

    name: str
    item: RateLimitItem

    def spend(self, key: str, cost: int = 1) -> int:
        """Take `cost` for `key`, checked and counted in one step. 0 when taken; else nothing
        is counted, and the answer is the seconds until it may be."""
        if limiter.limiter.hit(self.item, self.name, key, cost=cost):
            return 0
        return _seconds_until(
            limiter.limiter.get_window_stats(self.item, self.name, key).reset_time
        )

    def forgive(self, key: str) -> None:
        """Forget what `key` has spent (an account's failed sign-ins, once it signs in)."""
        limiter.limiter.clear(self.item, self.name, key)


# Five sign-in attempts a minute for an address (one that works forgives its failures), and
# five from a client address: enough for typos, far too few to guess a password. Counted
# before the password is checked, so a client's count includes its sign-ins that worked.
SIGN_IN_ACCOUNT = Allowance("sign-in:account", parse("5 per minute"))
SIGN_IN_CLIENT = Allowance("sign-in:client", parse("5 per minute"))
# Test messages an editor may send: 30 per 10 minutes (three full sends of 10 addresses).
TEST_MESSAGES = Allowance("test-messages", parse("30 per 10 minutes"))


def broken_limit_wait() -> int:
    """Seconds until the view limit this request broke lets it through (for a 429)."""
    broken = limiter.current_limit
    if broken is None or not broken.breached:
        raise RuntimeError("no limit was broken by this request")
    return _seconds_until(broken.window.reset_time)


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
