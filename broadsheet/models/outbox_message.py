"""The outbox: mail owed to one reader (a confirmation now, a welcome later), written in the
transaction that made it owed and sent by the worker's sweep (worker/sweep.py)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from broadsheet.models.base import Base, str_enum, utcnow


class OutboxKind(enum.StrEnum):
    CONFIRMATION = "confirmation"  # the double opt-in link


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
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[OutboxKind] = mapped_column(str_enum(OutboxKind, "outbox_kind"))
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"))
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
