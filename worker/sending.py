"""Sending one batch of a campaign: a connection place at a relay, the claim, one SMTP
connection, a booked slot per message, and each outcome in the ledger (worker/batch.py)."""

from __future__ import annotations

import functools
import logging
import smtplib
import time
from datetime import timedelta
from email.utils import parseaddr

import redis

from broadsheet.db import make_session_factory
from broadsheet.message import MessageSkeleton, domain_of
from broadsheet.models import Campaign, DeliveryStatus, utcnow
from broadsheet.outbox import campaign_recipient, campaign_skeleton
from broadsheet.services import claims
from broadsheet.settings import SmtpTarget
from worker import smtp
from worker.batch import Batch, BatchOutcome, Result
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
from worker.smtp import Aborted, Lost, Rejected, transmit

log = logging.getLogger(__name__)

# How often (seconds) a batch checks that its campaign was not paused or cancelled.
STATUS_CHECK_SECONDS = 0.5


def send_batch(
    res: Resources, campaign_id: int, first_id: int, last_id: int, claim_key: str
) -> BatchOutcome:
    """Send the due, queued deliveries of one id range over one SMTP connection; the
    outcome's `retry_at` says when rows of the range that wait for a retry fall due."""
    outcome = _send_due(res, campaign_id, first_id, last_id, claim_key)
    if not outcome.stopped:
        with res.sessions.begin() as session:
            due = claims.next_due(session, campaign_id, first_id, last_id)
        if due is not None and (outcome.retry_at is None or due < outcome.retry_at):
            outcome.retry_at = due
    return outcome


def _send_due(
    res: Resources, campaign_id: int, first_id: int, last_id: int, claim_key: str
) -> BatchOutcome:
    relays = in_turn(res.settings.relays)
    place = wait_for_place(res, relays, claim_key)
    if place is None:  # every relay has all the connections it allows: try again shortly
        retry_at = utcnow() + timedelta(seconds=PLACE_RETRY)
        return BatchOutcome(retry_at=retry_at, error="every relay connection is in use")
    try:
        with res.sessions.begin() as session:
            lease = timedelta(seconds=res.settings.claim_lease)
            held = claims.claim(
                session, campaign_id, first_id, last_id, claim_key, lease, begin_first=False
            )
            campaign = session.get(Campaign, campaign_id) if held else None
        if not held or campaign is None:
            return BatchOutcome()
        engine = res.sessions.kw["bind"]
        keeper = LeaseKeeper(res, claim_key, PLACE_LEASE)
        with keeper, engine.connect() as db, engine.connect() as hot:
            autocommit = engine.dialect.name == "postgresql"
            if autocommit:
                hot.execution_options(isolation_level="AUTOCOMMIT")
            sessions = make_session_factory(db)
            batch = Batch(res, campaign, claim_key, held, sessions, hot, autocommit)
            connection = _connect(batch, relays[place:] + relays[:place])
            if connection is not None:
                relay, conn = connection
                keeper.relay = relay
                try:
                    skeleton = campaign_skeleton(campaign, res.settings)
                    _work_through(batch, relay, conn, skeleton, keeper)
                finally:
                    smtp.close(conn)
        return batch.outcome
    finally:
        release_places(res, relays, claim_key)


def _connect(batch: Batch, relays: list[SmtpTarget]) -> tuple[SmtpTarget, smtplib.SMTP] | None:
    """A connection to a relay, or None (the rows deferred) when none can be reached."""
    connection = connect_first(batch.res, relays, batch.claim_key)
    if isinstance(connection, str):
        batch.defer(range(len(batch.held)), connection, count_attempt=True)
        return None
    return connection


def _work_through(
    batch: Batch,
    relay: SmtpTarget,
    conn: smtplib.SMTP,
    skeleton: MessageSkeleton,
    keeper: LeaseKeeper,
) -> None:
    res = batch.res
    envelope_from = parseaddr(res.settings.mail_from)[1]
    domain = domain_of(res.settings.mail_from)
    domains = [item.email.rpartition("@")[2].lower() for item in batch.held]
    pacer = Pacer(res.throttle, relay, domains)
    done: tuple[int, Result] | None = None  # the last message sent, its outcome not yet recorded
    status_checked = time.monotonic()
    while True:
        if keeper.lost.is_set():
            return  # the tick settled this claim: none of these rows are ours
        if time.monotonic() > status_checked + STATUS_CHECK_SECONDS:
            if not batch.still_sending():
                batch.record(done, begin=None)
                batch.give_back(pacer.left, "the campaign was paused or cancelled")
                return
            status_checked = time.monotonic()
        try:
            turn = pacer.next_turn()
        except redis.RedisError as exc:  # nothing more was sent: try the rest again later
            batch.record(done, begin=None)
            batch.defer(pacer.left, f"rate limiter unavailable: {exc}", count_attempt=False)
            return
        if turn.wait:
            # Wait for the slot before the next row is marked in flight: a worker killed
            # meanwhile leaves the message just sent as the one `unknown`, and that reader
            # has it, rather than one who was never sent anything.
            time.sleep(turn.wait)
        batch.put_off(turn.put_off)
        if turn.index is None:
            batch.record(done, begin=None)
            return
        index, item = turn.index, batch.held[turn.index]
        recipient = campaign_recipient(
            res.settings, batch.campaign.id, item.subscriber_id, item.email, item.name, domain
        )
        try:
            message = skeleton.render(recipient)
        except ValueError as exc:  # an address no relay would take: final for this row
            if not batch.record(done, begin=index):
                return
            done = (index, Result(DeliveryStatus.FAILED, {"error": f"cannot build message: {exc}"}))
            continue
        # The last outcome and this row's start are written while the relay answers the
        # envelope; the body goes only once they are in (see `transmit`).
        begin = functools.partial(batch.record, done, index)
        try:
            reply = transmit(conn, envelope_from, recipient.email, message, meanwhile=begin)
        except Aborted:
            return
        except Rejected as exc:
            done = (index, _refusal(res, relay, domains[index], exc))
            continue
        except Lost as exc:
            error = f"connection lost: {exc}"
            if exc.maybe_delivered:
                batch.record((index, Result(DeliveryStatus.UNKNOWN, {"error": error})), None)
                batch.defer(pacer.left, error, count_attempt=False)
            else:
                batch.defer([index, *pacer.left], error, count_attempt=False)
            return
        sent = {"reply": reply, "message_id": recipient.message_id}
        done = (index, Result(DeliveryStatus.SENT, sent))


def _refusal(res: Resources, relay: SmtpTarget, domain: str, exc: Rejected) -> Result:
    """What a refusal means for the row (only 421 and 4.7.x slow the rates down)."""
    slow_down_after(res, relay, domain, exc)
    if exc.no_such_address:
        return Result(DeliveryStatus.BOUNCED, {"error": "no such address", "reply": exc.reply})
    status = DeliveryStatus.FAILED if exc.permanent else None
    return Result(status, {"error": "refused by the relay", "reply": exc.reply})
