"""Builders for the archive's tests: sent issues at chosen times, to chosen audiences."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from broadsheet.models import Article, Campaign, CampaignStatus
from broadsheet.services.campaigns import create_campaign
from tests.support.factories import make_article

START = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


def send_issue(
    session: Session,
    article: Article | str,
    day: int,
    audience: object = "everyone",
    status: CampaignStatus = CampaignStatus.SENT,
) -> Campaign:
    """A campaign of `article` (a new one, if a title is given) finished `day` days after
    START, as the ledger leaves a sent one (status and finished_at in one statement);
    flushed, not committed. The send itself is the ledger's tests' business."""
    if isinstance(article, str):
        article = make_article(session, article, dek=f"About {article.lower()}.")
    campaign = create_campaign(session, article.id, audience=audience)
    when = START + timedelta(days=day)
    session.execute(
        update(Campaign)
        .where(Campaign.id == campaign.id)
        .values(status=status, started_at=when - timedelta(hours=1), finished_at=when)
        .execution_options(synchronize_session=False)
    )
    session.flush()
    session.expire(campaign)
    return campaign
