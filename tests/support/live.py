"""A sending campaign whose deliveries have set outcomes, for the live page's tests."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from broadsheet.models import Delivery, DeliveryStatus
from broadsheet.services.campaigns import start_send
from broadsheet.services.ledger import plan_deliveries
from tests.support.factories import add_readers, make_campaign

# (domain, readers, status, relay reply, error) in planning order
MIX = [
    ("example.org", 4, DeliveryStatus.SENT, "250 2.0.0 OK queued", None),
    ("refusing.test", 3, DeliveryStatus.FAILED, "550 5.7.1 <x@refusing.test>: we refuse", None),
    ("example.org", 2, DeliveryStatus.BOUNCED, "550 5.1.1 no such user here", "no such address"),
    ("slow.test", 1, DeliveryStatus.FAILED, None, "gave up after 6 attempts: connection lost: x"),
    ("example.org", 2, DeliveryStatus.QUEUED, None, None),
]


def mixed_campaign(session: Session) -> int:
    """A planned, sending campaign with deliveries as MIX says, committed; its id."""
    for n, (domain, readers, *_) in enumerate(MIX):
        add_readers(session, readers, prefix=f"m{n}-", domain=domain)
    campaign = start_send(session, make_campaign(session).id)
    plan_deliveries(session, campaign)
    ids = list(
        session.scalars(
            select(Delivery.id).where(Delivery.campaign_id == campaign.id).order_by(Delivery.id)
        )
    )
    at = 0
    for _domain, readers, status, reply, error in MIX:
        session.execute(
            update(Delivery)
            .where(Delivery.id.in_(ids[at : at + readers]))
            .values(status=status, relay_reply=reply, last_error=error)
        )
        at += readers
    session.commit()
    return campaign.id
