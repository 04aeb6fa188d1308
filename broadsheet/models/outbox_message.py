"""The outbox: mail owed to one reader (a confirmation, a welcome) or to one admin
(a campaign's report), written in the transaction that made it owed and sent by the worker's
sweep (worker/sweep.py)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from broadsheet.models.base import Base, str_enum, utcnow


class OutboxKind(enum.StrEnum):
    CONFIRMATION = "confirmation"  # the double opt-in link, to a reader
    WELCOME = "welcome"  # once, after confirming, for newsletters with a welcome
    DATA_EXPORT = "data_export"  # what is kept about a reader, asked for on their preferences
    # To each admin when a campaign is sent, or when it paused itself (too many failures).
    CAMPAIGN_SENT = "campaign_sent"
    CAMPAIGN_PAUSED = "campaign_paused"


# The kinds addressed to an admin account (`user_id`) about a campaign, not to a reader.
ADMIN_KINDS = (OutboxKind.CAMPAIGN_SENT, OutboxKind.CAMPAIGN_PAUSED)


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"  # waiting for a sweep (or for its retry time, `due_at`)
    SENDING = "sending"  # held by a sweep (`claimed_by`) until its lease runs out
    SENT = "sent"
    FAILED = "failed"  # refused for good, given up after its retries, or no longer owed
    UNKNOWN = "unknown"  # its sweep stopped while it was being sent: never sent again


# The rows still waiting or being sent: at most one of a kind per reader (signing up twice in
# a row owes one mail). Migration 0011 creates the index with the same condition.
_OPEN = "status IN ('pending', 'sending')"


class OutboxMessage(Base):
    __tablename__ = "outbox_messages"
    __table_args__ = (
        # The sweep's question: what is pending and due, oldest first.
        Index("ix_outbox_messages_status_due_at", "status", "due_at"),
        Index(
            "uq_outbox_messages_open",
            "subscriber_id",
            "kind",
            unique=True,
            sqlite_where=text(_OPEN),
            postgresql_where=text(_OPEN),
        ),
        # The tick's question: which sweeps' leases ran out.
        Index("ix_outbox_messages_claimed_by", "claimed_by"),
        # One report of a kind per campaign and admin, ever: the code that notices a campaign
        # finished may run twice (a retried task, the tick) and still owes one mail.
        UniqueConstraint("kind", "campaign_id", "user_id"),
        # Mail goes to a reader or to an admin account, never both or neither.
        CheckConstraint("(subscriber_id IS NULL) <> (user_id IS NULL)", name="one_recipient"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[OutboxKind] = mapped_column(str_enum(OutboxKind, "outbox_kind"))
    subscriber_id: Mapped[int | None] = mapped_column(
        ForeignKey("subscribers.id", ondelete="CASCADE")
    )
    # An admin's report: who it is for and which campaign it is about.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    status: Mapped[OutboxStatus] = mapped_column(
        str_enum(OutboxStatus, "outbox_status"), default=OutboxStatus.PENDING
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    due_at: Mapped[datetime] = mapped_column(default=utcnow)  # not sent before then
    attempts: Mapped[int] = mapped_column(default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    lease_expires_at: Mapped[datetime | None]
    # When its transmission began; of a sweep's held rows only the one on the wire has it.
    attempted_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    relay_reply: Mapped[str | None] = mapped_column(Text)
