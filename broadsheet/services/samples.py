"""A send's pace, from samples of its counts: the tick's part (`take_samples`) and the
page's (the throughput over the send, the current rate and the estimated finish).

The tick samples every sending or paused campaign, and a finished one a last time, with the
counts its pages show (kept counts for a large campaign, counted afresh for a small one),
so the page never counts deliveries to know how fast they go. A large campaign's failure
groups are kept again when its failures changed since the last sample (see failures.py).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from broadsheet.models import Campaign, CampaignSample, CampaignStatus
from broadsheet.services import failures, progress

# While paused a campaign's counts hardly move: sampled once a minute, not every tick.
PAUSED_EVERY = timedelta(seconds=60)
# Finished campaigns get their last sample if they finished at most this long ago.
FINAL_WITHIN = timedelta(days=1)
# The current rate is the pace over about this long.
RATE_WINDOW = timedelta(seconds=60)
# Bucket widths (seconds) for the throughput chart: the smallest that needs at most
# MAX_BUCKETS buckets for the send so far.
BUCKET_WIDTHS = (10, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 86400)
MAX_BUCKETS = 60


@dataclass(frozen=True)
class Point:
    """Deliveries done (sent) and failed (failed, bounced, unknown) by a moment of the send."""

    at: datetime
    sent: int
    failed: int

    @property
    def done(self) -> int:
        return self.sent + self.failed


@dataclass(frozen=True)
class Bucket:
    """One stretch of the send and its pace, in messages a minute."""

    start: float  # seconds since the send began
    sent: float
    failed: float


def take_samples(session: Session, now: datetime) -> list[int]:
    """The tick's part: a sample of each sending campaign, of each paused one once a
    minute, and a last one of each campaign finished since its last sample; returns the ids
    sampled. Run after progress.recount, so a large campaign's kept counts are fresh."""
    last_at = (
        select(func.max(CampaignSample.at))
        .where(CampaignSample.campaign_id == Campaign.id)
        .scalar_subquery()
    )
    rows = session.execute(
        select(Campaign.id, Campaign.status, Campaign.finished_at, last_at).where(
            Campaign.planned_at.is_not(None),
            Campaign.started_at.is_not(None),
            or_(
                Campaign.status.in_((CampaignStatus.SENDING, CampaignStatus.PAUSED)),
                Campaign.finished_at >= now - FINAL_WITHIN,
            ),
        )
    ).all()
    due = [
        cid
        for cid, status, finished_at, last in rows
        if status == CampaignStatus.SENDING
        or (status == CampaignStatus.PAUSED and (last is None or now - last >= PAUSED_EVERY))
        or (finished_at is not None and (last is None or last < finished_at))
    ]
    if not due:
        return []
    before = _last_failures(session, due)
    counts = progress.shown(session, due)
    for cid in due:
        c = counts[cid]
        session.add(
            CampaignSample(
                campaign_id=cid,
                at=now,
                **{k: c[k] for k in ("sent", "failed", "bounced", "unknown", "queued", "sending")},
            )
        )
        if progress.is_kept(c) and before.get(cid) != c["failed"] + c["bounced"]:
            failures.keep(session, cid)
    session.flush()
    return due


def _last_failures(session: Session, campaign_ids: Sequence[int]) -> dict[int, int]:
    """Failed plus bounced at each campaign's last sample (none: not in the answer)."""
    last = (
        select(CampaignSample.campaign_id, func.max(CampaignSample.at).label("at"))
        .where(CampaignSample.campaign_id.in_(campaign_ids))
        .group_by(CampaignSample.campaign_id)
        .subquery()
    )
    at_last = (last.c.campaign_id == CampaignSample.campaign_id) & (last.c.at == CampaignSample.at)
    rows = session.execute(
        select(CampaignSample.campaign_id, CampaignSample.failed + CampaignSample.bounced).join(
            last, at_last
        )
    )
    return {cid: int(n) for cid, n in rows}


def points(session: Session, campaign: Campaign) -> list[Point]:
    """The send's course: nothing done when it started, then each sample in time order."""
    if campaign.started_at is None:
        return []
    rows = session.execute(
        select(
            CampaignSample.at,
            CampaignSample.sent,
            CampaignSample.failed + CampaignSample.bounced + CampaignSample.unknown,
        )
        .where(CampaignSample.campaign_id == campaign.id)
        .order_by(CampaignSample.at)
    )
    course = [Point(campaign.started_at, 0, 0)]
    course += [Point(at, sent, failed) for at, sent, failed in rows if at > campaign.started_at]
    return course


def throughput(course: Sequence[Point]) -> tuple[int, list[Bucket]]:
    """Messages a minute over the send, in buckets of one width (returned first) chosen so
    that there are at most MAX_BUCKETS; the counts between samples are taken as steady."""
    if len(course) < 2:
        return BUCKET_WIDTHS[0], []
    start = course[0].at
    span = (course[-1].at - start).total_seconds()
    width = next((w for w in BUCKET_WIDTHS if span / w <= MAX_BUCKETS), BUCKET_WIDTHS[-1])
    offsets = [(p.at - start).total_seconds() for p in course]
    buckets = []
    for i in range(max(1, math.ceil(span / width))):
        begin, end = i * width, min((i + 1) * width, span)
        if end <= begin:
            break
        a, b = _at(course, offsets, begin), _at(course, offsets, end)
        per_minute = 60 / (end - begin)
        buckets.append(Bucket(begin, (b[0] - a[0]) * per_minute, (b[1] - a[1]) * per_minute))
    return width, buckets


def _at(course: Sequence[Point], offsets: Sequence[float], seconds: float) -> tuple[float, float]:
    """Sent and failed `seconds` into the send, read between the samples around it
    (`offsets`: each sample's seconds since the start, ascending)."""
    after = bisect.bisect_left(offsets, seconds)
    if after >= len(course):
        return float(course[-1].sent), float(course[-1].failed)
    if after == 0 or offsets[after] == seconds:
        return float(course[after].sent), float(course[after].failed)
    before, later = course[after - 1], course[after]
    share = (seconds - offsets[after - 1]) / (offsets[after] - offsets[after - 1])
    return (
        before.sent + (later.sent - before.sent) * share,
        before.failed + (later.failed - before.failed) * share,
    )


def current_rate(course: Sequence[Point]) -> float | None:
    """Messages a second over the last RATE_WINDOW of samples (None: not two samples yet)."""
    if len(course) < 2:
        return None
    last = course[-1]
    earlier = [p for p in course[:-1] if p.at <= last.at - RATE_WINDOW] or [course[0]]
    first = earlier[-1]
    seconds = (last.at - first.at).total_seconds()
    if seconds <= 0:
        return None
    return max(0.0, (last.done - first.done) / seconds)


def estimated_finish(remaining: int, rate: float | None, now: datetime) -> datetime | None:
    """When the rows still to go are done at `rate` a second (None: no pace to go by)."""
    if not remaining:
        return now
    if not rate:
        return None
    return now + timedelta(seconds=remaining / rate)
