"""Bounce and complaint reports, one row per report processed: the record that makes
reprocessing the same mail (or the same SES notification) change nothing."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from broadsheet.models.base import Base, str_enum, utcnow


class ReportKind(enum.StrEnum):
    # A permanent failure (5.x.x): the address takes no mail. Suppresses the reader.
    HARD = "hard"
    # A temporary failure (4.x.x, a full mailbox): recorded only.
    SOFT = "soft"
    # A permanent refusal for policy or content (5.7.x): about the sender, not the address,
    # so the delivery is marked bounced but the reader stays subscribed.
    POLICY = "policy"
    # The reader pressed "this is spam" (an ARF feedback report, an SES complaint).
    COMPLAINT = "complaint"


class BounceReport(Base):
    __tablename__ = "bounce_reports"
    __table_args__ = (
        # The reports page: newest first within one kind, a page from an id down.
        Index("ix_bounce_reports_kind_id", "kind", "id"),
        # Complaints and bounces per campaign, for the overview's campaigns side by side.
        Index("ix_bounce_reports_campaign_id_kind", "campaign_id", "kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # SHA-256 of the report mail (or of the SES notification id and recipient).
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    source: Mapped[str] = mapped_column(String(16))  # "mailbox" or "ses"
    kind: Mapped[ReportKind] = mapped_column(str_enum(ReportKind, "report_kind"))
    # Null when the report could not be traced to one of our messages.
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id", ondelete="SET NULL"))
    subscriber_id: Mapped[int | None] = mapped_column(
        ForeignKey("subscribers.id", ondelete="SET NULL"), index=True
    )
    matched_by: Mapped[str | None] = mapped_column(String(16))  # message-id, verp or headers
    recipient: Mapped[str | None] = mapped_column(String(320))
    status_code: Mapped[str | None] = mapped_column(String(16))  # RFC 3463, e.g. "5.1.1"
    diagnostic: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
