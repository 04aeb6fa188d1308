"""Applying a report: record it once (by fingerprint), trace it to a reader, suppress.

Recording comes first and is keyed by the report's fingerprint, so the same mail read twice
(a crash before it was deleted, two polls racing) or an SES notification delivered twice
changes nothing the second time. Functions here flush; the caller commits.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from broadsheet import telemetry
from broadsheet.bounces.matching import Match, match_report
from broadsheet.bounces.parse import read_report
from broadsheet.bounces.report import Report, address_in
from broadsheet.models import BounceReport, Campaign, Delivery, ReportKind, Subscriber
from broadsheet.services.suppression import (
    SoftBounceLimit,
    bounce_if_soft_bounces_pile_up,
    mark_bounced,
    mark_complained,
    mark_delivery_bounced,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    # "suppressed": the reader is now bounced or complained (or already was), or a soft
    # bounce reached the SOFT_BOUNCE_LIMIT and bounced them;
    # "recorded": kept for the record only (a soft bounce below the limit, a policy refusal);
    # "unmatched": not traceable to our mail; "duplicate": processed before;
    # "ignored": not a bounce or complaint at all.
    action: str
    report: Report | None = None
    match: Match | None = None


def fingerprint(*parts: bytes | str) -> str:
    """A stable key for a report; line endings do not count (IMAP and Maildir differ)."""
    digest = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        digest.update(data.replace(b"\r\n", b"\n"))
        digest.update(b"\0")
    return digest.hexdigest()


def process_mail(
    session: Session, raw: bytes, secret: str, *, soft_limit: SoftBounceLimit
) -> Outcome:
    """Read one mail from the bounce mailbox and apply what it reports."""
    report = read_report(raw)
    if report is None:
        return Outcome("ignored")
    key = fingerprint(raw)
    return process_report(
        session, report, key=key, source="mailbox", secret=secret, soft_limit=soft_limit
    )


def process_report(
    session: Session,
    report: Report,
    *,
    key: str,
    source: str,
    secret: str,
    soft_limit: SoftBounceLimit,
) -> Outcome:
    """Record `report` under `key` and, the first time, suppress the reader it is about
    (a soft bounce only once they reach `soft_limit`)."""
    match = _checked(session, match_report(report, secret), report)
    row = BounceReport(
        fingerprint=key,
        source=source,
        kind=report.kind,
        campaign_id=match.campaign_id if match else None,
        subscriber_id=match.subscriber_id if match else None,
        matched_by=match.method if match else None,
        recipient=report.recipient[:320] if report.recipient else None,
        status_code=report.status[:16] if report.status else None,
        diagnostic=report.diagnostic,
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return Outcome("duplicate", report, match)
    if report.kind == ReportKind.COMPLAINT:
        telemetry.note(session, telemetry.COMPLAINTS, source)
    else:
        telemetry.note(session, telemetry.BOUNCES, report.kind, source)
    context = f"{report.kind} {report.status or '-'} for {report.recipient or 'unknown address'}"
    if match is None:
        log.info("%s report (%s) is not about our mail", source, context)
        return Outcome("unmatched", report, None)
    log.info(
        "%s report (%s): subscriber %s, campaign %s, matched by %s",
        source, context, match.subscriber_id, match.campaign_id, match.method,
        extra={"subscriber_id": match.subscriber_id, "campaign_id": match.campaign_id},
    )  # fmt: skip
    return Outcome(_apply(session, report, match, soft_limit), report, match)


def _apply(session: Session, report: Report, match: Match, soft_limit: SoftBounceLimit) -> str:
    reason = report.diagnostic or f"status {report.status or 'unknown'}"
    if report.kind == ReportKind.HARD:
        mark_bounced(session, match.subscriber_id, reason, campaign_id=match.campaign_id)
        return "suppressed"
    if report.kind == ReportKind.COMPLAINT:
        mark_complained(session, match.subscriber_id, reason, match.campaign_id)
        return "suppressed"
    if report.kind == ReportKind.POLICY and match.campaign_id is not None:
        mark_delivery_bounced(session, match.campaign_id, match.subscriber_id, reason)
    if report.kind == ReportKind.SOFT and bounce_if_soft_bounces_pile_up(
        session, match.subscriber_id, soft_limit, reason
    ):
        return "suppressed"
    return "recorded"


def _checked(session: Session, match: Match | None, report: Report) -> Match | None:
    """The match, if the reader it names exists (a deleted campaign is dropped from it).
    A header match, which anyone could forge, must also agree with the ledger (we sent that
    campaign to that reader) and with the address the report names."""
    if match is None:
        return None
    subscriber = session.get(Subscriber, match.subscriber_id)
    if subscriber is None:
        return None
    if match.method == "headers" and not _consistent(session, match, report, subscriber):
        return None
    if match.campaign_id is not None and session.get(Campaign, match.campaign_id) is None:
        return Match(None, match.subscriber_id, match.method)
    return match


def _consistent(session: Session, match: Match, report: Report, subscriber: Subscriber) -> bool:
    to = address_in(str(report.original.get("To", ""))) if report.original else None
    if subscriber.email_key not in {a.lower() for a in (report.recipient, to) if a}:
        return False
    if match.campaign_id is None:
        return True
    sent = exists().where(
        Delivery.campaign_id == match.campaign_id, Delivery.subscriber_id == match.subscriber_id
    )
    return bool(session.scalar(select(sent)))
