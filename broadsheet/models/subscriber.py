"""Readers: one row per address, unique case-insensitively, with the status lifecycle."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String, func
from sqlalchemy.orm import Mapped, mapped_column

from broadsheet.models.base import Base, str_enum, utcnow


class SubscriberStatus(enum.StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    UNSUBSCRIBED = "unsubscribed"
    BOUNCED = "bounced"
    COMPLAINED = "complained"


class Subscriber(Base):
    __tablename__ = "subscribers"
    __table_args__ = (
        # The admin's list: newest first, in one status or all, a page from an id down.
        Index("ix_subscribers_status_id", "status", "id"),
        # Search by the start of an address (or, below, a name), case-insensitively. The
        # pattern operator class lets PostgreSQL answer `LIKE 'ann%'` from the index whatever
        # the database's collation; SQLite gets plain indexes.
        Index(
            "ix_subscribers_email_key_prefix",
            "email_key",
            postgresql_ops={"email_key": "varchar_pattern_ops"},
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    # Lower-cased address: the unique key, so Ann@Example.org and ann@example.org are one reader.
    email_key: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[SubscriberStatus] = mapped_column(
        str_enum(SubscriberStatus, "subscriber_status"),
        default=SubscriberStatus.PENDING,
    )
    source: Mapped[str] = mapped_column(String(32), default="form")
    signup_ip: Mapped[str | None] = mapped_column(String(45))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    status_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    confirmation_sent_at: Mapped[datetime | None]
    confirmed_at: Mapped[datetime | None]
    unsubscribed_at: Mapped[datetime | None]
    bounced_at: Mapped[datetime | None]
    complained_at: Mapped[datetime | None]
    # Free-form facts about the reader ({"city": "Lyon", "plan": "paid"}), set through the API
    # or an import, usable in the email as reader.attributes.city; None: none.
    attributes: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    def __repr__(self) -> str:
        return f"<Subscriber {self.id} {self.status}>"


Index(
    "ix_subscribers_name_prefix",
    func.lower(Subscriber.name).label("name_lower"),
    postgresql_ops={"name_lower": "varchar_pattern_ops"},
)
