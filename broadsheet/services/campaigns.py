"""Campaigns: create one for an article, start its send exactly once, report its progress."""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from broadsheet.addresses import clean_name
from broadsheet.errors import Conflict, NotFound, ValidationError
from broadsheet.models import Article, Campaign, CampaignStatus, Delivery, DeliveryStatus, utcnow

STARTABLE = (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED)


def create_campaign(session: Session, article_id: object, subject: object = None) -> Campaign:
    """A draft campaign for an article; the subject defaults to the article's title."""
    if not isinstance(article_id, int) or isinstance(article_id, bool):
        raise ValidationError({"article_id": "must be the integer id of an article"})
    article = session.get(Article, article_id)
    if article is None:
        raise ValidationError({"article_id": f"article {article_id} does not exist"})
    subject = clean_name(subject, field="subject", max_length=300) or article.title
    campaign = Campaign(article=article, article_id=article.id, subject=subject)
    session.add(campaign)
    session.flush()
    return campaign


def get_campaign(session: Session, campaign_id: int) -> Campaign:
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound(f"campaign {campaign_id} does not exist")
    return campaign


def start_send(session: Session, campaign_id: int) -> Campaign:
    """Move a draft or scheduled campaign to `sending`, atomically: of two racing callers,
    exactly one wins and the other gets Conflict, on SQLite and PostgreSQL alike."""
    result = session.execute(
        update(Campaign)
        .where(Campaign.id == campaign_id, Campaign.status.in_(STARTABLE))
        .values(status=CampaignStatus.SENDING, started_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    campaign = get_campaign(session, campaign_id)
    if result.rowcount != 1:
        raise Conflict(
            f"campaign {campaign_id} is {campaign.status.value}; it cannot be sent again"
        )
    session.refresh(campaign)
    return campaign


def delivery_counts(session: Session, campaign_id: int) -> dict[str, int]:
    """Deliveries by current status, each counted once, plus `total`."""
    counts = {status.value: 0 for status in DeliveryStatus}
    rows = session.execute(
        select(Delivery.status, func.count())
        .where(Delivery.campaign_id == campaign_id)
        .group_by(Delivery.status)
    )
    for status, n in rows:
        counts[status.value] = n
    counts["total"] = sum(counts.values())
    return counts
