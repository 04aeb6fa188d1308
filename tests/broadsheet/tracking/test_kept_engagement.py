"""Engagement figures kept for a campaign with many hits (broadsheet.services.engagement_kept):
after any series of drained batches, a repeated one included, what pages show equals a plain
count over the hits; the tick counts again only campaigns with new hits, at most every
RECOUNT_EVERY; privacy mode's counts are kept the same way."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from broadsheet.models import (
    Campaign,
    Engagement,
    EngagementCount,
    EngagementKind,
    EngagementReport,
    utcnow,
)
from broadsheet.services import engagement_kept
from broadsheet.services.engagement import engagement_counts
from broadsheet.services.engagement_report import engagement_report, recount_engagement
from broadsheet.tracking.hits import Hit
from broadsheet.tracking.store import record_hits
from tests.support.factories import planned_campaign

OPEN, CLICK = EngagementKind.OPEN, EngagementKind.CLICK
LINKS = ["https://a.example/", "https://b.example/"]


@pytest.fixture
def large(monkeypatch):
    monkeypatch.setattr(engagement_kept, "KEPT_ABOVE", 3)  # more than 3 hits: kept


@pytest.fixture
def campaign(db):
    campaign_id, deliveries = planned_campaign(db, readers=5)
    db.get_one(Campaign, campaign_id).tracking_links = LINKS
    db.flush()
    return campaign_id, deliveries


def hit(kind, campaign_id, delivery_id, link=None, human=True, hours=0) -> Hit:
    at_ms = int((time.time() - hours * 3600) * 1000)
    return Hit(kind, campaign_id, delivery_id, link, human, "client" if human else "proxy", at_ms)


def plain_count(db, campaign_id: int) -> dict[str, int]:
    """Unique readers straight from every hit of the campaign, no query of the code under test."""
    rows = db.execute(
        select(Engagement.delivery_id, Engagement.kind, Engagement.human).where(
            Engagement.campaign_id == campaign_id
        )
    ).all()

    def readers(keep) -> int:
        return len({d for d, kind, human in rows if keep(kind, human)})

    return {
        "opened": readers(lambda k, h: True),
        "opened_human": readers(lambda k, h: h),
        "clicked": readers(lambda k, h: k == CLICK),
        "clicked_human": readers(lambda k, h: k == CLICK and h),
        "unsubscribed": 0,
        "complained": 0,
    }


def written(db, campaign_id: int) -> int | None:
    """The campaign's hits written, as the drain keeps it."""
    hits: int | None = db.scalar(
        select(EngagementReport.hits).where(EngagementReport.campaign_id == campaign_id)
    )
    return hits


def test_kept_figures_equal_a_plain_count_after_a_series_of_batches(db, campaign, large):
    campaign_id, (a, b, c, d, _) = campaign
    first = [hit(OPEN, campaign_id, a), hit(OPEN, campaign_id, b, human=False)]
    assert len(record_hits(db, "first", first, privacy=False)) == 2
    assert recount_engagement(db, utcnow()) == []  # 2 hits: small, counted at each ask
    second = [
        hit(OPEN, campaign_id, a),  # a reader already counted
        hit(CLICK, campaign_id, c, link=0),  # clicked without an open
        hit(CLICK, campaign_id, a, link=1, human=False),
    ]
    assert len(record_hits(db, "second", second, privacy=False)) == 3
    assert len(record_hits(db, "second", second, privacy=False)) == 0  # its drainer died: skipped
    assert written(db, campaign_id) == 5 == db.scalar(select(func.count(Engagement.id)))
    now = utcnow()
    assert recount_engagement(db, now) == [campaign_id]
    assert engagement_counts(db, [campaign_id])[campaign_id] == plain_count(db, campaign_id)
    report = engagement_report(db, db.get_one(Campaign, campaign_id), sent=5)
    assert report.counted_at == now
    assert report.hits == {"opens": 3, "opens_human": 2, "clicks": 2, "clicks_human": 1}
    assert [(x.url, x.clicked, x.clicked_human) for x in report.links] == [
        (LINKS[0], 1, 1), (LINKS[1], 1, 0),
    ]  # fmt: skip
    assert sum(b.opens + b.clicks for b in report.buckets) == 5

    assert recount_engagement(db, now + timedelta(hours=1)) == []  # nothing new: not counted
    third = [hit(CLICK, campaign_id, d, link=0), hit(OPEN, campaign_id, d)]
    record_hits(db, "third", third, privacy=False)
    assert recount_engagement(db, now + timedelta(seconds=1)) == []  # counted a moment ago
    assert engagement_counts(db, [campaign_id])[campaign_id]["clicked"] == 2  # as then
    later = now + engagement_kept.RECOUNT_EVERY
    assert recount_engagement(db, later) == [campaign_id]
    assert engagement_counts(db, [campaign_id])[campaign_id] == plain_count(db, campaign_id)
    assert plain_count(db, campaign_id)["clicked"] == 3


def test_a_kept_report_is_what_counting_at_the_ask_shows(db, campaign, large, monkeypatch):
    campaign_id, (a, b, c, *_) = campaign
    hits = [
        hit(OPEN, campaign_id, a, hours=3), hit(OPEN, campaign_id, b, human=False, hours=2),
        hit(CLICK, campaign_id, c, link=1), hit(CLICK, campaign_id, c, link=1, hours=1),
        hit(CLICK, campaign_id, a, link=0, human=False),
    ]  # fmt: skip
    record_hits(db, "only", hits, privacy=False)
    recount_engagement(db, utcnow())
    shown = engagement_report(db, db.get_one(Campaign, campaign_id), sent=5)
    monkeypatch.setattr(engagement_kept, "KEPT_ABOVE", 1_000)  # small again: counted now
    counted = engagement_report(db, db.get_one(Campaign, campaign_id), sent=5)
    assert shown.counted_at is not None and counted.counted_at is None
    assert (shown.readers, shown.hits, shown.links) == (
        counted.readers,
        counted.hits,
        counted.links,
    )
    assert (shown.buckets, shown.hourly) == (counted.buckets, counted.hourly)


def test_privacy_mode_keeps_its_counts_the_same_way(db, campaign, large):
    campaign_id, (a, b, *_) = campaign
    hits = [
        hit(OPEN, campaign_id, a), hit(OPEN, campaign_id, a),
        hit(OPEN, campaign_id, b, human=False), hit(CLICK, campaign_id, a, link=0),
    ]  # fmt: skip
    assert len(record_hits(db, "private", hits, privacy=True)) == 4
    assert len(record_hits(db, "private", hits, privacy=True)) == 0
    assert written(db, campaign_id) == 4 == db.scalar(select(func.sum(EngagementCount.count)))
    assert recount_engagement(db, utcnow()) == [campaign_id]
    counts = engagement_counts(db, [campaign_id])[campaign_id]
    # Hits, not readers: a click counts as an open too.
    assert (counts["opened"], counts["opened_human"], counts["clicked"]) == (4, 3, 1)
    report = engagement_report(db, db.get_one(Campaign, campaign_id), sent=5)
    assert report.counted_at is not None and report.buckets == []  # privacy keeps no times
    assert [(x.url, x.clicked) for x in report.links] == [(LINKS[0], 1)]
