"""One claim being worked through: the held rows, and how their outcomes reach the ledger.

Each outcome is committed in the same transaction that marks the next row in flight (see
broadsheet/services/claims.py), so a killed worker leaves at most one row of its connection
whose fate is unknown. Everything else (deferrals, give-backs, rows put off) is one
statement for all the rows concerned.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Connection
from sqlalchemy.orm import Session, sessionmaker

from broadsheet.models import Campaign, CampaignStatus, DeliveryStatus, utcnow
from broadsheet.services import claims, suppression
from broadsheet.services.claims import Claimed
from worker.resources import Resources

log = logging.getLogger(__name__)


@dataclass
class BatchOutcome:
    sent: int = 0
    failed: int = 0
    unknown: int = 0
    stopped: bool = False  # the campaign was paused or cancelled mid-batch
    retry_at: datetime | None = None
    error: str | None = None


@dataclass(frozen=True)
class Result:
    """What happened to one message: a final status, or None for a temporary refusal."""

    status: DeliveryStatus | None
    values: Mapping[str, str] = field(default_factory=dict)


@dataclass
class Batch:
    res: Resources
    campaign: Campaign
    claim_key: str
    held: list[Claimed]
    # Sessions on one connection held for the whole batch: a message's ledger write is then
    # one round trip, with no pool checkout (and no liveness ping) per message.
    sessions: sessionmaker[Session]
    # A second held connection for the one-statement outcome writes: in autocommit mode on
    # PostgreSQL, so the statement is its own commit (no BEGIN and COMMIT round trips).
    hot: Connection
    autocommit: bool = False  # `hot` commits each statement itself (PostgreSQL)
    outcome: BatchOutcome = field(default_factory=BatchOutcome)

    def record(self, done: tuple[int, Result] | None, begin: int | None) -> bool:
        """In one commit: record the outcome of row `done` (an index into `held`) and mark
        row `begin` in flight. False when `begin` is no longer ours (the claim expired and
        the tick settled it): the worker must stop sending."""
        status = None if done is None else done[1].status
        if done is not None and status not in (None, DeliveryStatus.BOUNCED):
            still_ours = self._fast_record(*done, begin)  # the common case: one statement
        else:
            still_ours = True
            with self.sessions.begin() as session:
                if done is not None and status is not None:  # bounced: suppress the reader too
                    still_ours = self._record_and_begin(session, *done, begin)
                else:
                    if done is not None:
                        row = self.held[done[0]].delivery_id
                        self._defer(session, [row], done[1].values["reply"])
                    if begin is not None:
                        next_row = self.held[begin].delivery_id
                        still_ours = claims.begin(session, self.claim_key, next_row)
        if not still_ours:
            log.warning("claim %s expired while its worker was busy; stopping", self.claim_key)
        return still_ours

    def _fast_record(self, index: int, result: Result, begin: int | None) -> bool:
        if self.autocommit:
            return self._record_and_begin(self.hot, index, result, begin)
        with self.hot.begin():
            return self._record_and_begin(self.hot, index, result, begin)

    def defer(self, indices: Iterable[int], error: str, *, count_attempt: bool) -> None:
        """A temporary failure for rows not sent: retried after RETRY_DELAYS, or given up."""
        rows = self._rows(indices)
        with self.sessions.begin() as session:
            self._defer(session, rows, error, count_attempt=count_attempt)

    def give_back(self, indices: Iterable[int], reason: str) -> None:
        """The campaign stopped: rows not yet sent go back to the queue, due at once."""
        with self.sessions.begin() as session:
            claims.release(session, self.claim_key, self._rows(indices), reason)
        self.outcome.stopped = True

    def put_off(self, waits: Mapping[int, float]) -> None:
        """Rows whose domain is at its rate go back unsent, each due when its domain frees."""
        if not waits:
            return
        by_wait: dict[float, list[int]] = {}  # rows of one domain share their wait
        for index, seconds in waits.items():
            by_wait.setdefault(seconds, []).append(index)
        now = utcnow()
        with self.sessions.begin() as session:
            for seconds, indices in by_wait.items():
                due = now + timedelta(seconds=seconds + random.uniform(0, 0.5))
                claims.postpone(session, self.claim_key, self._rows(indices), due)
                self._retry_by(due)

    def still_sending(self) -> bool:
        with self.sessions.begin() as session:
            status = session.get(Campaign, self.campaign.id, populate_existing=True).status
        return status == CampaignStatus.SENDING

    def _record_and_begin(self, db, index: int, result: Result, begin: int | None) -> bool:  # type: ignore[no-untyped-def]
        status = result.status
        assert status is not None
        next_row = None if begin is None else self.held[begin].delivery_id
        row = self.held[index]
        still_ours = claims.finish_and_begin(
            db, self.claim_key, row.delivery_id, status, next_row, **result.values
        )
        if status == DeliveryStatus.BOUNCED:  # the relay says the address does not exist
            suppression.mark_bounced(db, row.subscriber_id, result.values["reply"])
        if status == DeliveryStatus.SENT:
            self.outcome.sent += 1
        elif status == DeliveryStatus.UNKNOWN:
            self.outcome.unknown += 1
        else:
            self.outcome.failed += 1
        return still_ours

    def _defer(self, session, rows: list[int], error: str, *, count_attempt: bool = False) -> None:  # type: ignore[no-untyped-def]
        settings = self.res.settings
        deferred = claims.defer(
            session,
            self.claim_key,
            rows,
            error,
            delays=settings.retry_delays,
            max_age=timedelta(seconds=settings.retry_max_age),
            jitter=random.uniform(-0.2, 0.2),
            count_attempt=count_attempt,
        )
        self.outcome.failed += len(deferred.failed)
        self.outcome.error = error  # the latest temporary failure, logged with the retry
        if deferred.retry_at is not None:
            self._retry_by(deferred.retry_at)

    def _retry_by(self, when: datetime) -> None:
        current = self.outcome.retry_at
        self.outcome.retry_at = min(current, when) if current else when

    def _rows(self, indices: Iterable[int]) -> list[int]:
        return [self.held[i].delivery_id for i in indices]
