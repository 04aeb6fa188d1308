"""The one send loop, for campaign batches (worker/batch.py) and the outbox sweep
(worker/sweep.py) alike: a connection place at a relay, a claim on ledger rows, one SMTP
connection, a booked throttle slot per message, and each outcome in the ledger in the
statement that marks the next row in flight.

What differs between the two is the ledger: which rows a claim takes, how a message is built,
where outcomes are written. Each supplies a `Source` (claims rows, says when to claim again)
and a `Ledger` per claim (the held rows and their outcomes); everything else is here once:
pacing, the order of record and send, how a refusal is classified, and when to run again.
"""

from __future__ import annotations

import abc
import enum
import functools
import logging
import random
import smtplib
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import parseaddr
from typing import Protocol

import redis
from sqlalchemy import Connection
from sqlalchemy.orm import Session, sessionmaker

from broadsheet import telemetry
from broadsheet.db import make_session_factory
from broadsheet.models import utcnow
from broadsheet.settings import SmtpTarget
from worker import metrics, smtp
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
from worker.send_counts import add_sends
from worker.smtp import Aborted, Lost, Rejected, transmit

log = logging.getLogger(__name__)

# How often (seconds) the loop asks the ledger whether the send goes on (a campaign may be
# paused or cancelled meanwhile).
STATUS_CHECK_SECONDS = 0.5


class Fate(enum.Enum):
    """A message's final outcome, in words both ledgers map to their own statuses."""

    SENT = "sent"
    FAILED = "failed"  # refused for good, or no message could be built
    BOUNCED = "bounced"  # the relay says the address does not exist: the reader bounces
    UNKNOWN = "unknown"  # the connection broke after the body went out


@dataclass(frozen=True)
class Result:
    """What happened to one message: a fate, or None for a temporary refusal (retried)."""

    fate: Fate | None
    values: Mapping[str, str] = field(default_factory=dict)  # error, reply


@dataclass
class Outcome:
    """What a run did, and when it should run again (`retry_at`, None: not for its rows)."""

    sent: int = 0
    failed: int = 0
    unknown: int = 0
    stopped: bool = False  # the send was paused or cancelled mid-run
    more: bool = False  # stopped with rows still due: run again at once
    retry_at: datetime | None = None
    error: str | None = None  # the latest temporary failure, for the log
    # Messages sent by recipient domain, not yet added to the admin's rates (send_counts.py).
    sent_to: Counter[str] = field(default_factory=Counter)

    def retry_by(self, when: datetime | None) -> None:
        """Run again no later than `when`: the one place a run's next time is decided."""
        if when is not None and (self.retry_at is None or when < self.retry_at):
            self.retry_at = when

    def count(self, fate: Fate) -> None:
        if fate is Fate.SENT:
            self.sent += 1
        elif fate is Fate.UNKNOWN:
            self.unknown += 1
        else:
            self.failed += 1

    def counts(self) -> dict[str, int]:
        return {"sent": self.sent, "failed": self.failed, "unknown": self.unknown}


@dataclass
class Connections:
    """The database connections a run holds: `db` for sessions (claims, deferrals), and `hot`
    for the one statement per message, in autocommit mode on PostgreSQL (no BEGIN and COMMIT
    round trips). Held for the whole run: no pool checkout, no liveness ping per message."""

    db: Connection
    hot: Connection
    sessions: sessionmaker[Session]
    autocommit: bool


@dataclass
class Ledger(abc.ABC):
    """The rows one claim holds, in sending order, and how their outcomes reach the ledger.

    The transactions are the same for both kinds: each outcome in the commit that marks the
    next row in flight (one statement on the hot connection in the common case; a session
    when a refusal is retried or a reader bounces); deferrals, put-offs and give-backs one
    statement for all the rows concerned. Subclasses say which statements, on which table.
    """

    res: Resources
    held: Connections
    claim_key: str
    outcome: Outcome

    # --- what a kind of ledger supplies ----------------------------------------------------
    @abc.abstractmethod
    def addresses(self) -> Sequence[str]:
        """Each held row's recipient address, in sending order."""

    @abc.abstractmethod
    def message(self, index: int) -> bytes:
        """Row `index`'s message; ValueError when none can be built for its address."""

    @abc.abstractmethod
    def still_sending(self) -> bool:
        """False once the send was paused or cancelled."""

    @abc.abstractmethod
    def _finish_and_begin(
        self, db: Session | Connection, index: int, fate: Fate, values: Mapping[str, str],
        begin: int | None,
    ) -> bool:  # fmt: skip
        """Row `index`'s final fate and row `begin` in flight, one statement on `db`."""

    @abc.abstractmethod
    def _begin(self, session: Session, index: int) -> bool:
        """Row `index` in flight (no outcome to record with it)."""

    @abc.abstractmethod
    def _defer(
        self, session: Session, indices: Sequence[int], error: str, *, count_attempt: bool
    ) -> tuple[list[int], datetime | None]:
        """Rows retried later or given up: (the indices given up, the earliest retry)."""

    @abc.abstractmethod
    def _give_back(
        self, session: Session, indices: Sequence[int], due: datetime | None, reason: str | None
    ) -> None:
        """Rows back to waiting, unsent and not refused, due at `due` (None: at once)."""

    @abc.abstractmethod
    def _bounce(self, session: Session, index: int, reply: str) -> None:
        """The relay said row `index`'s address does not exist: the reader bounces."""

    @abc.abstractmethod
    def about(self, index: int) -> tuple[str, dict[str, object]]:
        """Row `index` as a log line names it, and its ids for the line (logformat.IDS)."""

    # --- the same for every kind -----------------------------------------------------------
    def record(self, done: tuple[int, Result] | None, begin: int | None) -> bool:
        """In one commit: row `done`'s outcome (an index into the held rows) and row `begin`
        in flight. False when `begin` is no longer this claim's (its lease ran out and the
        tick settled it): the sender must stop."""
        fate = None if done is None else done[1].fate
        if done is not None and fate not in (None, Fate.BOUNCED):
            still_ours = self._fast_record(*done, begin)  # the common case: one statement
        else:
            with self.held.sessions.begin() as session:
                still_ours = self._record_in(session, done, begin)
        if not still_ours:
            log.warning("claim %s expired while its worker was busy; stopping", self.claim_key)
        return still_ours

    def _fast_record(self, index: int, result: Result, begin: int | None) -> bool:
        assert result.fate is not None
        hot = self.held.hot
        if self.held.autocommit:
            still_ours = self._finish_and_begin(hot, index, result.fate, result.values, begin)
        else:
            with hot.begin():
                still_ours = self._finish_and_begin(hot, index, result.fate, result.values, begin)
        self.outcome.count(result.fate)
        return still_ours

    def _record_in(
        self, session: Session, done: tuple[int, Result] | None, begin: int | None
    ) -> bool:
        if done is not None and done[1].fate is Fate.BOUNCED:
            index, result = done
            still_ours = self._finish_and_begin(session, index, Fate.BOUNCED, result.values, begin)
            self._bounce(session, index, result.values["reply"])
            self.outcome.count(Fate.BOUNCED)
            return still_ours
        if done is not None:  # refused for now: retried later
            self._defer_in(session, [done[0]], done[1].values["reply"], count_attempt=False)
        return begin is None or self._begin(session, begin)

    def defer(self, indices: Iterable[int], error: str, *, count_attempt: bool) -> None:
        """A temporary failure for rows not sent: due again after RETRY_DELAYS, or failed.
        `count_attempt` counts it as an attempt for rows never begun (no relay answered)."""
        with self.held.sessions.begin() as session:
            self._defer_in(session, list(indices), error, count_attempt=count_attempt)

    def _defer_in(
        self, session: Session, indices: Sequence[int], error: str, *, count_attempt: bool
    ) -> None:
        given_up, retry_at = self._defer(session, indices, error, count_attempt=count_attempt)
        for index in given_up:
            self.log_outcome(index, Result(Fate.FAILED, {"error": f"retries spent; {error}"}))
        self.outcome.failed += len(given_up)
        self.outcome.error = error
        self.outcome.retry_by(retry_at)

    def log_outcome(self, index: int, result: Result) -> None:
        """One line for a message not sent (refused, deferred, failed, unknown), with its
        ids; never one for a message sent (a line each would cost the send its pace)."""
        what, ids = self.about(index)
        fate = "deferred" if result.fate is None else result.fate.value
        level = logging.INFO if result.fate in (None, Fate.BOUNCED) else logging.WARNING
        detail = result.values.get("reply") or result.values.get("error")
        log.log(level, "%s %s: %s", what, fate, detail, extra=ids)

    def put_off(self, waits: Mapping[int, float]) -> None:
        """Rows whose domain is at its rate go back unsent, each due when its domain frees
        (with up to half a second of jitter, so they do not all come back at once)."""
        if not waits:
            return
        by_wait: dict[float, list[int]] = {}  # rows of one domain share their wait
        for index, seconds in waits.items():
            by_wait.setdefault(seconds, []).append(index)
        now = utcnow()
        with self.held.sessions.begin() as session:
            for seconds, indices in by_wait.items():
                due = now + timedelta(seconds=seconds + random.uniform(0, 0.5))
                self._give_back(session, indices, due, None)
                self.outcome.retry_by(due)

    def give_back(self, indices: Iterable[int], reason: str) -> None:
        """The send stopped: rows not yet sent go back, due at once."""
        with self.held.sessions.begin() as session:
            self._give_back(session, list(indices), None, reason)
        self.outcome.stopped = True


class Source(Protocol):
    """Where a run's rows come from: a campaign's id range, or the outbox."""

    kind: str  # "campaign" or "outbox", as /metrics names the runs

    def claim(self, held: Connections, claim_key: str, outcome: Outcome) -> Ledger | None:
        """Claim rows (their own transaction) as a ledger sharing `outcome`; None: none due."""

    def again(self, ledger: Ledger) -> bool:
        """Whether to claim again over the same connection after this claim's rows."""

    def renew(self, session: Session, claim_key: str, until: datetime) -> bool:
        """Extend the claim's lease (the lease keeper's call); False: it holds nothing."""

    def next_due(self, session: Session) -> datetime | None:
        """When the earliest of this source's rows that wait for a retry falls due."""


def run(res: Resources, claim_key: str, source: Source, *, seconds: float = 0.0) -> Outcome:
    """Claim, connect and send until the source has nothing due, claiming again while it
    says so for at most `seconds` (then `more`); the outcome says when to run again."""
    relays = in_turn(res.settings.relays)
    place = wait_for_place(res, relays, claim_key)
    if place is None:  # every relay has all the connections it allows: try again shortly
        busy = Outcome(error="every relay connection is in use")
        busy.retry_by(utcnow() + timedelta(seconds=PLACE_RETRY))
        return busy
    outcome = Outcome()
    started = time.monotonic()
    try:
        engine = res.sessions.kw["bind"]
        with engine.connect() as db, engine.connect() as hot:
            autocommit = engine.dialect.name == "postgresql"
            if autocommit:
                hot.execution_options(isolation_level="AUTOCOMMIT")
            sessions = make_session_factory(db)
            metrics.count_commits(sessions, lambda: res.redis)
            held = Connections(db, hot, sessions, autocommit)
            ordered = relays[place:] + relays[:place]
            _send_claims(res, claim_key, source, held, ordered, outcome, seconds)
            if not (outcome.stopped or outcome.more):
                with held.sessions.begin() as session:
                    outcome.retry_by(source.next_due(session))
    finally:
        release_places(res, relays, claim_key)
        metrics.observe(telemetry.RUN_DURATION, time.monotonic() - started, source.kind)
        metrics.flush(res.redis, force=True)
    return outcome


def _send_claims(
    res: Resources,
    claim_key: str,
    source: Source,
    held: Connections,
    relays: list[SmtpTarget],
    outcome: Outcome,
    seconds: float,
) -> None:
    deadline = time.monotonic() + seconds
    connection: tuple[SmtpTarget, smtplib.SMTP] | None = None
    try:
        while (ledger := source.claim(held, claim_key, outcome)) is not None:
            # The lease is renewed from a thread of its own from the claim on, while a relay
            # is slow to answer the connection or a message (worker/lease.py).
            with LeaseKeeper(res, claim_key, PLACE_LEASE, renew=source.renew) as keeper:
                if connection is None:
                    got = connect_first(res, relays, claim_key)
                    if isinstance(got, str):  # no relay answered: the rows wait, counted
                        ledger.defer(range(len(ledger.addresses())), got, count_attempt=True)
                        return
                    connection = got
                keeper.relay = connection[0]
                worked_through = work_through(res, ledger, *connection, keeper)
                add_sends(res.redis, connection[0].name, outcome.sent_to)
                if not worked_through:
                    return
            if not source.again(ledger):
                return
            if time.monotonic() > deadline:
                outcome.more = True
                return
    finally:
        if connection is not None:
            smtp.close(connection[1])


def work_through(
    res: Resources, ledger: Ledger, relay: SmtpTarget, conn: smtplib.SMTP, keeper: LeaseKeeper
) -> bool:
    """Send the ledger's rows over `conn`, each when the throttle gives it a slot; True when
    all were dealt with, False when the run must stop (the claim or the connection lost,
    the rate limiter unreachable, the send paused)."""
    envelope_from = parseaddr(res.settings.mail_from)[1]
    addresses = ledger.addresses()
    domains = [address.rpartition("@")[2].lower() for address in addresses]
    pacer = Pacer(res.throttle, relay, domains)
    done: tuple[int, Result] | None = None  # the last message sent, its outcome not recorded
    status_checked = time.monotonic()
    while True:
        if keeper.lost.is_set():
            return False  # the tick settled this claim: none of these rows are ours
        if time.monotonic() > status_checked + STATUS_CHECK_SECONDS:
            if not ledger.still_sending():
                ledger.record(done, begin=None)
                ledger.give_back(pacer.left, "the send was paused or cancelled")
                return False
            status_checked = time.monotonic()
            metrics.flush(res.redis)
        try:
            turn = pacer.next_turn()
        except redis.RedisError as exc:  # nothing more was sent: try the rest again later
            ledger.record(done, begin=None)
            ledger.defer(pacer.left, f"rate limiter unavailable: {exc}", count_attempt=False)
            return False
        if turn.wait:
            # Wait for the slot before the next row is marked in flight: a worker killed
            # meanwhile leaves the message just sent as the one `unknown`, and that reader
            # has it, rather than one who was never sent anything.
            time.sleep(turn.wait)
            metrics.add(telemetry.THROTTLE_WAITS, relay.name)
            metrics.add(telemetry.THROTTLE_WAIT_SECONDS, relay.name, n=turn.wait)
        ledger.put_off(turn.put_off)
        if turn.index is None:
            ledger.record(done, begin=None)
            return True
        index = turn.index
        try:
            message = ledger.message(index)
        except ValueError as exc:  # an address no relay would take: final for this row
            if not ledger.record(done, begin=index):
                return False
            done = (index, Result(Fate.FAILED, {"error": f"cannot build message: {exc}"}))
            _count(relay, done[1].fate)
            ledger.log_outcome(*done)
            continue
        # The last outcome and this row's start are written while the relay answers the
        # envelope; the body goes only once they are in (see `transmit`).
        begin = functools.partial(ledger.record, done, index)
        started = time.monotonic()
        try:
            reply = transmit(conn, envelope_from, addresses[index], message, meanwhile=begin)
        except Aborted:
            return False
        except Rejected as exc:
            metrics.since(telemetry.RELAY_LATENCY, started, relay.name)
            done = (index, refusal(res, relay, domains[index], exc))
            _count(relay, done[1].fate)
            ledger.log_outcome(*done)
            continue
        except Lost as exc:
            error = f"connection lost: {exc}"
            _count(relay, Fate.UNKNOWN if exc.maybe_delivered else None)
            ledger.log_outcome(index, Result(Fate.UNKNOWN if exc.maybe_delivered else None,
                                             {"error": error}))  # fmt: skip
            if exc.maybe_delivered:
                ledger.record((index, Result(Fate.UNKNOWN, {"error": error})), None)
                ledger.defer(pacer.left, error, count_attempt=False)
            else:
                ledger.defer([index, *pacer.left], error, count_attempt=False)
            return False
        metrics.since(telemetry.RELAY_LATENCY, started, relay.name)
        _count(relay, Fate.SENT)
        done = (index, Result(Fate.SENT, {"reply": reply}))
        ledger.outcome.sent_to[domains[index]] += 1


def _count(relay: SmtpTarget, fate: Fate | None) -> None:
    """One message's outcome for /metrics (None: deferred, to be retried)."""
    metrics.add(telemetry.MESSAGES, "deferred" if fate is None else fate.value, relay.name)


def refusal(res: Resources, relay: SmtpTarget, domain: str, exc: Rejected) -> Result:
    """What a refusal means for the row (only 421 and 4.7.x slow the rates down)."""
    slow_down_after(res, relay, domain, exc)
    if exc.no_such_address:
        return Result(Fate.BOUNCED, {"error": "no such address", "reply": exc.reply})
    fate = Fate.FAILED if exc.permanent else None
    return Result(fate, {"error": "refused by the relay", "reply": exc.reply})
