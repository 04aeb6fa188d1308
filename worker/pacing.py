"""Which held delivery goes next over a connection, so that a busy domain never idles it.

The next message is the first held one whose domain has a slot now (booked on every limit in
the same Redis call). Readers at a domain that is at its rate are passed over and taken up
when it frees. When only such readers are left, the connection waits for the nearest slot if
it is close (`IDLE_WAIT`); otherwise they are put off in the ledger until their domain frees,
and the batch ends, leaving the connection to other work.

Slots are booked for a run of messages per Redis call: those whose slots come within
`HORIZON` (at most `RUN`), each then sent when its slot comes. The rates stay exact; a batch
that stops early leaves at most `HORIZON` of booked time unused.
"""

from __future__ import annotations

import itertools
import time
from collections import deque
from dataclasses import dataclass, field

from broadsheet.settings import SmtpTarget
from worker.throttle import Throttle

SKIP_WAIT = 0.02  # a domain slot at most this far off is taken; farther, other readers go first
IDLE_WAIT = 0.25  # with only busy domains left, wait at most this long, else put them off
HORIZON = 0.1  # book slots at most this far ahead (seconds)
RUN = 32  # and for at most this many messages per Redis call


@dataclass(frozen=True)
class Turn:
    index: int | None  # the held row to send next; None: nothing more to send now
    wait: float = 0.0  # seconds until its slot, which is booked
    put_off: dict[int, float] = field(default_factory=dict)  # row -> seconds until it may go


class Pacer:
    def __init__(self, throttle: Throttle, relay: SmtpTarget, domains: list[str]) -> None:
        self.throttle, self.relay, self.domains = throttle, relay, domains
        self._rest = list(range(len(domains)))  # rows not yet booked, in id order
        self._booked: deque[tuple[int, float]] = deque()  # row, monotonic time of its slot
        self._busy_until: dict[str, float] = {}  # monotonic time when a domain has room again

    @property
    def left(self) -> list[int]:
        """Rows not yet handed out, booked or not."""
        return [index for index, _ in self._booked] + self._rest

    def next_turn(self) -> Turn:
        """The next row and its wait (raises redis.RedisError if the limits can't be read)."""
        if not self._booked:
            turn = self._book()
            if turn is not None:
                return turn
        index, at = self._booked.popleft()
        return Turn(index, max(0.0, at - time.monotonic()))

    def _book(self) -> Turn | None:
        """Book the next run into `_booked`; or a turn of its own (the batch ends, or the
        first row's domain slot came first and the row is booked alone)."""
        while self._rest:
            now = time.monotonic()
            free = (i for i in self._rest if self._busy_until.get(self.domains[i], 0.0) <= now)
            run = list(itertools.islice(free, RUN))
            if not run:
                frees = {i: self._busy_until[self.domains[i]] - now for i in self._rest}
                nearest = min(frees.values())
                if nearest > IDLE_WAIT:
                    self._rest = []
                    return Turn(None, put_off=frees)
                time.sleep(max(nearest, 0.0))
                continue
            booked = self.throttle.reserve_run(
                self.relay, [self.domains[i] for i in run], horizon=HORIZON, max_wait=SKIP_WAIT
            )
            if booked.waits:
                after = time.monotonic()
                taken = set(run[: len(booked.waits)])
                self._rest = [i for i in self._rest if i not in taken]  # only now: as for one below
                self._booked.extend((i, after + w) for i, w in zip(run, booked.waits, strict=False))
                return None
            first, index = booked.first, run[0]
            assert first is not None
            if first.booked:  # the domain's slot is a moment away: then the shared limits
                time.sleep(first.wait)
                wait = self.throttle.reserve(self.relay, None).wait
                self._rest.remove(index)  # only now: a Redis error leaves it unsent in `_rest`
                return Turn(index, wait)
            self._busy_until[self.domains[index]] = now + first.wait
        return Turn(None)
