"""Campaigns side by side (broadsheet.services.reception): sent, bounced, failed and complaints
per campaign, their rates over the messages sent, and the recent campaigns above Gmail's
0.3% complaint line."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from broadsheet.health import COMPLAINT_LINE
from broadsheet.models import Campaign, Delivery, DeliveryStatus, ReportKind, utcnow
from broadsheet.services.reception import above_complaint_line, reception
from tests.support.factories import planned_campaign
from tests.support.history import reported


def deliveries_to(db, campaign_id: int, *statuses: DeliveryStatus) -> list[int]:
    """Give the campaign's deliveries these statuses in order; returns their readers' ids."""
    rows = db.execute(
        select(Delivery.id, Delivery.subscriber_id)
        .where(Delivery.campaign_id == campaign_id)
        .order_by(Delivery.id)
    ).all()
    for (delivery_id, _), status in zip(rows, statuses, strict=False):
        db.execute(update(Delivery).where(Delivery.id == delivery_id).values(status=status))
    return [reader_id for _, reader_id in rows]


def test_rates_are_over_the_messages_sent_and_readers_count_once(db):
    campaign_id, _ = planned_campaign(db, readers=8)
    S, B, U, F = (DeliveryStatus.SENT, DeliveryStatus.BOUNCED, DeliveryStatus.UNKNOWN,
                  DeliveryStatus.FAILED)  # fmt: skip
    readers = deliveries_to(db, campaign_id, S, S, S, S, B, U, F)  # the 8th still queued
    reported(db, ReportKind.COMPLAINT, subscriber_id=readers[0], campaign_id=campaign_id)
    reported(db, ReportKind.COMPLAINT, subscriber_id=readers[0], campaign_id=campaign_id)
    reported(db, ReportKind.SOFT, subscriber_id=readers[1], campaign_id=campaign_id)
    reported(db, ReportKind.SOFT, subscriber_id=readers[2], campaign_id=campaign_id)
    reported(db, ReportKind.COMPLAINT, subscriber_id=readers[3])  # not traced to a campaign
    figures = reception(db, [campaign_id])[campaign_id]
    assert (figures.sent, figures.bounced, figures.failed) == (6, 1, 1)
    assert (figures.complaints, figures.soft_bounces) == (1, 2)
    assert figures.bounce_rate == figures.complaint_rate == 1 / 6
    assert figures.above_complaint_line


def test_a_campaign_not_sent_yet_has_no_rates(db):
    campaign_id, _ = planned_campaign(db, readers=2)
    figures = reception(db, [campaign_id])[campaign_id]
    assert (figures.sent, figures.bounce_rate, figures.complaint_rate) == (0, None, None)
    assert not figures.above_complaint_line
    assert reception(db, []) == {}


def test_recent_campaigns_above_the_line_are_named_and_older_ones_are_not(db):
    campaign_id, _ = planned_campaign(db, readers=334)
    readers = deliveries_to(db, campaign_id, *[DeliveryStatus.SENT] * 334)
    reported(db, ReportKind.COMPLAINT, subscriber_id=readers[0], campaign_id=campaign_id)
    assert 1 / 334 < COMPLAINT_LINE < 2 / 334
    assert above_complaint_line(db) == []
    reported(db, ReportKind.COMPLAINT, subscriber_id=readers[1], campaign_id=campaign_id)
    flagged = above_complaint_line(db)
    assert [(c.id, r.complaints, r.sent) for c, r in flagged] == [(campaign_id, 2, 334)]
    a_month_ago = utcnow() - timedelta(days=31)
    db.execute(update(Campaign).where(Campaign.id == campaign_id).values(started_at=a_month_ago))
    assert above_complaint_line(db) == []
