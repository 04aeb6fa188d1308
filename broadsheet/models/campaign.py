"""Campaigns: one send of one article, with its lifecycle and the once-rendered email."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, text, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from broadsheet.models.article import Article
from broadsheet.models.base import Base, str_enum, utcnow
from broadsheet.models.segment import Segment


class CampaignStatus(enum.StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    SENDING = "sending"
    PAUSED = "paused"
    SENT = "sent"
    CANCELLED = "cancelled"


class Campaign(Base):
    __tablename__ = "campaigns"
    # The public archive: sent campaigns newest first, a page from a campaign's (time, id) down.
    __table_args__ = (
        Index("ix_campaigns_status_finished_at_id", "status", "finished_at", "id"),
        # The few campaigns still reading a segment's rules, found when it is deleted.
        Index(
            "ix_campaigns_segment_id",
            "segment_id",
            sqlite_where=text("segment_id IS NOT NULL"),
            postgresql_where=text("segment_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id"), index=True)
    subject: Mapped[str] = mapped_column(String(300))
    # The preview line inboxes show after the subject; rendered hidden at the top of the HTML.
    preheader: Mapped[str] = mapped_column(String(300), default="", server_default="")
    # Who gets it: "everyone" (every active reader) or "chosen", the active readers that meet
    # every rule of `audience_rules` (newsletters by id, tags) (broadsheet.services.audiences).
    audience: Mapped[str] = mapped_column(String(64), default="everyone", server_default="everyone")
    audience_rules: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The saved segment it goes to while it waits to start: its rules are read as they are
    # now, under `audience_rules`, and copied into them (this cleared) when the send starts or
    # it is cancelled (audiences.freeze). A segment in use cannot be deleted (by the service:
    # no key, so adding the column never rebuilt SQLite's campaigns table).
    segment_id: Mapped[int | None]
    status: Mapped[CampaignStatus] = mapped_column(
        str_enum(CampaignStatus, "campaign_status"), default=CampaignStatus.DRAFT, index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    scheduled_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    # Set once deliveries exist for every reader who was active when the send started.
    planned_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    # Why the campaign is paused (an operator, or too many failures), shown in the API.
    pause_reason: Mapped[str | None] = mapped_column(String(500))
    # The article rendered and CSS-inlined once for this campaign, with personal placeholders.
    rendered_html: Mapped[str | None] = mapped_column(Text)
    rendered_text: Mapped[str | None] = mapped_column(Text)
    # Who its messages come from, decided with the rendering (broadsheet.mail.compose): its
    # newsletter's name, sender, reply-to and list when it goes to one newsletter; None: the
    # publication's (MAIL_FROM).
    identity: Mapped[dict[str, str] | None] = mapped_column(JSON)
    # Whether its messages carry an open pixel and wrapped links (TRACKING sets the default),
    # and the links its HTML points to, by index: the only places a click can lead.
    tracking: Mapped[bool] = mapped_column(default=True, server_default=true())
    tracking_links: Mapped[list[str] | None] = mapped_column(JSON)
    # The last link check (worker) and test send, as shown on the campaign's page.
    link_report: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    test_report: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Deliveries by status as last counted (broadsheet.services.progress): what the pages of
    # a large campaign show, instead of counting every row on each request.
    counts: Mapped[dict[str, int] | None] = mapped_column(JSON)
    counted_at: Mapped[datetime | None]
    # Its failed and bounced deliveries grouped by reply class and by domain, kept with the
    # counts for a large campaign (broadsheet.services.failures); None: grouped at each ask.
    failures: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    article: Mapped[Article] = relationship(lazy="joined")
    segment: Mapped[Segment | None] = relationship(
        primaryjoin="foreign(Campaign.segment_id) == Segment.id", lazy="joined"
    )
