"""What the campaign page shows of a send as it goes, and refreshes while it does: its pace
(current and configured rates, the estimated finish), the throughput chart, the failures
grouped, and the rates per relay and throttled domain.

Nothing here counts deliveries: the pace comes from the tick's samples
(broadsheet.services.samples), the failure groups are kept for a large campaign
(broadsheet.services.failures), and the rates now are Redis counters the worker keeps.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import redis
from flask import render_template
from sqlalchemy.orm import Session

from broadsheet import send_counts
from broadsheet.models import Campaign, CampaignStatus, utcnow
from broadsheet.services import failures, samples
from broadsheet.settings import Settings
from web.admin.charts import BarChart, Series, bar_chart
from web.admin.times import duration
from web.extensions import redis_client
from worker.rates import current_rates

# While these, the page asks again every few seconds; after, its figures are final.
LIVE = (CampaignStatus.SCHEDULED, CampaignStatus.SENDING, CampaignStatus.PAUSED)
FRAGMENTS = ("pace", "chart", "failures", "rates")


@dataclass(frozen=True)
class Pace:
    """How fast the send goes now, and when it should be done."""

    rate: float | None  # messages a second over the last minute of samples
    send_rate: float  # SEND_RATE, the configured ceiling
    finish_at: datetime | None  # estimated (None: no pace to go by, or final)
    finish_in: str | None
    sampled_at: datetime | None  # the last sample's time


def live_parts(
    db: Session, campaign: Campaign, counts: dict[str, int], settings: Settings
) -> dict[str, Any]:
    """The page's live parts as data for admin/_campaign_live.html."""
    course = samples.points(db, campaign)
    width, buckets = samples.throughput(course)
    sending = campaign.status == CampaignStatus.SENDING
    rate = samples.current_rate(course) if sending else None
    now = utcnow()
    # Before planning has made its rows there is nothing to go by (no rows is not "done").
    finish = (
        samples.estimated_finish(counts["queued"] + counts["sending"], rate, now)
        if sending and campaign.planned_at is not None
        else None
    )
    pace = Pace(
        rate=rate,
        send_rate=settings.send_rate,
        finish_at=finish,
        finish_in=None if finish is None else duration((finish - now).total_seconds()),
        sampled_at=course[-1].at if len(course) > 1 else None,
    )
    return {
        "pace": pace,
        "chart": _chart(width, buckets),
        "failures": failures.shown(db, campaign) if counts["failed"] + counts["bounced"] else None,
        "rates": _rates(settings),
    }


def fragments(campaign: Campaign, parts: dict[str, Any]) -> dict[str, str]:
    """Each live part as the HTML the page swaps in (see admin.js, liveDelivery)."""
    context = {**parts, "campaign": campaign}
    return {
        name: render_template("admin/_campaign_live.html", part=name, **context)
        for name in FRAGMENTS
    }


def _chart(width: int, buckets: list[samples.Bucket]) -> BarChart:
    label = _minutes if width >= 60 else _seconds
    return bar_chart(
        "Throughput over the send",
        [label(b.start) for b in buckets],
        [
            Series("Sent", [round(b.sent, 1) for b in buckets], colour=1),
            Series("Failed", [round(b.failed, 1) for b in buckets], colour=3),
        ],
        unit="messages a minute",
        x_unit=f"time since the send began, every {duration(width)}",
    )


def _seconds(at: float) -> str:
    minutes, seconds = divmod(int(at), 60)
    return f"{minutes}:{seconds:02d}"


def _minutes(at: float) -> str:
    hours, minutes = divmod(int(at) // 60, 60)
    return f"{hours}:{minutes:02d} h" if hours else f"{minutes} min"


def _rates(settings: Settings) -> dict[str, Any] | None:
    """Configured, effective (after backoff) and current rates per relay and per throttled
    domain, in messages a second; None when Redis can't be read (the page says so)."""
    client = redis_client()
    try:
        limits: dict[str, Any] = current_rates(client, settings)
        now = time.time()
        pipe = client.pipeline(transaction=False)
        for key in send_counts.window_keys(now):
            pipe.hgetall(key)
        steps = pipe.execute()
    except redis.RedisError:
        return None
    measured = send_counts.rates(steps, now)
    for relay in limits["relays"]:
        relay["now"] = measured.get(send_counts.relay_field(relay["name"]), 0.0)
    for domain in limits["domains"]:
        domain["now"] = measured.get(send_counts.domain_field(domain["domain"]), 0.0)
    limits["now"] = sum(r["now"] for r in limits["relays"])
    return limits
