"""Which held delivery goes next over a connection, so that a busy domain never idles it.

The next message is the first held one whose domain has a slot now (booked on every limit in
the same Redis call). Readers at a domain that is at its rate are passed over and taken up
when it frees. When only such readers are left, the connection waits for the nearest slot if
it is close (`IDLE_WAIT`); otherwise they are put off in the ledger until their domain frees,
and the batch ends, leaving the connection to other work.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from broadsheet.settings import SmtpTarget
from worker.throttle import Throttle

SKIP_WAIT = 0.02  # a domain slot at most this far off is taken; farther, other readers go first
IDLE_WAIT = 0.25  # with only busy domains left, wait at most this long, else put them off


@dataclass(frozen=True)
class Turn:
    index: int | None  # the held row to send next; None: nothing more to send now
    wait: float = 0.0  # seconds until its slot, which is booked
    put_off: dict[int, float] = field(default_factory=dict)  # row -> seconds until it may go


class Pacer:
    def __init__(self, throttle: Throttle, relay: SmtpTarget, domains: list[str]) -> None:
        self.throttle, self.relay, self.domains = throttle, relay, domains
        self.left = list(range(len(domains)))  # rows not yet chosen, in id order
        self._busy_until: dict[str, float] = {}  # monotonic time when a domain has room again

    def next_turn(self) -> Turn:
        """Choose and book the next row (raises redis.RedisError if the limits can't be read)."""
        while self.left:
            now = time.monotonic()
            for position, index in enumerate(self.left):
                domain = self.domains[index]
                if self._busy_until.get(domain, 0.0) > now:
                    continue
                booking = self.throttle.reserve(self.relay, domain, max_wait=SKIP_WAIT)
                if booking.booked:
                    if booking.domain_only:  # the domain's slot is a moment away: then the rest
                        time.sleep(booking.wait)
                        booking = self.throttle.reserve(self.relay, None)
                    del self.left[position]  # only now: a Redis error leaves it in `left`
                    return Turn(index, booking.wait)
                self._busy_until[domain] = now + booking.wait
            frees = {i: self._busy_until[self.domains[i]] - now for i in self.left}
            nearest = min(frees.values())
            if nearest > IDLE_WAIT:
                self.left = []
                return Turn(None, put_off=frees)
            time.sleep(max(nearest, 0.0))
        return Turn(None)
