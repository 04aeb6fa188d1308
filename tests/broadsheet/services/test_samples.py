"""A send's pace from the tick's samples (broadsheet.services.samples): which campaigns are
sampled, the throughput in buckets, the current rate and the estimated finish."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update

from broadsheet.models import Campaign, CampaignSample, CampaignStatus, utcnow
from broadsheet.services import samples
from broadsheet.services.samples import Point
from tests.support.live import mixed_campaign

T0 = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def count_samples(session, campaign_id: int) -> int:
    query = select(func.count()).where(CampaignSample.campaign_id == campaign_id)
    return int(session.scalar(query) or 0)


def test_a_sending_campaign_is_sampled_at_each_tick_with_its_counts(committed):
    campaign_id = mixed_campaign(committed)
    now = utcnow()
    assert samples.take_samples(committed, now) == [campaign_id]
    assert samples.take_samples(committed, now + timedelta(seconds=5)) == [campaign_id]
    committed.commit()
    last = committed.scalars(select(CampaignSample).order_by(CampaignSample.id.desc())).first()
    assert last is not None
    assert (last.sent, last.failed, last.bounced, last.queued, last.done) == (4, 4, 2, 2, 10)


def test_a_paused_campaign_is_sampled_once_a_minute_a_finished_one_once_more(committed):
    campaign_id = mixed_campaign(committed)
    now = utcnow()
    samples.take_samples(committed, now)
    committed.execute(
        update(Campaign).where(Campaign.id == campaign_id).values(status=CampaignStatus.PAUSED)
    )
    assert samples.take_samples(committed, now + timedelta(seconds=5)) == []
    assert samples.take_samples(committed, now + timedelta(seconds=61)) == [campaign_id]
    committed.execute(
        update(Campaign)
        .where(Campaign.id == campaign_id)
        .values(status=CampaignStatus.SENT, finished_at=now + timedelta(seconds=62))
    )
    assert samples.take_samples(committed, now + timedelta(seconds=65)) == [campaign_id]
    assert samples.take_samples(committed, now + timedelta(seconds=70)) == []
    committed.commit()
    assert count_samples(committed, campaign_id) == 3


def test_throughput_is_messages_a_minute_per_bucket_read_between_samples():
    course = [
        Point(T0, 0, 0),
        Point(T0 + timedelta(seconds=20), 100, 0),  # 300 a minute
        Point(T0 + timedelta(seconds=40), 100, 10),  # stopped; 10 failed
    ]
    width, buckets = samples.throughput(course)
    assert width == 10
    assert [(b.start, round(b.sent), round(b.failed)) for b in buckets] == [
        (0, 300, 0),
        (10, 300, 0),
        (20, 0, 30),
        (30, 0, 30),
    ]


def test_a_long_send_gets_wider_buckets_never_more_than_the_most():
    course = [Point(T0, 0, 0), Point(T0 + timedelta(hours=3), 10_000, 0)]
    width, buckets = samples.throughput(course)
    assert width == 300 and len(buckets) <= samples.MAX_BUCKETS
    assert round(buckets[0].sent, 1) == round(10_000 / 180, 1)


def test_the_current_rate_is_the_last_minutes_pace_and_gives_the_finish():
    course = [
        Point(T0, 0, 0),
        Point(T0 + timedelta(seconds=60), 6000, 0),  # 100 a second at first
        Point(T0 + timedelta(seconds=120), 8400, 600),  # then 50 a second
    ]
    rate = samples.current_rate(course)
    assert rate == 50
    assert samples.estimated_finish(1000, rate, T0) == T0 + timedelta(seconds=20)
    assert samples.estimated_finish(1000, None, T0) is None
    assert samples.current_rate(course[:1]) is None
