"""Sending one batch of a campaign: claim rows, one SMTP connection, throttle, record outcomes."""

from __future__ import annotations

import logging
import smtplib
import time
from dataclasses import dataclass, field
from datetime import timedelta
from email.utils import parseaddr

from sqlalchemy.orm import Session

from broadsheet.models import Campaign, DeliveryStatus, utcnow
from broadsheet.outbox import campaign_recipient, campaign_skeleton
from broadsheet.services import ledger
from worker import smtp
from worker.resources import Resources

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
# A delivery that failed transiently this many times is given up as failed.
MAX_ATTEMPTS = 5


@dataclass
class BatchOutcome:
    sent: int = 0
    failed: int = 0
    retry: list[int] = field(default_factory=list)
    error: str | None = None


def send_batch(
    res: Resources, campaign_id: int, first_id: int, last_id: int, worker: str
) -> BatchOutcome:
    """Send the queued deliveries of one id range; transient failures go back to the queue."""
    outcome = BatchOutcome()
    with res.sessions.begin() as session:
        held = ledger.claim(session, campaign_id, first_id, last_id, worker, LEASE)
        campaign = session.get(Campaign, campaign_id) if held else None
    if not held or campaign is None:
        return outcome
    skeleton = campaign_skeleton(campaign, res.settings)
    envelope_from = parseaddr(res.settings.mail_from)[1]
    try:
        conn = smtp.connect(res.settings.smtp)
    except (OSError, smtplib.SMTPException) as exc:
        outcome.error = f"cannot reach the relay: {exc}"
        _give_back(res, [h.delivery_id for h in held], outcome.error, outcome)
        return outcome
    lease_renewed = time.monotonic()
    try:
        for index, item in enumerate(held):
            recipient = campaign_recipient(
                res.settings, campaign_id, item.subscriber_id, item.email, item.name
            )
            res.throttle.wait()
            try:
                message = skeleton.render(recipient)
                reply = _transmit(conn, envelope_from, recipient.email, message)
            except _Rejected as exc:
                _record(res, [item.delivery_id], outcome, rejected=exc)
                continue
            except (smtplib.SMTPException, OSError) as exc:
                outcome.error = f"connection lost: {exc}"
                rest = [h.delivery_id for h in held[index:]]
                _give_back(res, rest, outcome.error, outcome)
                return outcome
            _record(res, [item.delivery_id], outcome, reply=reply, message_id=recipient.message_id)
            if time.monotonic() - lease_renewed > LEASE.total_seconds() / 2:
                _renew(res, [h.delivery_id for h in held[index + 1 :]])
                lease_renewed = time.monotonic()
    finally:
        smtp.close(conn)
    return outcome


class _Rejected(Exception):
    def __init__(self, code: int, reply: str) -> None:
        super().__init__(f"{code} {reply}")
        self.code = code
        self.reply = f"{code} {reply}"

    @property
    def permanent(self) -> bool:
        return self.code >= 500


def _transmit(conn: smtplib.SMTP, envelope_from: str, rcpt: str, message: bytes) -> str:
    """One message over an open connection; returns the relay's reply to DATA.

    MAIL, RCPT and DATA are issued one by one (not `sendmail`) so a refusal keeps its code.
    """
    code, resp = conn.mail(envelope_from)
    if code == 250:
        code, resp = conn.rcpt(rcpt)
    if code in (250, 251):
        try:
            code, resp = conn.data(message)
        except smtplib.SMTPDataError as exc:
            code, resp = exc.smtp_code, exc.smtp_error
    if code != 250:
        conn.rset()
        raise _Rejected(code, resp.decode(errors="replace"))
    return f"{code} {resp.decode(errors='replace')}"


def _record(
    res: Resources,
    ids: list[int],
    outcome: BatchOutcome,
    *,
    reply: str | None = None,
    message_id: str | None = None,
    rejected: _Rejected | None = None,
) -> None:
    with res.sessions.begin() as session:
        if rejected is None:
            ledger.finish(session, ids, DeliveryStatus.SENT, reply=reply, message_id=message_id)
            outcome.sent += len(ids)
        elif rejected.permanent:
            ledger.finish(
                session, ids, DeliveryStatus.FAILED, error="rejected", reply=rejected.reply
            )
            outcome.failed += len(ids)
        else:
            _release_or_fail(session, ids, rejected.reply, outcome)


def _give_back(res: Resources, ids: list[int], error: str, outcome: BatchOutcome) -> None:
    with res.sessions.begin() as session:
        _release_or_fail(session, ids, error, outcome)


def _release_or_fail(session: Session, ids: list[int], error: str, outcome: BatchOutcome) -> None:
    """Transient failure: back to the queue, unless the delivery used up its attempts."""
    spent = ledger.attempts_at_least(session, ids, MAX_ATTEMPTS)
    if spent:
        ledger.finish(session, spent, DeliveryStatus.FAILED, error=f"gave up: {error}")
        outcome.failed += len(spent)
    retry = [i for i in ids if i not in set(spent)]
    ledger.release(session, retry, error)
    outcome.retry.extend(retry)


def _renew(res: Resources, ids: list[int]) -> None:
    with res.sessions.begin() as session:
        ledger.renew(session, ids, utcnow() + LEASE)
