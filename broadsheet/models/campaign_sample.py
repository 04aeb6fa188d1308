"""Campaign samples: a sending campaign's counts as the tick saw them, every few seconds.

The throughput chart, the current rate and the estimated finish are drawn from the
differences between samples, so no page counts a campaign's deliveries to know its pace.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column

from broadsheet.models.base import Base, utcnow


class CampaignSample(Base):
    __tablename__ = "campaign_samples"
    # A campaign's samples in time order: the page reads them all, the tick the last one.
    __table_args__ = (Index("ix_campaign_samples_campaign_id_at", "campaign_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    sent: Mapped[int] = mapped_column(default=0)
    failed: Mapped[int] = mapped_column(default=0)
    bounced: Mapped[int] = mapped_column(default=0)
    unknown: Mapped[int] = mapped_column(default=0)
    queued: Mapped[int] = mapped_column(default=0)
    sending: Mapped[int] = mapped_column(default=0)

    @property
    def done(self) -> int:
        """Deliveries with a final outcome by then: what the send has got through."""
        return self.sent + self.failed + self.bounced + self.unknown
