"""Engagement figures kept for a campaign with many hits, so its pages read one row.

Counting a campaign's engagement reads all its hits: on PostgreSQL, at 300,000 rows, about
130 ms for its unique readers, 70 ms for its totals and 160 ms for its hours. A campaign with
more than `KEPT_ABOVE` hits written is therefore shown with figures kept on its
`engagement_reports` row, counted again by the tick (engagement_report.recount_engagement)
when hits were written since, at most every `RECOUNT_EVERY`; its pages say when they were
counted. A smaller campaign is counted at every ask (a few milliseconds).

Why kept figures rather than rollups the drain moves with each batch: unique readers, per
campaign and per link, need a record of who was already counted, which is the hits
themselves; counting them again in the background is one simple, exact query per figure,
and being up to `RECOUNT_EVERY` behind is what the campaign's delivery counts already are
(broadsheet.services.progress). Exactness holds: `hits` moves in the batch's transaction,
and the tick reads it before it counts, so hits committed meanwhile are counted next time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from broadsheet.models import EngagementReport

KEPT_ABOVE = 20_000  # hits; counting that many takes a few milliseconds
RECOUNT_EVERY = timedelta(seconds=15)


@dataclass(frozen=True)
class Kept:
    """A campaign's figures as counted at `counted_at` (engagement_report.recount_engagement
    writes them: readers, hits, links and hours)."""

    figures: dict[str, Any]
    counted_at: datetime


def kept(session: Session, campaign_ids: Sequence[int]) -> dict[int, Kept]:
    """The kept figures of those of these campaigns shown with them (the large ones counted
    at least once); one indexed read."""
    if not campaign_ids:
        return {}
    r = EngagementReport
    rows = session.execute(
        select(r.campaign_id, r.figures, r.counted_at).where(
            r.campaign_id.in_(campaign_ids), r.hits > KEPT_ABOVE, r.figures.is_not(None)
        )
    )
    return {cid: Kept(figures, at) for cid, figures, at in rows if figures and at}


def due(session: Session, now: datetime) -> list[tuple[int, int]]:
    """Large campaigns with hits written since they were last counted, and not counted in
    the last RECOUNT_EVERY: (campaign id, hits written as of this read)."""
    r = EngagementReport
    rows = session.execute(
        select(r.campaign_id, r.hits)
        .where(
            r.hits > KEPT_ABOVE,
            or_(r.counted_hits.is_(None), r.counted_hits != r.hits),
            or_(r.counted_at.is_(None), r.counted_at <= now - RECOUNT_EVERY),
        )
        .order_by(r.campaign_id)
    )
    return [(cid, hits) for cid, hits in rows]


def store(
    session: Session, campaign_id: int, hits: int, figures: dict[str, Any], now: datetime
) -> None:
    """Keep `figures`, counted after `hits` hits were read as written (never touches `hits`,
    which drainers move meanwhile)."""
    session.execute(
        update(EngagementReport)
        .where(EngagementReport.campaign_id == campaign_id)
        .values(figures=figures, counted_hits=hits, counted_at=now)
        .execution_options(synchronize_session=False)
    )
