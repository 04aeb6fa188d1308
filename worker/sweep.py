"""The outbox sweep: owed mail (confirmations) sent in passes over one SMTP connection.

A sweep holds a connection place like a campaign batch, claims up to `PASS_ROWS` due rows,
sends them through the same throttle (worker/pacing.py), and records each outcome in the
statement that marks the next row in flight (broadsheet/services/outbox_queue.py). It claims
again while passes come back full, for at most `SWEEP_SECONDS`, then gives the connection up;
signups that arrive meanwhile have asked for the next sweep already (worker/tasks.py).
"""

from __future__ import annotations

import contextlib
import logging
import smtplib
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import parseaddr

import redis
from sqlalchemy import Connection
from sqlalchemy.orm import Session, sessionmaker

from broadsheet.db import make_session_factory
from broadsheet.models import OutboxStatus, utcnow
from broadsheet.outbox import confirmation_message
from broadsheet.services import outbox_queue, suppression
from broadsheet.services.outbox_queue import Held
from broadsheet.settings import SmtpTarget
from worker.connections import (
    PLACE_LEASE,
    PLACE_RETRY,
    connect_first,
    in_turn,
    release_places,
    slow_down_after,
    wait_for_place,
)
from worker.lease import LeaseKeeper
from worker.pacing import Pacer
from worker.resources import Resources
from worker.smtp import Lost, Rejected, close, transmit

log = logging.getLogger(__name__)

PASS_ROWS = 100  # rows claimed at a time
SWEEP_SECONDS = 20.0  # then the connection is given up and the next sweep takes over


@dataclass
class SweepOutcome:
    sent: int = 0
    failed: int = 0
    unknown: int = 0
    more: bool = False  # stopped with rows still due: sweep again at once
    retry_at: datetime | None = None  # when the earliest row left pending falls due
    error: str | None = None


@dataclass(frozen=True)
class Done:
    """What became of one message: a final status (None: refused for now), what to keep,
    and whether the relay said the address does not exist (the reader bounces)."""

    item: Held
    status: OutboxStatus | None
    values: dict[str, str]
    bounced: bool = False


def sweep(res: Resources, claim_key: str) -> SweepOutcome:
    """Send the due outbox rows, pass after pass, over one connection."""
    relays = in_turn(res.settings.relays)
    place = wait_for_place(res, relays, claim_key)
    if place is None:  # every connection place is taken: the rows wait for the next sweep
        retry_at = utcnow() + timedelta(seconds=PLACE_RETRY)
        return SweepOutcome(retry_at=retry_at, error="every relay connection is in use")
    engine = res.sessions.kw["bind"]
    try:
        with engine.connect() as db:
            run = _Sweep(res, db, make_session_factory(db), claim_key)
            run.work_through(relays[place:] + relays[:place])
            return run.outcome
    finally:
        release_places(res, relays, claim_key)


@dataclass
class _Sweep:
    res: Resources
    # One connection held for the whole sweep (no pool checkout per message): the common
    # outcome is written on it directly, the rest through sessions bound to it.
    db: Connection
    sessions: sessionmaker[Session]
    claim_key: str
    outcome: SweepOutcome = field(default_factory=SweepOutcome)

    def work_through(self, relays: list[SmtpTarget]) -> None:
        lease = timedelta(seconds=self.res.settings.claim_lease)
        deadline = time.monotonic() + SWEEP_SECONDS
        connection: tuple[SmtpTarget, smtplib.SMTP] | None = None
        try:
            while True:
                with self.sessions.begin() as session:
                    held = outbox_queue.claim(session, self.claim_key, lease, PASS_ROWS)
                if not held:
                    break
                if connection is None:
                    got = connect_first(self.res, relays, self.claim_key)
                    if isinstance(got, str):
                        self.defer(held, got)
                        return
                    connection = got
                if not self.one_pass(*connection, held) or len(held) < PASS_ROWS:
                    break
                if time.monotonic() > deadline:
                    self.outcome.more = True
                    return
        finally:
            if connection is not None:
                close(connection[1])
        with self.sessions.begin() as session:
            self._retry_by(outbox_queue.next_due(session))

    def one_pass(self, relay: SmtpTarget, conn: smtplib.SMTP, held: list[Held]) -> bool:
        """Send the held rows; False when the sweep must stop (connection or claim lost)."""
        keeper = LeaseKeeper(self.res, self.claim_key, PLACE_LEASE, renew=outbox_queue.renew)
        keeper.relay = relay
        with keeper:
            return self._send(relay, conn, held, keeper)

    def _send(
        self, relay: SmtpTarget, conn: smtplib.SMTP, held: list[Held], keeper: LeaseKeeper
    ) -> bool:
        settings = self.res.settings
        envelope_from = parseaddr(settings.mail_from)[1]
        domains = [item.subscriber.email.rpartition("@")[2].lower() for item in held]
        pacer = Pacer(self.res.throttle, relay, domains)
        done: Done | None = None  # the last message sent, its outcome not yet recorded
        while True:
            if keeper.lost.is_set():
                return False  # the tick settled this claim: none of these rows are ours
            try:
                turn = pacer.next_turn()
            except redis.RedisError as exc:
                self.record(done, None)
                self.defer([held[i] for i in pacer.left], f"rate limiter unavailable: {exc}")
                return False
            if turn.wait:
                time.sleep(turn.wait)  # before the next row is in flight, as campaigns do
            next_item = None if turn.index is None else held[turn.index]
            if not self.record(done, next_item):
                return False
            done = None
            self.put_off({held[i]: wait for i, wait in turn.put_off.items()})
            if next_item is None:
                return True
            try:
                message = confirmation_message(next_item.subscriber, settings)
                reply = transmit(conn, envelope_from, next_item.subscriber.email, message)
            except ValueError as exc:  # an address no relay would take
                error = {"error": f"cannot build message: {exc}"}
                done = Done(next_item, OutboxStatus.FAILED, error)
                continue
            except Rejected as exc:
                slow_down_after(self.res, relay, domains[turn.index], exc)
                done = _refused(next_item, exc)
                continue
            except Lost as exc:
                error = f"connection lost: {exc}"
                rest = [held[i] for i in pacer.left]
                if exc.maybe_delivered:
                    self.record(Done(next_item, OutboxStatus.UNKNOWN, {"error": error}), None)
                else:
                    rest.insert(0, next_item)
                self.defer(rest, error)
                return False
            done = Done(next_item, OutboxStatus.SENT, {"reply": reply})

    def record(self, done: Done | None, begin: Held | None) -> bool:
        """In one commit: `done`'s outcome, and row `begin` in flight. False when `begin`
        is no longer this sweep's (its lease ran out and the tick settled it). The common
        outcomes are one Core statement on the held connection; a retry or a bounce goes
        through a session (the reader's status changes too)."""
        next_id = None if begin is None else begin.row_id
        plain = done is None or (done.status is not None and not done.bounced)
        with contextlib.ExitStack() as transaction:
            if plain:
                transaction.enter_context(self.db.begin())
                db: Session | Connection = self.db
            else:
                db = transaction.enter_context(self.sessions.begin())
            if done is not None and done.status is None:  # refused for now: retried later
                assert isinstance(db, Session)
                self._defer(db, [done.item], done.values["reply"])
                done = None
            if done is None:
                still_ours = outbox_queue.finish_and_begin(db, self.claim_key, None, None, next_id)
            else:
                still_ours = outbox_queue.finish_and_begin(
                    db, self.claim_key, done.item, done.status, next_id, **done.values
                )
                if done.bounced:
                    assert isinstance(db, Session)
                    suppression.mark_bounced(db, done.item.subscriber.id, done.values["reply"])
                self._count(done.status)
        if not still_ours:
            log.warning("outbox claim %s expired while busy; stopping", self.claim_key)
        return still_ours

    def defer(self, items: list[Held], error: str) -> None:
        """A temporary failure for rows not sent: due again after RETRY_DELAYS, or failed."""
        with self.sessions.begin() as session:
            self._defer(session, items, error)

    def put_off(self, waits: dict[Held, float]) -> None:
        """Rows whose domain is at its rate go back, each due when its domain has room."""
        if not waits:
            return
        now = utcnow()
        with self.sessions.begin() as session:
            for item, seconds in waits.items():
                due = now + timedelta(seconds=seconds)
                outbox_queue.postpone(session, self.claim_key, [item.row_id], due)
                self._retry_by(due)

    def _defer(self, session: Session, items: list[Held], error: str) -> None:
        rows = [item.row_id for item in items]
        delays = self.res.settings.retry_delays
        self._retry_by(outbox_queue.defer(session, self.claim_key, rows, error, delays))
        self.outcome.error = error

    def _count(self, status: OutboxStatus | None) -> None:
        if status == OutboxStatus.SENT:
            self.outcome.sent += 1
        elif status == OutboxStatus.UNKNOWN:
            self.outcome.unknown += 1
        else:
            self.outcome.failed += 1

    def _retry_by(self, when: datetime | None) -> None:
        current = self.outcome.retry_at
        if when is not None and (current is None or when < current):
            self.outcome.retry_at = when


def _refused(item: Held, exc: Rejected) -> Done:
    if exc.no_such_address:
        values = {"error": "no such address", "reply": exc.reply}
        return Done(item, OutboxStatus.FAILED, values, bounced=True)
    status = OutboxStatus.FAILED if exc.permanent else None
    return Done(item, status, {"error": "refused by the relay", "reply": exc.reply})
