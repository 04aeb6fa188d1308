"""Erasing a reader at their request (GDPR article 17), and the export of everything kept
about one (article 15).

Erasing keeps the reader's row as an anonymous stand-in, so every campaign's deliveries,
opens and clicks still count: the address, name, attributes, tags, memberships, signup
address, history notes, relay replies, bounce reports and the rows of admin imports
(import_retention.forget_address) that could name them go; their
deliveries and engagements stay, tied to nobody. Only a keyed hash of the address is kept
(`erasures`), so an import or the API refuses it with a clear reason instead of bringing the
reader back unasked; the reader themselves may sign up again through the form (double
opt-in), which lifts the refusal once they confirm."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from broadsheet.models import (
    BounceReport,
    Campaign,
    Delivery,
    Engagement,
    Erasure,
    EventSource,
    Membership,
    MembershipStatus,
    Newsletter,
    OutboxMessage,
    OutboxStatus,
    Subscriber,
    SubscriberEvent,
    SubscriberStatus,
    SubscriberTag,
    utcnow,
)
from broadsheet.services import import_retention, profiles
from broadsheet.services.subscriptions import ERASED, get_subscriber, set_status
from broadsheet.signing import erasure_hash

log = logging.getLogger(__name__)

ERASED_DOMAIN = "erased.invalid"  # RFC 2606: can never be a real address
REFUSAL = ERASED


def address_hash(secret: str, email_key: str) -> str:
    return erasure_hash(secret, email_key)


def erased_among(session: Session, hashes: Sequence[str]) -> set[str]:
    """Which of the address hashes `hashes` are of erased addresses: one query for a batch (an
    import's on SQLite; PostgreSQL's looks them up in the statement that adds the readers,
    broadsheet/imports/arrays.py)."""
    if not hashes:
        return set()
    column = Erasure.address_hash
    # On the connection: an import's batch flushes nothing of the session's (no autoflush).
    return set(session.connection().scalars(select(column).where(column.in_(hashes))))


def was_erased(reader: Subscriber) -> bool:
    """Whether this reader's row is an erased one's stand-in (nothing personal left in it)."""
    return reader.email_key.endswith(f"@{ERASED_DOMAIN}")


def lift(session: Session, secret: str, email_key: str) -> None:
    """The reader came back of their own accord (a confirmed signup): no longer refused."""
    session.execute(delete(Erasure).where(Erasure.address_hash == address_hash(secret, email_key)))


def erase(session: Session, subscriber_id: int, secret: str, *, actor: str | None = None) -> None:
    """Erase the reader (see the module). Idempotent: an erased reader is erased already."""
    reader = get_subscriber(session, subscriber_id)
    if was_erased(reader):
        return
    session.merge(Erasure(address_hash=address_hash(secret, reader.email_key), erased_at=utcnow()))
    if reader.status in (SubscriberStatus.ACTIVE, SubscriberStatus.PENDING):
        set_status(
            session, reader, SubscriberStatus.UNSUBSCRIBED, source=EventSource.ADMIN,
            reason="erased at the reader's request", actor=actor,
        )  # fmt: skip
    import_retention.forget_address(session, reader.email_key)
    stand_in = f"erased-{reader.id}@{ERASED_DOMAIN}"
    reader.email = reader.email_key = stand_in
    reader.name, reader.attributes, reader.signup_ip = "", None, None
    session.execute(delete(Membership).where(Membership.subscriber_id == reader.id))
    session.execute(delete(SubscriberTag).where(SubscriberTag.subscriber_id == reader.id))
    session.execute(
        update(SubscriberEvent)
        .where(SubscriberEvent.subscriber_id == reader.id)
        .values(reason=None)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(Delivery)
        .where(Delivery.subscriber_id == reader.id)
        .values(relay_reply=None, last_error=None)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(BounceReport)
        .where(BounceReport.subscriber_id == reader.id)
        .values(recipient=None, diagnostic=None)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        delete(OutboxMessage).where(
            OutboxMessage.subscriber_id == reader.id, OutboxMessage.status != OutboxStatus.SENT
        )
    )
    session.flush()
    log.info("subscriber %s erased", reader.id, extra={"subscriber_id": reader.id})


def export(session: Session, subscriber_id: int) -> dict[str, Any]:
    """Everything kept about the reader, as JSON-ready data: profile, newsletters, tags,
    attributes, history, deliveries, opens and clicks."""
    reader = get_subscriber(session, subscriber_id)
    joined = session.execute(
        select(Newsletter.slug, Newsletter.name, Membership.status, Membership.changed_at)
        .join(Membership, Membership.newsletter_id == Newsletter.id)
        .where(Membership.subscriber_id == reader.id)
        .order_by(Newsletter.name)
    )
    events = session.scalars(
        select(SubscriberEvent)
        .where(SubscriberEvent.subscriber_id == reader.id)
        .order_by(SubscriberEvent.id)
    )
    deliveries = session.execute(
        select(Delivery, Campaign.subject)
        .join(Campaign, Campaign.id == Delivery.campaign_id)
        .where(Delivery.subscriber_id == reader.id)
        .order_by(Delivery.id)
    )
    hits = session.scalars(
        select(Engagement).where(Engagement.subscriber_id == reader.id).order_by(Engagement.id)
    )
    return {
        "email": reader.email,
        "name": reader.name,
        "status": reader.status.value,
        "source": reader.source,
        "signup_ip": reader.signup_ip,
        "created_at": _iso(reader.created_at),
        "confirmed_at": _iso(reader.confirmed_at),
        "unsubscribed_at": _iso(reader.unsubscribed_at),
        "attributes": reader.attributes or {},
        "tags": profiles.tags_of(session, reader.id),
        "newsletters": [
            {
                "slug": slug,
                "name": name,
                "subscribed": status == MembershipStatus.SUBSCRIBED,
                "changed_at": _iso(changed),
            }
            for slug, name, status, changed in joined
        ],
        "history": [
            {
                "at": _iso(e.at),
                "from": e.from_status and e.from_status.value,
                "to": e.to_status.value,
                "source": e.source.value,
                "reason": e.reason,
            }
            for e in events
        ],
        "deliveries": [
            {
                "campaign": subject,
                "status": d.status.value,
                "attempts": d.attempts,
                "sent_at": _iso(d.sent_at),
                "relay_reply": d.relay_reply,
            }
            for d, subject in deliveries
        ],
        "opens_and_clicks": [
            {
                "campaign_id": h.campaign_id,
                "kind": h.kind.value,
                "link": h.link_index,
                "at": _iso(h.at),
                "likely_human": h.human,
            }
            for h in hits
        ],
    }


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None
