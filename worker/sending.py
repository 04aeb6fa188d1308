"""Sending one batch of a campaign: claim rows, one SMTP connection, throttle, record outcomes.

Each outcome is committed before the next message starts, in the same transaction that marks
the next row in flight (see broadsheet/services/claims.py), so a killed worker leaves at most
one row whose fate is unknown.
"""

from __future__ import annotations

import contextlib
import logging
import random
import re
import smtplib
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import parseaddr

import redis

from broadsheet.bounces.report import refuses_address
from broadsheet.message import MessageSkeleton
from broadsheet.models import Campaign, CampaignStatus, DeliveryStatus, utcnow
from broadsheet.outbox import campaign_recipient, campaign_skeleton
from broadsheet.services import claims, suppression
from broadsheet.services.claims import Claimed
from worker import smtp
from worker.resources import Resources

log = logging.getLogger(__name__)

# SMTP transparency (RFC 5321 4.5.2): a line starting with "." gets another one. Messages end
# in CRLF (the skeleton guarantees it), so the terminating "." follows directly.
_LEADING_DOT = re.compile(rb"(?m)^\.")
# How often (in messages) a batch checks that its campaign was not paused or cancelled.
STATUS_CHECK_EVERY = 10


@dataclass
class BatchOutcome:
    sent: int = 0
    failed: int = 0
    unknown: int = 0
    stopped: bool = False  # the campaign was paused or cancelled mid-batch
    retry_at: datetime | None = None
    error: str | None = None


class Rejected(Exception):
    """The relay answered a command with a refusal; `code` says if it is temporary."""

    def __init__(self, code: int, reply: str) -> None:
        super().__init__(f"{code} {reply}")
        self.code = code
        self.reply = f"{code} {reply}"

    @property
    def permanent(self) -> bool:
        return self.code >= 500


class Lost(Exception):
    """The connection failed mid-message; `maybe_delivered` once the message body was sent."""

    def __init__(self, error: Exception, maybe_delivered: bool) -> None:
        super().__init__(str(error) or type(error).__name__)
        self.maybe_delivered = maybe_delivered


@dataclass
class Batch:
    """One claim being worked through: the rows, the connection, and what happened."""

    res: Resources
    campaign: Campaign
    claim_key: str
    held: list[Claimed]
    outcome: BatchOutcome = field(default_factory=BatchOutcome)

    def settle(
        self,
        index: int,
        status: DeliveryStatus | None,
        *,
        begin_next: bool = True,
        **values: object,
    ) -> bool:
        """Record row `index`'s outcome and mark row `index + 1` in flight, in one commit.
        `status` None means a temporary refusal: the row is deferred for a retry. False when
        the next row is no longer ours (the claim expired and was settled): stop sending."""
        row = self.held[index].delivery_id
        still_ours = True
        with self.res.sessions.begin() as session:
            if status is None:
                self._defer(session, [row], str(values["reply"]), count_attempt=False)
            else:
                claims.finish(session, self.claim_key, [row], status, **values)  # type: ignore[arg-type]
            if status == DeliveryStatus.BOUNCED:  # the relay says the address does not exist
                reason = str(values.get("reply"))
                suppression.mark_bounced(session, self.held[index].subscriber_id, reason)
            if begin_next and index + 1 < len(self.held):
                next_row = self.held[index + 1].delivery_id
                still_ours = claims.begin(session, self.claim_key, next_row)
        if status == DeliveryStatus.SENT:
            self.outcome.sent += 1
        elif status in (DeliveryStatus.FAILED, DeliveryStatus.BOUNCED):
            self.outcome.failed += 1
        elif status == DeliveryStatus.UNKNOWN:
            self.outcome.unknown += 1
        if not still_ours:
            log.warning("claim %s expired while its worker was busy; stopping", self.claim_key)
        return still_ours

    def defer_rest(self, start: int, error: str, *, count_attempt: bool) -> None:
        rows = [h.delivery_id for h in self.held[start:]]
        with self.res.sessions.begin() as session:
            self._defer(session, rows, error, count_attempt=count_attempt)

    def give_back_rest(self, start: int, reason: str) -> None:
        """The campaign stopped: rows not yet sent go back to the queue, due at once."""
        rows = [h.delivery_id for h in self.held[start:]]
        with self.res.sessions.begin() as session:
            claims.release(session, self.claim_key, rows, reason)
        self.outcome.stopped = True

    def still_sending(self) -> bool:
        with self.res.sessions.begin() as session:
            status = session.get(Campaign, self.campaign.id, populate_existing=True).status
        return status == CampaignStatus.SENDING

    def _defer(self, session, rows: list[int], error: str, *, count_attempt: bool) -> None:  # type: ignore[no-untyped-def]
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
            current = self.outcome.retry_at
            self.outcome.retry_at = (
                min(current, deferred.retry_at) if current else deferred.retry_at
            )


def send_batch(
    res: Resources, campaign_id: int, first_id: int, last_id: int, claim_key: str
) -> BatchOutcome:
    """Send the due, queued deliveries of one id range over one SMTP connection."""
    with res.sessions.begin() as session:
        lease = timedelta(seconds=res.settings.claim_lease)
        held = claims.claim(session, campaign_id, first_id, last_id, claim_key, lease)
        campaign = session.get(Campaign, campaign_id) if held else None
    if not held or campaign is None:
        return BatchOutcome()
    batch = Batch(res, campaign, claim_key, held)
    _work_through(batch, campaign_skeleton(campaign, res.settings))
    return batch.outcome


def _work_through(batch: Batch, skeleton: MessageSkeleton) -> None:
    res = batch.res
    try:
        conn = smtp.connect(res.settings.smtp, timeout=res.settings.smtp_timeout)
    except (OSError, smtplib.SMTPException) as exc:
        batch.defer_rest(0, f"cannot reach the relay: {exc}", count_attempt=True)
        return
    envelope_from = parseaddr(res.settings.mail_from)[1]
    lease = timedelta(seconds=res.settings.claim_lease)
    renewed = time.monotonic()
    try:
        for index, item in enumerate(batch.held):
            if time.monotonic() - renewed > lease.total_seconds() / 3:
                with res.sessions.begin() as session:
                    if not claims.renew(session, batch.claim_key, utcnow() + lease):
                        return  # the tick settled this claim: none of these rows are ours
                renewed = time.monotonic()
            if index and index % STATUS_CHECK_EVERY == 0 and not batch.still_sending():
                batch.give_back_rest(index, "the campaign was paused or cancelled")
                return
            recipient = campaign_recipient(
                res.settings, batch.campaign.id, item.subscriber_id, item.email, item.name
            )
            try:
                message = skeleton.render(recipient)
            except ValueError as exc:  # an address no relay would take: final for this row
                error = f"cannot build message: {exc}"
                if not batch.settle(index, DeliveryStatus.FAILED, error=error):
                    return
                continue
            try:
                res.throttle.wait()
            except redis.RedisError as exc:  # nothing was sent: try these rows again later
                batch.defer_rest(index, f"rate limiter unavailable: {exc}", count_attempt=False)
                return
            try:
                reply = transmit(conn, envelope_from, recipient.email, message)
            except Rejected as exc:
                if refuses_address(exc.code, exc.reply):
                    status, error = DeliveryStatus.BOUNCED, "no such address"
                else:
                    status = DeliveryStatus.FAILED if exc.permanent else None
                    error = "refused by the relay"
                if not batch.settle(index, status, error=error, reply=exc.reply):
                    return
                continue
            except Lost as exc:
                error = f"connection lost: {exc}"
                if exc.maybe_delivered:
                    batch.settle(index, DeliveryStatus.UNKNOWN, begin_next=False, error=error)
                    batch.defer_rest(index + 1, error, count_attempt=False)
                else:
                    batch.defer_rest(index, error, count_attempt=False)
                return
            sent = DeliveryStatus.SENT
            if not batch.settle(index, sent, reply=reply, message_id=recipient.message_id):
                return
    finally:
        smtp.close(conn)


def transmit(conn: smtplib.SMTP, envelope_from: str, rcpt: str, message: bytes) -> str:
    """One message over an open connection; returns the relay's reply to the message.

    MAIL, RCPT and DATA are issued one by one (not `sendmail`) so a refusal keeps its code, and
    a failure after the body went out is told apart from one before (`Lost.maybe_delivered`).
    """
    body_sent = False
    try:
        code, resp = conn.mail(envelope_from)
        if code == 250:
            code, resp = conn.rcpt(rcpt)
        if code in (250, 251):
            code, resp = conn.docmd("data")
            if code == 354:
                body_sent = True
                conn.send(_LEADING_DOT.sub(b"..", message) + b".\r\n")
                code, resp = conn.getreply()
        if code != 250:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                conn.rset()  # a dead connection shows itself at the next message
    except (smtplib.SMTPException, OSError) as exc:
        raise Lost(exc, maybe_delivered=body_sent) from exc
    if code != 250:
        raise Rejected(code, resp.decode(errors="replace"))
    return f"{code} {resp.decode(errors='replace')}"
