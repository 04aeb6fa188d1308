"""Suppression: no more mail to readers whose address bounces for good (one hard bounce, or
soft bounces for several campaigns within a window) or who complain.

Suppressed readers are `bounced` or `complained`; planning and claiming only ever pick
`active` readers, so the next campaign skips them. Every function here is idempotent.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import distinct, func, select, update
from sqlalchemy.orm import Session

from broadsheet.db import rowcount
from broadsheet.models import (
    BounceReport,
    Delivery,
    DeliveryStatus,
    EventSource,
    ReportKind,
    Subscriber,
    SubscriberStatus,
    utcnow,
)
from broadsheet.services.subscriptions import set_status

log = logging.getLogger(__name__)

# A hard bounce stops mail to readers who still get it. An unsubscribed reader gets none
# anyway and keeps the status they chose.
BOUNCEABLE = frozenset({SubscriberStatus.PENDING, SubscriberStatus.ACTIVE})
# A complaint is the strongest signal: it overrides every other status.
COMPLAINABLE = frozenset(
    {
        SubscriberStatus.PENDING,
        SubscriberStatus.ACTIVE,
        SubscriberStatus.UNSUBSCRIBED,
        SubscriberStatus.BOUNCED,
    }
)
# Only a delivery the relay took can bounce later; `unknown` ones were sent after all.
_BOUNCEABLE_DELIVERIES = (DeliveryStatus.SENT, DeliveryStatus.UNKNOWN)


def mark_bounced(
    session: Session,
    subscriber_id: int,
    reason: str,
    *,
    campaign_id: int | None = None,
    source: EventSource = EventSource.BOUNCE,
) -> Subscriber | None:
    """A hard bounce: the reader becomes `bounced`, and the delivery of `campaign_id` to them
    becomes `bounced` with `reason` (the diagnostic) kept as its relay reply."""
    subscriber = session.get(Subscriber, subscriber_id, with_for_update=True)
    if subscriber is None:
        return None
    if subscriber.status in BOUNCEABLE:
        set_status(session, subscriber, SubscriberStatus.BOUNCED, source=source, reason=reason)
        log.info(
            "subscriber %s bounced (campaign %s): %s", subscriber_id, campaign_id, reason,
            extra={"subscriber_id": subscriber_id, "campaign_id": campaign_id},
        )  # fmt: skip
    if campaign_id is not None:
        mark_delivery_bounced(session, campaign_id, subscriber_id, reason)
    session.flush()
    return subscriber


@dataclass(frozen=True)
class SoftBounceLimit:
    """A reader is bounced once soft bounces came back for `campaigns` different campaigns
    within `days` (SOFT_BOUNCE_LIMIT, SOFT_BOUNCE_DAYS); `campaigns` 0 never bounces anyone."""

    campaigns: int
    days: int


def bounce_if_soft_bounces_pile_up(
    session: Session, subscriber_id: int, limit: SoftBounceLimit, reason: str
) -> bool:
    """Bounce a reader whose recorded soft bounces reached `limit`; True when this did it.

    Call it after recording the soft bounce. The reader's row is locked before counting, so
    of two reports processed at once the second counts the first's (once it has committed).
    """
    if limit.campaigns == 0:
        return False
    subscriber = session.get(
        Subscriber, subscriber_id, with_for_update=True, populate_existing=True
    )
    if subscriber is None or subscriber.status not in BOUNCEABLE:
        return False
    campaigns = session.execute(
        select(func.count(distinct(BounceReport.campaign_id))).where(
            BounceReport.subscriber_id == subscriber_id,
            BounceReport.kind == ReportKind.SOFT,
            BounceReport.campaign_id.is_not(None),
            BounceReport.received_at >= utcnow() - timedelta(days=limit.days),
        )
    ).scalar_one()
    if campaigns < limit.campaigns:
        return False
    summary = f"soft bounces for {campaigns} campaigns within {limit.days} days; last: {reason}"
    mark_bounced(session, subscriber_id, summary, source=EventSource.SOFT_BOUNCES)
    return True


def mark_complained(
    session: Session, subscriber_id: int, reason: str, campaign_id: int | None = None
) -> Subscriber | None:
    """A complaint ("this is spam"): the reader becomes `complained` and gets no more mail;
    `campaign_id`, the campaign complained about, when the report says."""
    subscriber = session.get(Subscriber, subscriber_id, with_for_update=True)
    if subscriber is None:
        return None
    if subscriber.status in COMPLAINABLE:
        set_status(
            session,
            subscriber,
            SubscriberStatus.COMPLAINED,
            source=EventSource.COMPLAINT,
            reason=reason,
            campaign_id=campaign_id,
        )
        log.info(
            "subscriber %s complained (campaign %s): %s", subscriber_id, campaign_id, reason,
            extra={"subscriber_id": subscriber_id, "campaign_id": campaign_id},
        )  # fmt: skip
        session.flush()
    return subscriber


def mark_delivery_bounced(
    session: Session, campaign_id: int, subscriber_id: int, reason: str
) -> bool:
    """Record that a sent delivery bounced afterwards; False when there is no such delivery
    (or it was never sent)."""
    result = session.execute(
        update(Delivery)
        .where(
            Delivery.campaign_id == campaign_id,
            Delivery.subscriber_id == subscriber_id,
            Delivery.status.in_(_BOUNCEABLE_DELIVERIES),
        )
        .values(status=DeliveryStatus.BOUNCED, relay_reply=reason, last_error="bounced")
        .execution_options(synchronize_session=False)
    )
    return rowcount(result) == 1
