"""The bounce and complaint reports as the admin lists them: newest first, in one kind or all,
in keyset pages, each with its reader's address and its campaign's subject.

A page is one query of at most `limit + 1` rows, walking the primary key (all kinds) or
`ix_bounce_reports_kind_id` (one kind) from an id down; the reader and the campaign are joined
in (outer: a report may trace to neither, and its reader or campaign may since be gone).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from broadsheet.models import BounceReport, Campaign, ReportKind, Subscriber
from broadsheet.services.choices import choice
from broadsheet.services.paging import page_marker
from broadsheet.services.readers import Page


@dataclass(frozen=True)
class ReportRow:
    id: int
    received_at: datetime
    kind: ReportKind
    source: str
    status_code: str | None
    diagnostic: str | None
    recipient: str | None
    matched_by: str | None
    subscriber_id: int | None
    subscriber_email: str | None
    campaign_id: int | None
    campaign_subject: str | None


def report_kind(value: object) -> ReportKind | None:
    """The kind a list is filtered by, from a query string (None: every kind)."""
    if value in (None, ""):
        return None
    return choice(ReportKind, value, "kind")


def list_reports(
    session: Session, kind: object = None, before: object = None, limit: int = 50
) -> Page[ReportRow]:
    """Reports newest first, `limit` at a time, optionally of one `kind`, below the id
    `before`; ValidationError on `kind` or `before` when they are not what they should be."""
    query = (
        select(
            BounceReport.id,
            BounceReport.received_at,
            BounceReport.kind,
            BounceReport.source,
            BounceReport.status_code,
            BounceReport.diagnostic,
            BounceReport.recipient,
            BounceReport.matched_by,
            BounceReport.subscriber_id,
            Subscriber.email.label("subscriber_email"),
            BounceReport.campaign_id,
            Campaign.subject.label("campaign_subject"),
        )
        .outerjoin(Subscriber, Subscriber.id == BounceReport.subscriber_id)
        .outerjoin(Campaign, Campaign.id == BounceReport.campaign_id)
    )
    chosen = report_kind(kind)
    if chosen is not None:
        query = query.where(BounceReport.kind == chosen)
    if before not in (None, ""):
        query = query.where(BounceReport.id < page_marker(before))
    rows = session.execute(query.order_by(BounceReport.id.desc()).limit(limit + 1)).all()
    shown = [ReportRow(**row._asdict()) for row in rows[:limit]]
    return Page(shown, shown[-1].id if len(rows) > limit else None)
