"""Writing a batch of hits drained from Redis, exactly once: the batch's id goes in the same
transaction as its rows, and a batch whose id is already there is skipped, so a drainer that
died between its commit and deleting the batch from Redis counts nothing twice.

In reader mode each hit is a row of `engagements` (with the reader's id, from the delivery);
in privacy mode (TRACKING_PRIVACY=on) only counts per campaign, kind, link and verdict move.
Either way each campaign's `engagement_reports.hits` moves by what was written, in the same
transaction, so the tick knows exactly which large campaigns to count again."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from broadsheet.db import dialect_insert
from broadsheet.models import (
    NO_LINK,
    Delivery,
    Engagement,
    EngagementCount,
    EngagementKind,
    EngagementReport,
    TrackingBatch,
    utcnow,
)
from broadsheet.tracking.hits import Hit

# A batch id is remembered this long: far longer than a drainer can take to be retried.
KEEP_BATCH_IDS = timedelta(days=2)


def record_hits(
    session: Session, batch_id: str, hits: Sequence[Hit], *, privacy: bool
) -> list[Hit]:
    """Write `hits` under `batch_id` (flushes; the caller commits); those written, none when
    the batch was written before. Hits whose delivery is not of their campaign are dropped
    (a token is only signed for a real one, so that takes a changed database)."""
    dialect = session.get_bind().dialect.name
    added = session.execute(
        dialect_insert(dialect, TrackingBatch.__table__)
        .values(id=batch_id, at=utcnow())
        .on_conflict_do_nothing(index_elements=["id"])
        .returning(TrackingBatch.id)
    ).scalar_one_or_none()
    if added is None or not hits:
        return []
    if privacy:
        _count(session, dialect, hits)
        _add_hits(session, dialect, Counter(hit.campaign_id for hit in hits))
        return list(hits)
    found = session.execute(
        select(Delivery.id, Delivery.campaign_id, Delivery.subscriber_id).where(
            Delivery.id.in_({hit.delivery_id for hit in hits})
        )
    )
    readers = {(delivery, campaign): reader for delivery, campaign, reader in found}
    known = [hit for hit in hits if (hit.delivery_id, hit.campaign_id) in readers]
    rows = [
        {
            "campaign_id": hit.campaign_id,
            "delivery_id": hit.delivery_id,
            "subscriber_id": readers[(hit.delivery_id, hit.campaign_id)],
            "kind": hit.kind,
            "link_index": hit.link_index,
            "human": hit.human,
            "reason": hit.reason,
            "at": hit.at,
        }
        for hit in known
    ]
    if rows:
        session.execute(insert(Engagement), rows)
        _add_hits(session, dialect, Counter(hit.campaign_id for hit in known))
    return known


def forget_old_batches(session: Session) -> None:
    """Drop batch ids older than KEEP_BATCH_IDS (no drainer retries a batch that old)."""
    session.execute(delete(TrackingBatch).where(TrackingBatch.at < utcnow() - KEEP_BATCH_IDS))


def _add_hits(session: Session, dialect: str, by_campaign: Counter[int]) -> None:
    """Move each campaign's count of hits written; in campaign order, so two drainers lock
    the rows in the same order and never deadlock."""
    table = EngagementReport.__table__
    statement = dialect_insert(dialect, table)
    upsert = statement.on_conflict_do_update(
        index_elements=["campaign_id"], set_={"hits": table.c.hits + statement.excluded.hits}
    )
    for campaign_id, n in sorted(by_campaign.items()):
        session.execute(upsert.values(campaign_id=campaign_id, hits=n))


def _count(session: Session, dialect: str, hits: Sequence[Hit]) -> None:
    counts = Counter(
        (
            hit.campaign_id,
            hit.kind,
            NO_LINK if hit.link_index is None else hit.link_index,
            hit.human,
        )
        for hit in hits
    )
    table = EngagementCount.__table__
    statement = dialect_insert(dialect, table)
    upsert = statement.on_conflict_do_update(
        index_elements=["campaign_id", "kind", "link_index", "human"],
        set_={"count": table.c.count + statement.excluded.count},
    )
    for (campaign_id, kind, link_index, human), n in sorted(counts.items()):
        session.execute(
            upsert.values(
                campaign_id=campaign_id,
                kind=EngagementKind(kind),
                link_index=link_index,
                human=human,
                count=n,
            )
        )
