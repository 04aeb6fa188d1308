"""Deliveries: the ledger, one row per (campaign, subscriber), that makes a send exactly-once."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, false, text
from sqlalchemy.orm import Mapped, mapped_column

from broadsheet.models.base import Base, str_enum, utcnow


class DeliveryStatus(enum.StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    # Reserved for the delivery engine: a hard bounce, and a send whose outcome was lost.
    BOUNCED = "bounced"
    UNKNOWN = "unknown"


# The predicate of the index of rows waiting for their retry time (see ix_deliveries_waiting).
WAITING = text("status = 'queued' AND next_attempt_at IS NOT NULL")

FINAL_STATUSES = frozenset(
    {DeliveryStatus.SENT, DeliveryStatus.FAILED, DeliveryStatus.BOUNCED, DeliveryStatus.UNKNOWN}
)


class Delivery(Base):
    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("campaign_id", "subscriber_id"),
        # Every sending query asks for one campaign's rows in a status within an id range
        # (claims, batch ranges, retry times): this serves them without the table's
        # statistics, which are stale right after a large planning.
        Index("ix_deliveries_campaign_status_id", "campaign_id", "status", "id"),
        # Rows waiting for a retry time (a temporary failure, a domain at its rate): only
        # those, so the tick finds the ones whose time passed unsent without reading a
        # campaign's queue, and planning (next_attempt_at empty) never writes to it.
        Index(
            "ix_deliveries_waiting",
            "next_attempt_at",
            postgresql_where=WAITING,
            sqlite_where=WAITING,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # No foreign key (migration 0012): PostgreSQL would check it once per planned row, which
    # made planning a million readers 5 to 18% slower. Only planning makes deliveries, for the
    # campaign it has loaded, and campaigns are never deleted; whatever deletes one in future
    # deletes its deliveries first.
    campaign_id: Mapped[int] = mapped_column()
    subscriber_id: Mapped[int] = mapped_column(
        ForeignKey("subscribers.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[DeliveryStatus] = mapped_column(
        str_enum(DeliveryStatus, "delivery_status"), default=DeliveryStatus.QUEUED
    )
    attempts: Mapped[int] = mapped_column(default=0)
    message_id: Mapped[str | None] = mapped_column(String(255))
    last_error: Mapped[str | None] = mapped_column(Text)
    # Failed without being offered to the relay: the reader left (unsubscribed, bounced,
    # complained) after planning. Counts neither as a try nor as a failure for auto-pause.
    suppressed: Mapped[bool] = mapped_column(default=False, server_default=false())
    relay_reply: Mapped[str | None] = mapped_column(Text)
    # A worker's claim on the row while it talks to the relay; expired claims can be recovered.
    claimed_by: Mapped[str | None] = mapped_column(String(200), index=True)
    lease_expires_at: Mapped[datetime | None]
    # When a transmission of this row last began. Of a claim's `sending` rows, only the one
    # being transmitted has it set: if the worker dies, that row's outcome is unknown.
    attempted_at: Mapped[datetime | None]
    # A row given back after a temporary failure waits until then before it is claimed again.
    next_attempt_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # When the row last entered the queue: at planning, or when retry-failed queued it again.
    # The retry budget's age (RETRY_MAX_AGE) counts from here, not from `created_at`.
    queued_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
