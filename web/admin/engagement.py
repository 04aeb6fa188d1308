"""The campaign page's "Opens and clicks" figures once it has started: the report of
broadsheet.services.engagement_report, with its chart drawn and its links shortened for
display; and the readers it lost, which need no tracking, for every started campaign. Read
on load (a sending campaign's figures are as of the page's last load)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from broadsheet.models import Campaign
from broadsheet.services import reception
from broadsheet.services.engagement import WHY_THEY_DIFFER, count_left
from broadsheet.services.engagement_report import Bucket, Report, engagement_report
from web.admin.charts import BarChart, Series, bar_chart

# Links longer than this are cut for display (in full in their title and href).
SHOWN_LINK = 60


@dataclass(frozen=True)
class Link:
    url: str
    shown: str
    clicked: int  # readers, raw
    clicked_human: int


@dataclass(frozen=True)
class Lost:
    """Readers who unsubscribed through the campaign or complained about it: an unsubscribe
    link and a complaint report work without a pixel, so every campaign has these."""

    sent: int  # the messages sent: the denominator of each share
    readers: dict[str, int]  # unsubscribed, complained

    def share(self, name: str) -> float | None:
        return self.readers[name] / self.sent if self.sent else None


def lost_parts(db: Session, campaign: Campaign, counts: dict[str, int]) -> dict[str, Any]:
    """What the page shows of a started campaign sent without tracking: the readers it lost."""
    left = count_left(db, [campaign.id])[campaign.id]
    return {"lost": Lost(reception.messages_sent(counts), left)}


def engagement_parts(db: Session, campaign: Campaign, counts: dict[str, int]) -> dict[str, Any]:
    """What admin/_tracking.html shows of a started, tracked campaign's engagement, the
    readers it lost included (counted with the rest of its report)."""
    report = engagement_report(db, campaign, reception.messages_sent(counts))
    left = {key: report.readers[key] for key in ("unsubscribed", "complained")}
    return {
        "lost": Lost(report.sent, left),
        "engagement": report,
        "engagement_chart": _chart(report),
        "engagement_links": [
            Link(x.url, shorten(x.url), x.clicked, x.clicked_human) for x in report.links
        ],
        "why_they_differ": WHY_THEY_DIFFER,
    }


def shorten(url: str, most: int = SHOWN_LINK) -> str:
    """The link without its scheme and `www.`, cut in the middle past `most` characters, so
    its host and the end of its path stay readable."""
    parts = urlsplit(url)
    shown = url.split("://", 1)[-1] if parts.scheme in ("http", "https") else url
    shown = shown.removeprefix("www.").rstrip("/") or url
    if len(shown) <= most:
        return shown
    head = most * 2 // 3
    return f"{shown[:head]}…{shown[-(most - head - 1) :]}"


def _chart(report: Report) -> BarChart:
    """Readers' opens and clicks above the line, machines' hits below it."""
    label = _hour if report.hourly else _day
    buckets = report.buckets
    return bar_chart(
        "Opens and clicks since the send",
        [label(b) for b in buckets],
        [
            Series("Opens, likely human", [b.opens_human for b in buckets], colour=1),
            Series("Clicks, likely human", [b.clicks_human for b in buckets], colour=2),
            Series("Machines' opens and clicks", [b.machine for b in buckets], 4, below=True),
        ],
        unit="opens and clicks (hits)",
        x_unit="hours, UTC" if report.hourly else "days, UTC",
    )


def _hour(bucket: Bucket) -> str:
    return bucket.start.strftime("%a %H:00")


def _day(bucket: Bucket) -> str:
    return bucket.start.strftime("%a %-d %b")
