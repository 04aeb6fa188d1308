"""Keeping a batch's claim alive from a thread of its own, whatever the SMTP connection does.

The claim's lease (`CLAIM_LEASE`) is what tells a dead worker from a slow one: the tick
settles only claims whose lease ran out. The sending loop may block for a long time in one
SMTP command (up to `SMTP_TIMEOUT` per command, more on a tarpitting relay), so the lease is
renewed here, every third of it, on a connection of the keeper's own, together with the
relay connection place the batch holds in Redis. A short lease is then safe: a live worker
is never overtaken, and a killed one's rows are free again within a lease.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

import redis
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from broadsheet.models import utcnow
from broadsheet.services import claims
from broadsheet.settings import SmtpTarget
from worker.resources import Resources

log = logging.getLogger(__name__)

# (session, claim key, new expiry) -> whether the claim still holds anything.
Renewal = Callable[[Session, str, datetime], bool]


class LeaseKeeper:
    """`with LeaseKeeper(res, key, place_lease) as keeper:` renews until the block ends;
    `keeper.lost` is set once the tick has settled the claim (the worker must stop).
    `renew` is the claim's own renewal: delivery rows (the default) or outbox rows."""

    def __init__(
        self, res: Resources, claim_key: str, place_lease: float, renew: Renewal = claims.renew
    ) -> None:
        self.res, self.claim_key, self.place_lease = res, claim_key, place_lease
        self._renew_claim = renew
        self.lease = timedelta(seconds=res.settings.claim_lease)
        self.every = min(self.lease.total_seconds(), place_lease) / 3
        self.relay: SmtpTarget | None = None  # whose connection place the batch holds
        self.lost = threading.Event()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lease {claim_key}", daemon=True)

    def __enter__(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._done.wait(self.every):
            try:
                self.renew()
            except SQLAlchemyError as exc:  # the database is away: the next round tries again
                log.warning("could not renew claim %s: %s", self.claim_key, exc)
            if self.lost.is_set():
                return

    def renew(self) -> None:
        with self.res.sessions.begin() as session:
            if not self._renew_claim(session, self.claim_key, utcnow() + self.lease):
                self.lost.set()
                return
        if self.relay is not None:
            with contextlib.suppress(redis.RedisError):
                self.res.throttle.acquire_connection(self.relay, self.claim_key, self.place_lease)
