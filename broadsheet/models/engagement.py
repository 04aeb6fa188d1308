"""Opens and clicks of a campaign's messages, each with its verdict (human or machine).

`engagements` holds one row per hit in reader mode; `engagement_counts` holds only counts per
(campaign, kind, link, verdict) for publications in privacy mode (TRACKING_PRIVACY=on);
`tracking_batches` remembers which drained batches of hits are in, so a batch written twice
(its drainer died after the commit) is skipped. Neither table keeps an address or an agent.
`engagement_reports` holds, per campaign, how many hits were written (moved in each batch's
transaction) and a large campaign's figures as last counted (broadsheet.services.engagement_kept).
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, PrimaryKeyConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from broadsheet.models.base import Base, str_enum, utcnow


class EngagementKind(enum.StrEnum):
    OPEN = "open"
    CLICK = "click"


# The link index an open is counted under in `engagement_counts` (its key has no NULLs).
NO_LINK = -1


class Engagement(Base):
    __tablename__ = "engagements"
    __table_args__ = (
        # Unique readers per campaign, kind and verdict are counted from this index alone.
        Index(
            "ix_engagements_campaign_kind_human_delivery",
            "campaign_id",
            "kind",
            "human",
            "delivery_id",
        ),
        # One reader's hits: their data export, their erasure, and "why is this reader in
        # it?" for a segment of readers who never opened or clicked.
        Index("ix_engagements_subscriber_id", "subscriber_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # No foreign keys, like deliveries: the drainer writes thousands at a time, and neither
    # campaigns nor deliveries are ever deleted.
    campaign_id: Mapped[int] = mapped_column()
    delivery_id: Mapped[int] = mapped_column()
    subscriber_id: Mapped[int] = mapped_column()
    kind: Mapped[EngagementKind] = mapped_column(str_enum(EngagementKind, "engagement_kind"))
    link_index: Mapped[int | None] = mapped_column()  # None for an open
    human: Mapped[bool] = mapped_column()
    reason: Mapped[str] = mapped_column(String(32))  # a verdict's code (tracking/verdicts.py)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class EngagementCount(Base):
    """Privacy mode's only record: how many hits, per campaign, kind, link and verdict."""

    __tablename__ = "engagement_counts"
    __table_args__ = (PrimaryKeyConstraint("campaign_id", "kind", "link_index", "human"),)

    campaign_id: Mapped[int] = mapped_column()
    kind: Mapped[EngagementKind] = mapped_column(str_enum(EngagementKind, "engagement_kind"))
    link_index: Mapped[int] = mapped_column()  # NO_LINK for opens
    human: Mapped[bool] = mapped_column()
    count: Mapped[int] = mapped_column(default=0)


class TrackingBatch(Base):
    """A batch of hits taken from Redis and written: its id is in the same commit as its rows."""

    __tablename__ = "tracking_batches"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class EngagementReport(Base):
    """A campaign's hits written so far and, once it has many, its figures as last counted.

    `hits` moves in the same transaction as the batch's rows (so it is exact, and a batch
    written twice is skipped before it); the tick counts a large campaign again when `hits`
    has moved past `counted_hits`, and keeps what it counted in `figures`."""

    __tablename__ = "engagement_reports"

    campaign_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    hits: Mapped[int] = mapped_column(BigInteger, default=0)
    counted_hits: Mapped[int | None] = mapped_column(BigInteger)  # `hits` when last counted
    counted_at: Mapped[datetime | None]
    figures: Mapped[dict[str, Any] | None] = mapped_column(JSON)
