"""A sent campaign with opens, clicks, unsubscribes and complaints recorded, as the tracking
drain and the unsubscribe and complaint paths leave them, for the engagement pages' tests;
and a sending campaign's tracked message, for the pixel's and the click's."""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from broadsheet.models import (
    Campaign,
    Delivery,
    Engagement,
    EventSource,
    SubscriberEvent,
)
from broadsheet.services.campaigns import create_campaign, prepare, start_send
from broadsheet.services.ledger import plan_deliveries
from broadsheet.settings import Settings
from broadsheet.tracking.tokens import make_tracking_token, tracking_key
from tests.support.factories import add_readers, campaign_in, make_article

LINKED = "See [the report](https://example.com/report) and [data](https://example.com/data.csv)."
LINKS = [
    "https://example.org/a",
    "https://www.example.org/the/longest/path/anyone/could/write/in/an/article/about-clocks",
]


def engaged_campaign(
    session: Session, settings: Settings, title: str = "Rate of Change"
) -> Campaign:
    """A campaign sent to ten readers, committed. Readers 0-2 opened (0 twice), 3 and 4 were
    opened by Apple's proxy, 5's gateway clicked link 0 unopened; 0 clicked link 0 twice and
    1 clicked link 1; reader 7 unsubscribed through it, 8 complained about it, 9 unsubscribed
    through no campaign. Raw: 6 opened, 3 clicked; likely human: 3 opened, 2 clicked."""
    add_readers(session, 10, prefix=f"{title.split()[0].lower()}-")
    campaign = campaign_in(session, "sent", title)
    prepare(session, campaign, settings)  # rendered as at the start, then its links are ours
    campaign.tracking_links = LINKS
    rows = session.execute(
        select(Delivery.id, Delivery.subscriber_id)
        .where(Delivery.campaign_id == campaign.id)
        .order_by(Delivery.id)
    ).all()
    start = campaign.started_at
    assert start is not None

    def hit(
        n: int, kind: str, human: bool, hours: int, link: int | None = None
    ) -> dict[str, object]:
        delivery_id, reader_id = rows[n]
        return {
            "campaign_id": campaign.id, "delivery_id": delivery_id, "subscriber_id": reader_id,
            "kind": kind, "link_index": link, "human": human,
            "reason": "reader" if human else "proxy", "at": start + timedelta(hours=hours),
        }  # fmt: skip

    session.execute(
        insert(Engagement),
        [
            hit(0, "open", True, 0), hit(0, "open", True, 5), hit(1, "open", True, 1),
            hit(2, "open", True, 2), hit(3, "open", False, 0), hit(4, "open", False, 0),
            hit(5, "click", False, 0, 0), hit(0, "click", True, 0, 0),
            hit(0, "click", True, 5, 0), hit(1, "click", True, 1, 1),
        ],
    )  # fmt: skip
    for n, status, source, campaign_id in [
        (7, "unsubscribed", EventSource.ONE_CLICK, campaign.id),
        (8, "complained", EventSource.COMPLAINT, campaign.id),
        (9, "unsubscribed", EventSource.UNSUBSCRIBE_LINK, None),
    ]:
        session.add(
            SubscriberEvent(
                subscriber_id=rows[n][1], from_status="active", to_status=status,
                source=source, campaign_id=campaign_id,
            )
        )  # fmt: skip
    session.commit()
    return campaign


def tracked_message(session: Session, settings: Settings) -> tuple[Campaign, Delivery, str]:
    """A sending campaign with two links (LINKED), one reader's delivery and that message's
    tracking token, made an hour ago (its clicks are not "too soon"); committed."""
    add_readers(session, 1)
    article = make_article(session, "Linked", body_markdown=LINKED)
    campaign = start_send(session, create_campaign(session, article.id).id)
    prepare(session, campaign, settings)
    plan_deliveries(session, campaign)
    session.commit()
    delivery = session.scalar(select(Delivery).where(Delivery.campaign_id == campaign.id))
    assert delivery is not None
    key = tracking_key(settings.secret_key)
    token = make_tracking_token(key, delivery.id, campaign.id, int(time.time()) - 3600)
    session.commit()  # ends the read: on SQLite every transaction holds the writers' lock
    return campaign, delivery, token
