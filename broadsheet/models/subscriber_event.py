"""A reader's history: one row per change of status, saying what caused it and who."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from broadsheet.models.base import Base, str_enum, utcnow
from broadsheet.models.subscriber import SubscriberStatus


class EventSource(enum.StrEnum):
    """What moved the reader: their own action, a report about their mail, or a person."""

    SIGNUP = "signup"  # the public form (a first signup, or coming back after leaving)
    CONFIRM = "confirm"  # the confirmation link
    UNSUBSCRIBE_LINK = "unsubscribe link"  # the page an unsubscribe link opens
    ONE_CLICK = "one-click"  # RFC 8058, from the mail client
    BOUNCE = "bounce"  # a hard bounce
    SOFT_BOUNCES = "soft bounces"  # soft bounces for several campaigns
    COMPLAINT = "complaint"  # a feedback-loop report ("this is spam")
    API = "api"
    ADMIN = "admin"
    IMPORT = "import"  # `broadsheet import-subscribers`, from another sender's export


class SubscriberEvent(Base):
    __tablename__ = "subscriber_events"
    # A reader's page lists their events newest first.
    __table_args__ = (
        Index("ix_subscriber_events_subscriber_id_id", "subscriber_id", "id"),
        # The overview counts a period's changes by day and status: a range of `at`, read from
        # this index alone (both statuses are in it) on PostgreSQL.
        Index("ix_subscriber_events_at", "at", "to_status", "from_status"),
        # A campaign's unsubscribes and complaints are counted from this index.
        Index("ix_subscriber_events_campaign_id_source", "campaign_id", "source"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    # None when the reader was added (the first event).
    from_status: Mapped[SubscriberStatus | None] = mapped_column(
        str_enum(SubscriberStatus, "from_status")
    )
    to_status: Mapped[SubscriberStatus] = mapped_column(str_enum(SubscriberStatus, "to_status"))
    source: Mapped[EventSource] = mapped_column(str_enum(EventSource, "event_source"))
    reason: Mapped[str | None] = mapped_column(Text)
    # The campaign whose message led to it (an unsubscribe link, a complaint), when known.
    campaign_id: Mapped[int | None] = mapped_column()
    # The admin account that made the change; None for readers' own actions and reports.
    actor: Mapped[str | None] = mapped_column(String(320))

    def __repr__(self) -> str:
        return f"<SubscriberEvent {self.subscriber_id} {self.from_status}->{self.to_status}>"
