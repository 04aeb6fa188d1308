"""Claims on delivery rows: how a worker holds rows while it sends, and how a dead worker's
rows are recovered without sending anyone a message twice.

A claim is keyed by the task that made it. Its rows are `sending`; the worker transmits them
one at a time in id order and records each outcome in the same transaction that marks the
next row as in flight (`attempted_at`). So at any moment at most one `sending` row of a claim
has `attempted_at` set: if the worker dies, that row may or may not have reached the relay
(`unknown`), and every other `sending` row certainly did not (back to `queued`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, exists, func, or_, select, update
from sqlalchemy.orm import Session

from broadsheet.models import (
    Campaign,
    CampaignStatus,
    Delivery,
    DeliveryStatus,
    Subscriber,
    SubscriberStatus,
    utcnow,
)
from broadsheet.services import holds

SUPPRESSED_ERROR = "suppressed: the reader is no longer active"

# The hold verbs over the ledger (broadsheet/services/holds.py), which the outbox shares.
DELIVERIES = holds.Holds(
    Delivery.__table__,
    DeliveryStatus,
    waiting=DeliveryStatus.QUEUED,
    due="next_attempt_at",
    kept=("last_error", "relay_reply", "message_id", "sent_at"),
    queued_at="queued_at",
)


@dataclass(frozen=True)
class Claimed:
    """One delivery a worker now holds, with what it needs to address the message."""

    delivery_id: int
    subscriber_id: int
    email: str
    name: str
    # For {{ reader.attributes.<key> }} in the email: loaded with the batch, never per message.
    attributes: dict[str, Any] | None = None


@dataclass(frozen=True)
class Recovered:
    unknown: int
    requeued: int
    # (campaign, first id, last id) spanning the rows back in the queue, per campaign: what a
    # batch must cover to send them now rather than when the campaign is seen to stall.
    ranges: tuple[tuple[int, int, int], ...] = ()


def claim(
    session: Session,
    campaign_id: int,
    first_id: int,
    last_id: int,
    claim_key: str,
    lease: timedelta,
    *,
    begin_first: bool = True,
) -> list[Claimed]:
    """Take the due, queued deliveries in [first_id, last_id] of a sending campaign.

    Rows another transaction holds are skipped (`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite
    serialises writers with BEGIN IMMEDIATE). Readers who left since planning are failed as
    suppressed, not mailed. The first row returned is marked in flight, unless the caller
    chooses which goes first (`begin_first=False`) and begins it itself.
    """
    now = utcnow()
    due = (
        select(Delivery.id)
        .where(
            Delivery.campaign_id == campaign_id,
            Delivery.id.between(first_id, last_id),
            Delivery.status == DeliveryStatus.QUEUED,
            or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now),
        )
        .order_by(Delivery.id)
        .with_for_update(skip_locked=True)
    )
    sending = exists().where(Campaign.id == campaign_id, Campaign.status == CampaignStatus.SENDING)
    rows = session.execute(
        update(Delivery)
        .where(Delivery.id.in_(due.scalar_subquery()), sending)
        .values(
            status=DeliveryStatus.SENDING,
            claimed_by=claim_key,
            lease_expires_at=now + lease,
            attempted_at=None,
        )
        .returning(Delivery.id, Delivery.subscriber_id)
        .execution_options(synchronize_session=False)
    ).all()
    if not rows:
        return []
    delivery_of = {sid: did for did, sid in rows}
    readers = session.execute(
        select(
            Subscriber.id, Subscriber.email, Subscriber.name, Subscriber.status,
            Subscriber.attributes,
        ).where(Subscriber.id.in_(delivery_of))
    ).all()  # fmt: skip
    held, suppressed = [], []
    for sid, email, name, status, attributes in readers:
        if status == SubscriberStatus.ACTIVE:
            held.append(Claimed(delivery_of[sid], sid, email, name, attributes))
        else:
            suppressed.append(delivery_of[sid])
    if suppressed:
        finish(
            session,
            claim_key,
            suppressed,
            DeliveryStatus.FAILED,
            error=SUPPRESSED_ERROR,
            suppressed=True,
        )
    held.sort(key=lambda c: c.delivery_id)
    if held and begin_first:
        begin(session, claim_key, held[0].delivery_id)
    return held


def next_due(session: Session, campaign_id: int, first_id: int, last_id: int) -> datetime | None:
    """When the earliest row of the range that waits for a retry falls due (None: no row
    waits, or the campaign is not sending), so the range's task knows when to run again.
    A time already past counts too: a row that fell due after the batch claimed, but before
    this question, must not be left for the tick to find as a stalled send."""
    sending = exists().where(Campaign.id == campaign_id, Campaign.status == CampaignStatus.SENDING)
    return session.scalar(
        select(func.min(Delivery.next_attempt_at)).where(
            Delivery.campaign_id == campaign_id,
            Delivery.id.between(first_id, last_id),
            Delivery.status == DeliveryStatus.QUEUED,
            Delivery.next_attempt_at.is_not(None),
            sending,
        )
    )


def begin(session: Session, claim_key: str, delivery_id: int) -> bool:
    """Mark a held row as in flight: its transmission is about to start. False when the
    claim no longer holds it (its lease expired and it was settled): then do not send it."""
    return DELIVERIES.begin(session, claim_key, delivery_id)


def finish(
    session: Session,
    claim_key: str,
    delivery_ids: Sequence[int],
    status: DeliveryStatus,
    *,
    error: str | None = None,
    reply: str | None = None,
    message_id: str | None = None,
    suppressed: bool = False,
) -> int:
    """Record a final outcome for rows this claim still holds; returns how many changed.
    `suppressed`: failed unsent, because the reader is no longer active."""
    return DELIVERIES.finish(
        session,
        claim_key,
        delivery_ids,
        status,
        last_error=error,
        relay_reply=reply,
        message_id=message_id,
        suppressed=True if suppressed else None,
    )


def finish_and_begin(
    db: Session | Connection,
    claim_key: str,
    done_id: int,
    status: DeliveryStatus,
    next_id: int | None,
    *,
    error: str | None = None,
    reply: str | None = None,
    message_id: str | None = None,
) -> bool:
    """`finish` one row and `begin` the next in a single statement, the sending path's one
    round trip per message (on a Connection in autocommit mode it is also the commit). False
    when `next_id` is no longer this claim's."""
    now = utcnow()
    params = {
        "key": claim_key,
        "done": done_id,
        "next": next_id,
        "status": status,
        "last_error": error,
        "relay_reply": reply,
        "message_id": message_id,
        "sent_at": now if status == DeliveryStatus.SENT else None,
        "now": now,
    }
    changed = DELIVERIES.finish_and_begin(db, params)
    return next_id is None or next_id in changed


def release(
    session: Session,
    claim_key: str,
    delivery_ids: Sequence[int],
    error: str,
    retry_at: datetime | None = None,
) -> int:
    """Give held rows back to the queue after a temporary failure, due again at `retry_at`."""
    return DELIVERIES.give_back(session, claim_key, delivery_ids, retry_at, error=error)


def postpone(session: Session, claim_key: str, delivery_ids: Sequence[int], until: datetime) -> int:
    """Give held rows back unsent until `until` (their domain or relay is at its rate): not a
    failure, so the attempt `begin` counted for an in-flight row is taken back."""
    return DELIVERIES.give_back(session, claim_key, delivery_ids, until, undo_attempt=True)


def renew(session: Session, claim_key: str, until: datetime) -> bool:
    """Extend a live worker's hold on the rows it still has to send; False means the claim
    holds nothing any more: the worker stops (see `Holds.renew`)."""
    return DELIVERIES.renew(session, claim_key, until)


def recover(session: Session, claim_key: str, now: datetime | None = None) -> Recovered:
    """Settle an expired claim: its in-flight row is `unknown` (it may have been delivered),
    its never-attempted rows go back to the queue. One statement, and only rows whose lease
    has run out, so a worker that is merely slow is never overtaken."""
    settled = DELIVERIES.recover(session, now or utcnow(), claim_key, "campaign_id")
    spans: dict[int, tuple[int, int]] = {}
    for status, delivery_id, campaign_id in settled:
        if status == DeliveryStatus.QUEUED:
            low, high = spans.get(campaign_id, (delivery_id, delivery_id))
            spans[campaign_id] = (min(low, delivery_id), max(high, delivery_id))
    unknown = sum(1 for status, _, _ in settled if status == DeliveryStatus.UNKNOWN)
    ranges = tuple((c, low, high) for c, (low, high) in sorted(spans.items()))
    return Recovered(unknown, len(settled) - unknown, ranges)


def expired_claims(session: Session, now: datetime | None = None) -> list[str]:
    """Claims whose lease ran out: their worker (or its whole host) is gone."""
    return list(
        session.scalars(
            select(Delivery.claimed_by)
            .where(
                Delivery.status == DeliveryStatus.SENDING,
                Delivery.lease_expires_at < (now or utcnow()),
            )
            .distinct()
        )
    )


def defer(
    session: Session,
    claim_key: str,
    delivery_ids: Sequence[int],
    error: str,
    *,
    delays: Sequence[int],
    max_age: timedelta,
    jitter: float = 0.0,
    count_attempt: bool = False,
) -> holds.Deferred:
    """A temporary failure: retry each row after the delay for its attempt count (scaled by
    1 + jitter), or give it up as failed once it has used every delay or has been in the
    queue longer than `max_age` (since planning, or since retry-failed queued it again).

    `count_attempt` counts the failure as an attempt for rows not yet begun (the relay could
    not be reached at all), so a relay that stays down uses up the budget.
    """
    return DELIVERIES.defer(
        session,
        claim_key,
        delivery_ids,
        error,
        delays=delays,
        max_age=max_age,
        jitter=jitter,
        count_attempt=count_attempt,
    )
