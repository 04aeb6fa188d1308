"""Draining tracked hits from Redis into the database: each written exactly once, even when
the drainer dies between reading Redis and committing, or between committing and deleting;
verdicts kept, readers counted once, and nothing per reader in privacy mode."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest
from sqlalchemy import func, select

from broadsheet.models import Engagement, EngagementCount, EngagementKind
from broadsheet.services.engagement import engagement_counts, top_links
from broadsheet.telemetry import CLICKS, OPENS, STORE_KEY, field_name
from broadsheet.tracking.hits import HITS_KEY, PROCESSING_KEY, Hit, decode_hit
from broadsheet.tracking.store import record_hits
from tests.support.factories import planned_campaign
from worker.resources import Resources
from worker.tracking import drain, take_batch

OPEN, CLICK = EngagementKind.OPEN, EngagementKind.CLICK


@pytest.fixture
def res(settings, stack):
    resources = Resources(settings)
    resources.redis.delete(STORE_KEY)  # /metrics' counts start from nothing here
    yield resources
    resources.close()


@pytest.fixture
def sending(committed):
    campaign_id, deliveries = planned_campaign(committed, readers=4)
    committed.commit()
    return campaign_id, deliveries


def push(res, *hits: Hit) -> None:
    res.redis.rpush(HITS_KEY, *(hit.encode() for hit in hits))


def hit(kind, campaign_id, delivery_id, *, link=None, human=True, reason="client"):
    return Hit(kind, campaign_id, delivery_id, link, human, reason, int(time.time() * 1000))


def counted(res, metric, verdict: str) -> int:
    """What /metrics shows for opens or clicks of a verdict ("human", "machine")."""
    return int(res.redis.hget(STORE_KEY, field_name(metric, [verdict])) or 0)


def engagements(session) -> int:
    return int(session.scalar(select(func.count()).select_from(Engagement)))


def test_hits_become_engagements_and_readers_count_once(res, committed, sending):
    campaign_id, (first, second, third, _) = sending
    push(
        res,
        hit(OPEN, campaign_id, first),
        hit(OPEN, campaign_id, first),  # opened twice: one reader
        hit(CLICK, campaign_id, second, link=0),  # clicked without a pixel: opened too
        hit(OPEN, campaign_id, third, human=False, reason="bare-agent"),
        hit(CLICK, campaign_id, third, link=1, human=False, reason="scanner"),
    )
    assert drain(res) == 5
    committed.expire_all()
    counts = engagement_counts(committed, [campaign_id])[campaign_id]
    assert counts == {
        "opened": 3, "opened_human": 2, "clicked": 2, "clicked_human": 1,
        "unsubscribed": 0, "complained": 0,
    }  # fmt: skip
    kept = committed.execute(select(Engagement.reason, Engagement.human)).all()
    assert sorted(kept) == sorted(
        [("client", True)] * 3 + [("bare-agent", False), ("scanner", False)]
    )
    links = top_links(committed, campaign_id, ["https://a.example", "https://b.example"])
    assert [(link.url, link.clicked, link.clicked_human) for link in links] == [
        ("https://a.example", 1, 1), ("https://b.example", 1, 0),
    ]  # fmt: skip
    assert res.redis.llen(HITS_KEY) == 0 and not res.redis.exists(PROCESSING_KEY)
    assert [counted(res, OPENS, "human"), counted(res, OPENS, "machine")] == [2, 1]
    assert [counted(res, CLICKS, "human"), counted(res, CLICKS, "machine")] == [1, 1]


def test_hits_for_an_unknown_delivery_are_neither_written_nor_counted(res, committed, sending):
    campaign_id, (first, *_) = sending
    push(
        res,
        hit(OPEN, campaign_id, first),
        hit(OPEN, campaign_id, first + 10_000),  # signed for a delivery since gone
        hit(CLICK, campaign_id + 1, first, link=0, human=False, reason="scanner"),  # not its own
    )
    assert drain(res) == 1
    assert [counted(res, OPENS, "human"), counted(res, OPENS, "machine")] == [1, 0]
    assert [counted(res, CLICKS, "human"), counted(res, CLICKS, "machine")] == [0, 0]


def test_a_drainer_dying_before_its_commit_loses_nothing(res, committed, sending):
    campaign_id, deliveries = sending
    push(res, *(hit(OPEN, campaign_id, d) for d in deliveries))
    taken = take_batch(res.redis)  # read from Redis, then killed: nothing written
    assert taken is not None and len(taken[1]) == 4
    push(res, hit(CLICK, campaign_id, deliveries[0], link=0))  # arrives meanwhile
    assert drain(res) == 5  # the batch left behind, then the new hit
    committed.expire_all()
    assert engagements(committed) == 5


def test_a_drainer_dying_after_its_commit_counts_nothing_twice(res, committed, sending):
    campaign_id, deliveries = sending
    push(res, *(hit(OPEN, campaign_id, d) for d in deliveries))
    taken = take_batch(res.redis)
    assert taken is not None
    batch_id, raw = taken
    written = [found for found in map(decode_hit, raw) if found is not None]
    with res.sessions.begin() as session:  # committed, then killed before deleting
        record_hits(session, batch_id, written, privacy=False)
    assert res.redis.exists(PROCESSING_KEY)
    assert drain(res) == 0  # the batch is found written and only deleted
    committed.expire_all()
    assert engagements(committed) == 4
    assert counted(res, OPENS, "human") == 0  # its drainer died before counting: not now
    assert not res.redis.exists(PROCESSING_KEY)


def test_privacy_mode_keeps_counts_and_no_row_per_reader(res, committed, sending):
    campaign_id, (first, second, *_) = sending
    private = Resources(replace(res.settings, tracking_privacy=True))
    try:
        push(
            private,
            hit(OPEN, campaign_id, first),
            hit(OPEN, campaign_id, second, human=False, reason="bare-agent"),
            hit(CLICK, campaign_id, first, link=0),
            hit(CLICK, campaign_id, first, link=0),
        )
        assert drain(private) == 4
    finally:
        private.close()
    committed.expire_all()
    assert engagements(committed) == 0
    rows = committed.execute(
        select(EngagementCount.kind, EngagementCount.link_index, EngagementCount.human,
               EngagementCount.count).order_by(EngagementCount.kind, EngagementCount.human)
    ).all()  # fmt: skip
    assert sorted(rows) == sorted([(CLICK, 0, True, 2), (OPEN, -1, False, 1), (OPEN, -1, True, 1)])
    counts = engagement_counts(committed, [campaign_id])[campaign_id]
    # Hits, not readers: privacy mode cannot tell two clicks of one reader from two readers.
    assert (counts["opened"], counts["opened_human"]) == (4, 3)
    assert (counts["clicked"], counts["clicked_human"]) == (2, 2)


def test_hits_for_a_delivery_of_another_campaign_or_garbage_are_dropped(res, committed, sending):
    campaign_id, (first, *_) = sending
    push(res, hit(OPEN, campaign_id + 1, first))
    res.redis.rpush(HITS_KEY, b"not a hit", b"o,1,2,,1,unknown-reason,0")
    assert drain(res) == 0
    committed.expire_all()
    assert engagements(committed) == 0
    assert res.redis.llen(HITS_KEY) == 0
