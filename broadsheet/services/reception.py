"""How campaigns were received: sent, bounced, failed, complained about, side by side.

The ledger says what was sent and what bounced (a relay's refusal at send time, or a bounce
report later: both make the delivery `bounced`); the reports (`bounce_reports`) say who
complained about which campaign. Rates are over the messages sent: the relay took them, or
refused them as a bounce, or the worker lost their outcome (`unknown`).

A complaint rate above Gmail's line (0.3% of the mail it receives from a sender) gets that
sender's mail put in spam or refused; the overview warns about any recent campaign above it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from broadsheet.health import COMPLAINT_LINE
from broadsheet.models import BounceReport, Campaign, ReportKind, utcnow
from broadsheet.services import progress
from broadsheet.services.engagement import engagement_counts

# Campaigns started this recently are checked against Gmail's line (COMPLAINT_LINE).
RECENT = timedelta(days=30)
# At most this many recent campaigns are checked (a page of warnings, not a report).
RECENT_CHECKED = 50


@dataclass(frozen=True)
class Reception:
    """One campaign's figures. Readers complaining or soft-bouncing twice count once."""

    campaign_id: int
    sent: int
    bounced: int
    failed: int
    complaints: int
    soft_bounces: int
    # Unique readers (engagement.FIGURES), when asked for: raw and likely human.
    engaged: dict[str, int] = field(default_factory=dict)

    def rate(self, figure: str) -> float | None:
        """An engagement figure ("opened_human", "unsubscribed", ...) over the messages sent."""
        return self.engaged.get(figure, 0) / self.sent if self.sent else None

    @property
    def bounce_rate(self) -> float | None:
        return self.bounced / self.sent if self.sent else None

    @property
    def complaint_rate(self) -> float | None:
        return self.complaints / self.sent if self.sent else None

    @property
    def above_complaint_line(self) -> bool:
        rate = self.complaint_rate
        return rate is not None and rate > COMPLAINT_LINE


def messages_sent(counts: dict[str, int]) -> int:
    """The messages sent, from a campaign's delivery counts: what every rate is a share of."""
    return counts["sent"] + counts["bounced"] + counts["unknown"]


def reception(
    session: Session, campaign_ids: Sequence[int], *, engagement: bool = False
) -> dict[int, Reception]:
    """Each campaign's figures, in two queries whatever the number of campaigns: the counts
    pages show (kept on a large campaign, see broadsheet.services.progress) and the reports;
    `engagement` adds opens, clicks and unsubscribes (three more, engagement_counts)."""
    if not campaign_ids:
        return {}
    engaged = engagement_counts(session, campaign_ids) if engagement else {}
    counts = progress.shown(session, campaign_ids)
    reported: dict[tuple[int | None, ReportKind], int] = {}
    rows = session.execute(
        select(
            BounceReport.campaign_id,
            BounceReport.kind,
            func.count(distinct(BounceReport.subscriber_id)),
        )
        .where(
            BounceReport.campaign_id.in_(campaign_ids),
            BounceReport.kind.in_((ReportKind.COMPLAINT, ReportKind.SOFT)),
        )
        .group_by(BounceReport.campaign_id, BounceReport.kind)
    )
    for campaign_id, kind, count in rows:
        reported[(campaign_id, kind)] = count
    return {
        cid: Reception(
            campaign_id=cid,
            sent=messages_sent(counts[cid]),
            bounced=counts[cid]["bounced"],
            failed=counts[cid]["failed"],
            complaints=reported.get((cid, ReportKind.COMPLAINT), 0),
            soft_bounces=reported.get((cid, ReportKind.SOFT), 0),
            engaged=engaged.get(cid, {}),
        )
        for cid in campaign_ids
    }


def above_complaint_line(
    session: Session, now: datetime | None = None
) -> list[tuple[Campaign, Reception]]:
    """Campaigns started in the last RECENT whose complaint rate is above Gmail's line,
    newest first."""
    since = (now or utcnow()) - RECENT
    recent = list(
        session.scalars(
            select(Campaign)
            .where(Campaign.started_at >= since)
            .order_by(Campaign.id.desc())
            .limit(RECENT_CHECKED)
        )
    )
    figures = reception(session, [c.id for c in recent])
    return [(c, figures[c.id]) for c in recent if figures[c.id].above_complaint_line]
