"""Writing a batch of hits drained from Redis, exactly once: the batch's id goes in the same
transaction as its rows, and a batch whose id is already there is skipped, so a drainer that
died between its commit and deleting the batch from Redis counts nothing twice.

In reader mode each hit is a row of `engagements` (with the reader's id, from the delivery);
in privacy mode (TRACKING_PRIVACY=on) only counts per campaign, kind, link and verdict move."""

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
    TrackingBatch,
    utcnow,
)
from broadsheet.tracking.hits import Hit

# A batch id is remembered this long: far longer than a drainer can take to be retried.
KEEP_BATCH_IDS = timedelta(days=2)


def record_hits(session: Session, batch_id: str, hits: Sequence[Hit], *, privacy: bool) -> int:
    """Write `hits` under `batch_id` (flushes; the caller commits); how many were written,
    0 when the batch was written before. Hits whose delivery is not of their campaign are
    dropped (a token is only signed for a real one, so that takes a changed database)."""
    dialect = session.get_bind().dialect.name
    added = session.execute(
        dialect_insert(dialect, TrackingBatch.__table__)
        .values(id=batch_id, at=utcnow())
        .on_conflict_do_nothing(index_elements=["id"])
        .returning(TrackingBatch.id)
    ).scalar_one_or_none()
    if added is None or not hits:
        return 0
    if privacy:
        return _count(session, dialect, hits)
    found = session.execute(
        select(Delivery.id, Delivery.campaign_id, Delivery.subscriber_id).where(
            Delivery.id.in_({hit.delivery_id for hit in hits})
        )
    )
    readers = {(delivery, campaign): reader for delivery, campaign, reader in found}
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
        for hit in hits
        if (hit.delivery_id, hit.campaign_id) in readers
    ]
    if rows:
        session.execute(insert(Engagement), rows)
    return len(rows)


def forget_old_batches(session: Session) -> None:
    """Drop batch ids older than KEEP_BATCH_IDS (no drainer retries a batch that old)."""
    session.execute(delete(TrackingBatch).where(TrackingBatch.at < utcnow() - KEEP_BATCH_IDS))


def _count(session: Session, dialect: str, hits: Sequence[Hit]) -> int:
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
    return len(hits)
