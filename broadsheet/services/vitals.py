"""Figures read from the database when /metrics is scraped or health is asked for: the send
backlog, the age of its oldest queued delivery, the outbox's due mail, and the complaint rate
of the last campaigns. Each is a few indexed queries per sending campaign, never a scan of
a campaign's deliveries (large campaigns' counts are the ones the tick keeps).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from broadsheet.health import CampaignComplaints
from broadsheet.models import (
    Campaign,
    CampaignStatus,
    Delivery,
    DeliveryStatus,
    OutboxMessage,
    OutboxStatus,
    utcnow,
)
from broadsheet.services import progress, reception


@dataclass(frozen=True)
class Backlog:
    deliveries: int  # queued or in flight, across sending campaigns
    outbox_due: int  # transactional mail due now (pending, its time come)
    oldest_queued_seconds: float  # the age of the oldest queued delivery (0: none queued)
    sending_campaigns: int


def backlog(session: Session, now: datetime | None = None) -> Backlog:
    """The work waiting now. A campaign's oldest queued delivery is taken to be its lowest
    queued id (planned first; read through ix_deliveries_campaign_status_id), so its age
    is one indexed row per campaign rather than a scan of the queue."""
    now = now or utcnow()
    sending = list(
        session.scalars(select(Campaign.id).where(Campaign.status == CampaignStatus.SENDING))
    )
    counts = progress.shown(session, sending) if sending else {}
    deliveries = sum(c.get("queued", 0) + c.get("sending", 0) for c in counts.values())
    oldest: datetime | None = None
    for campaign_id in sending:
        queued_at = session.scalar(
            select(Delivery.queued_at)
            .where(Delivery.campaign_id == campaign_id, Delivery.status == DeliveryStatus.QUEUED)
            .order_by(Delivery.id)
            .limit(1)
        )
        if queued_at is not None and (oldest is None or queued_at < oldest):
            oldest = queued_at
    outbox_due = session.scalar(
        select(func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.due_at <= now)
    )
    age = max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0
    return Backlog(deliveries, outbox_due or 0, age, len(sending))


def complaint_rates(session: Session, last: int = 3) -> tuple[CampaignComplaints, ...]:
    """Complaints against mail sent, for the `last` campaigns started (sending or sent), as
    the overview counts them (broadsheet.services.reception: readers who complained)."""
    rows = session.execute(
        select(Campaign.id, Campaign.subject)
        .where(Campaign.status.in_([CampaignStatus.SENDING, CampaignStatus.SENT]))
        .where(Campaign.started_at.is_not(None))
        .order_by(Campaign.started_at.desc())
        .limit(last)
    ).all()
    figures = reception.reception(session, [campaign_id for campaign_id, _ in rows])
    return tuple(
        CampaignComplaints(cid, subject, figures[cid].sent, figures[cid].complaints)
        for cid, subject in rows
    )
