"""A campaign's engagement as its page shows it after the send: unique readers and total hits,
raw and likely human, each unique figure as a share of the messages sent; unsubscribes and
complaints this campaign caused; its most clicked links; and hits over the first days since
the send, per hour for the first two days and per day after.

Counting is broadsheet.services.engagement's; this module adds the totals of hits and puts the
hours into the buckets a chart shows, so the page's view only formats. A campaign with many
hits is shown as last counted by the tick (`recount_engagement`, see
broadsheet.services.engagement_kept): one row read, whatever its size."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from broadsheet.models import Campaign, Engagement, EngagementCount
from broadsheet.services import engagement_kept
from broadsheet.services.engagement import (
    CLICK,
    HourCounts,
    LinkClicks,
    count_left,
    count_readers,
    hourly,
    top_links,
)

# Hourly buckets up to this long after the send; daily ones after, up to DAYS_SHOWN days.
HOURLY_FOR = timedelta(days=2)
DAYS_SHOWN = 30


@dataclass(frozen=True)
class Bucket:
    """Hits in one hour or one day since the send (UTC), raw and likely human."""

    start: datetime
    opens: int = 0
    opens_human: int = 0
    clicks: int = 0
    clicks_human: int = 0

    @property
    def machine(self) -> int:
        """Opens and clicks judged to be machines'."""
        return self.opens - self.opens_human + self.clicks - self.clicks_human


@dataclass(frozen=True)
class Report:
    """What the campaign page's "Opens and clicks" section shows."""

    sent: int  # the messages sent: the denominator of every share
    readers: dict[str, int]  # engagement.FIGURES: unique readers (hits in privacy mode)
    hits: dict[str, int]  # opens, opens_human, clicks, clicks_human
    links: list[LinkClicks]
    buckets: list[Bucket] = field(default_factory=list)
    hourly: bool = True  # the buckets are hours (else days)
    counted_at: datetime | None = None  # when kept figures were counted; None: just now

    def share(self, name: str) -> float | None:
        """`readers[name]` over the messages sent; None before any was sent."""
        return self.readers[name] / self.sent if self.sent else None

    @property
    def any(self) -> bool:
        """Whether anything was recorded for the campaign at all."""
        return any(self.readers.values()) or any(self.hits.values())


def engagement_report(session: Session, campaign: Campaign, sent: int) -> Report:
    """The campaign's engagement: two indexed reads for a large campaign (its kept figures,
    its unsubscribes and complaints), eight queries over its hits for a small one (the
    chart's only over reader mode's rows: privacy mode keeps no times)."""
    kept = engagement_kept.kept(session, [campaign.id]).get(campaign.id)
    links = campaign.tracking_links or []
    figures = kept.figures if kept else count_figures(session, campaign.id, links)
    readers = {**figures["readers"], **count_left(session, [campaign.id])[campaign.id]}
    top = [LinkClicks(i, links[i], raw, human) for i, raw, human in figures["links"]]
    hours = [
        HourCounts(datetime.fromisoformat(hour), *counts) for hour, *counts in figures["hours"]
    ]
    start = campaign.started_at or (hours[0].hour if hours else None)
    buckets, by_hour = _buckets(hours, start) if start else ([], True)
    counted_at = kept.counted_at if kept else None
    return Report(sent, readers, figures["hits"], top, buckets, by_hour, counted_at)


def count_figures(session: Session, campaign_id: int, links: Sequence[str]) -> dict[str, Any]:
    """What a campaign's report is made of, counted now over all its hits, as JSON (what
    engagement_kept keeps): readers, hits, top links [index, raw, human] and hours
    [ISO start, opens, opens human, clicks, clicks human]."""
    return {
        "readers": count_readers(session, [campaign_id])[campaign_id],
        "hits": hit_totals(session, campaign_id),
        "links": [
            [x.index, x.clicked, x.clicked_human] for x in top_links(session, campaign_id, links)
        ],
        "hours": [
            [h.hour.isoformat(), h.opens, h.opens_human, h.clicks, h.clicks_human]
            for h in hourly(session, campaign_id)
        ],
    }


def recount_engagement(session: Session, now: datetime) -> list[int]:
    """The tick's part: count again the large campaigns with hits written since they were
    last counted (at most every engagement_kept.RECOUNT_EVERY) and keep the figures; their
    ids. `hits` is read before counting, so hits committed meanwhile bring a count next time."""
    due = engagement_kept.due(session, now)
    for campaign_id, hits in due:
        links = session.scalar(select(Campaign.tracking_links).where(Campaign.id == campaign_id))
        figures = count_figures(session, campaign_id, links or [])
        engagement_kept.store(session, campaign_id, hits, figures, now)
    return [campaign_id for campaign_id, _ in due]


def hit_totals(session: Session, campaign_id: int) -> dict[str, int]:
    """Opens and clicks (every hit, not readers), raw and likely human, from both records."""
    totals = dict.fromkeys(("opens", "opens_human", "clicks", "clicks_human"), 0)
    e, c = Engagement, EngagementCount
    rows = [
        *session.execute(
            select(e.kind, e.human, func.count())
            .where(e.campaign_id == campaign_id)
            .group_by(e.kind, e.human)
        ),
        *session.execute(
            select(c.kind, c.human, func.sum(c.count))
            .where(c.campaign_id == campaign_id)
            .group_by(c.kind, c.human)
        ),
    ]
    for kind, human, n in rows:
        name = "clicks" if kind == CLICK else "opens"
        totals[name] += int(n or 0)
        if human:
            totals[f"{name}_human"] += int(n or 0)
    return totals


def _buckets(hours: list[HourCounts], start: datetime) -> tuple[list[Bucket], bool]:
    """Every hour from the send's to the last hit's, or every day when that is longer than
    HOURLY_FOR (at most DAYS_SHOWN of them); empty ones included, so the axis is time."""
    if not hours:
        return [], True
    first = start.replace(minute=0, second=0, microsecond=0)
    last = max(h.hour for h in hours)
    by_hour = last - first < HOURLY_FOR
    step = timedelta(hours=1) if by_hour else timedelta(days=1)
    if not by_hour:
        first = first.replace(hour=0)
    count = min(int((last - first) / step) + 1, DAYS_SHOWN)
    sums = [[0, 0, 0, 0] for _ in range(count)]
    for h in hours:
        i = int((h.hour - first) / step)
        if 0 <= i < count:  # hits before the start (a test send's) or past the last day
            for j, n in enumerate((h.opens, h.opens_human, h.clicks, h.clicks_human)):
                sums[i][j] += n
    return [Bucket(first + i * step, *sums[i]) for i in range(count)], by_hour
