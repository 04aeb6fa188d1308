"""The delivery ledger: plan one row per reader, claim rows in batches, record each outcome."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, func, insert, literal, select, update
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


@dataclass(frozen=True)
class Claimed:
    """One delivery a worker now holds, with what it needs to address the message."""

    delivery_id: int
    subscriber_id: int
    email: str
    name: str


def plan_deliveries(session: Session, campaign: Campaign) -> int:
    """Create a queued delivery for every active reader without one: one INSERT ... SELECT.

    Idempotent, so a re-run after a crash adds only what is missing. Readers who confirm later
    are not added: the audience is frozen when planning completes (`planned_at`).
    """
    now = utcnow()
    already = exists().where(
        Delivery.campaign_id == campaign.id, Delivery.subscriber_id == Subscriber.id
    )
    chosen = select(
        literal(campaign.id),
        Subscriber.id,
        literal(DeliveryStatus.QUEUED.value),
        literal(0),
        literal(now, type_=Delivery.created_at.type),
    ).where(Subscriber.status == SubscriberStatus.ACTIVE, ~already)
    result = session.execute(
        insert(Delivery)
        .from_select(["campaign_id", "subscriber_id", "status", "attempts", "created_at"], chosen)
        .execution_options(preserve_rowcount=True)
    )
    planned = result.rowcount
    campaign.planned_at = now
    session.flush()
    return planned


def batch_ranges(session: Session, campaign_id: int, size: int) -> Iterator[tuple[int, int]]:
    """Id ranges covering the queued deliveries, `size` rows each (keyset, no OFFSET scans)."""
    queued = and_(Delivery.campaign_id == campaign_id, Delivery.status == DeliveryStatus.QUEUED)
    last = 0
    while True:
        first = session.scalar(select(func.min(Delivery.id)).where(queued, Delivery.id > last))
        if first is None:
            return
        upper = session.scalar(
            select(Delivery.id)
            .where(queued, Delivery.id >= first)
            .order_by(Delivery.id)
            .offset(size - 1)
            .limit(1)
        )
        last = (
            upper
            if upper is not None
            else session.scalar(select(func.max(Delivery.id)).where(queued))
        )
        yield first, last


def claim(
    session: Session, campaign_id: int, first_id: int, last_id: int, worker: str, lease: timedelta
) -> list[Claimed]:
    """Atomically take the queued deliveries in [first_id, last_id] of a campaign that is
    sending; rows another worker holds are skipped. Readers who left meanwhile are not mailed."""
    sending = exists().where(Campaign.id == campaign_id, Campaign.status == CampaignStatus.SENDING)
    rows = session.execute(
        update(Delivery)
        .where(
            Delivery.campaign_id == campaign_id,
            Delivery.id.between(first_id, last_id),
            Delivery.status == DeliveryStatus.QUEUED,
            sending,
        )
        .values(
            status=DeliveryStatus.SENDING,
            claimed_by=worker,
            lease_expires_at=utcnow() + lease,
            attempts=Delivery.attempts + 1,
        )
        .returning(Delivery.id, Delivery.subscriber_id)
        .execution_options(synchronize_session=False)
    ).all()
    if not rows:
        return []
    ids = {sid: did for did, sid in rows}
    readers = session.execute(
        select(Subscriber.id, Subscriber.email, Subscriber.name, Subscriber.status).where(
            Subscriber.id.in_(ids)
        )
    ).all()
    claimed, suppressed = [], []
    for sid, email, name, status in readers:
        if status == SubscriberStatus.ACTIVE:
            claimed.append(Claimed(ids[sid], sid, email, name))
        else:
            suppressed.append(ids[sid])
    if suppressed:
        finish(
            session,
            suppressed,
            DeliveryStatus.FAILED,
            error="suppressed: reader is no longer active",
        )
    claimed.sort(key=lambda c: c.delivery_id)
    return claimed


def finish(
    session: Session,
    delivery_ids: list[int],
    status: DeliveryStatus,
    *,
    error: str | None = None,
    reply: str | None = None,
    message_id: str | None = None,
    when: datetime | None = None,
) -> None:
    """Record a final outcome for held deliveries (only rows still `sending` change)."""
    values: dict[str, object] = {"status": status, "claimed_by": None, "lease_expires_at": None}
    if error is not None:
        values["last_error"] = error
    if reply is not None:
        values["relay_reply"] = reply
    if message_id is not None:
        values["message_id"] = message_id
    if status == DeliveryStatus.SENT:
        values["sent_at"] = when or utcnow()
    session.execute(
        update(Delivery)
        .where(Delivery.id.in_(delivery_ids), Delivery.status == DeliveryStatus.SENDING)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


def release(session: Session, delivery_ids: list[int], error: str) -> None:
    """Give held deliveries back to the queue after a transient failure, to be tried again."""
    session.execute(
        update(Delivery)
        .where(Delivery.id.in_(delivery_ids), Delivery.status == DeliveryStatus.SENDING)
        .values(
            status=DeliveryStatus.QUEUED, claimed_by=None, lease_expires_at=None, last_error=error
        )
        .execution_options(synchronize_session=False)
    )


def complete_if_done(session: Session, campaign_id: int) -> bool:
    """Mark a planned, sending campaign `sent` once no delivery is queued or held."""
    open_rows = exists().where(
        Delivery.campaign_id == campaign_id,
        Delivery.status.in_((DeliveryStatus.QUEUED, DeliveryStatus.SENDING)),
    )
    result = session.execute(
        update(Campaign)
        .where(
            Campaign.id == campaign_id,
            Campaign.status == CampaignStatus.SENDING,
            Campaign.planned_at.is_not(None),
            ~open_rows,
        )
        .values(status=CampaignStatus.SENT, finished_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def expire_leases(session: Session, now: datetime | None = None) -> int:
    """Return deliveries whose worker vanished (lease expired) to the queue."""
    result = session.execute(
        update(Delivery)
        .where(
            Delivery.status == DeliveryStatus.SENDING,
            Delivery.lease_expires_at < (now or utcnow()),
        )
        .values(
            status=DeliveryStatus.QUEUED,
            claimed_by=None,
            lease_expires_at=None,
            last_error="lease expired: the worker holding it stopped",
        )
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


def campaigns_needing_work(session: Session, stalled_before: datetime) -> dict[str, list[int]]:
    """Sending campaigns that lost their tasks (a Redis restart, a failed enqueue): planning
    never finished, or rows are queued but nothing was sent or held since `stalled_before`."""
    sending = Campaign.status == CampaignStatus.SENDING
    unplanned = session.scalars(
        select(Campaign.id).where(
            sending, Campaign.planned_at.is_(None), Campaign.started_at < stalled_before
        )
    ).all()
    mine = Delivery.campaign_id == Campaign.id
    progressing = exists().where(
        mine,
        (Delivery.sent_at >= stalled_before) | (Delivery.status == DeliveryStatus.SENDING),
    )
    queued = session.scalars(
        select(Campaign.id).where(
            sending,
            Campaign.planned_at < stalled_before,
            exists().where(mine, Delivery.status == DeliveryStatus.QUEUED),
            ~progressing,
        )
    ).all()
    return {"unplanned": list(unplanned), "queued": list(queued)}


def attempts_at_least(session: Session, delivery_ids: list[int], limit: int) -> list[int]:
    """Which of these deliveries have been tried `limit` times or more."""
    if not delivery_ids:
        return []
    return list(
        session.scalars(
            select(Delivery.id).where(Delivery.id.in_(delivery_ids), Delivery.attempts >= limit)
        )
    )


def renew(session: Session, delivery_ids: list[int], until: datetime) -> None:
    """Extend a worker's hold on deliveries it still has to send."""
    if delivery_ids:
        session.execute(
            update(Delivery)
            .where(Delivery.id.in_(delivery_ids), Delivery.status == DeliveryStatus.SENDING)
            .values(lease_expires_at=until)
            .execution_options(synchronize_session=False)
        )
