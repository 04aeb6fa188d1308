"""One campaign's deliveries, a keyset page at a time, as the campaign page's counts and
failure groups link to them: by status, reader's domain and reply class, or those of the
readers who complained about or unsubscribed through this campaign (their event carries it,
or the membership they left through it)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from broadsheet.errors import ValidationError
from broadsheet.models import (
    Delivery,
    DeliveryStatus,
    Subscriber,
    SubscriberStatus,
)
from broadsheet.services.engagement import left_through
from broadsheet.services.failures import FAILURE_STATUSES, reply_class, reply_filter

# The statuses a list can ask for; "failures" is failed and bounced together; "complained"
# and "unsubscribed" are the readers' doing after the send, whatever the delivery's status.
FAILURES = "failures"
LEFT = {
    "complained": SubscriberStatus.COMPLAINED,
    "unsubscribed": SubscriberStatus.UNSUBSCRIBED,
}
STATUSES = (*(s.value for s in DeliveryStatus), FAILURES, *LEFT)


@dataclass(frozen=True)
class Row:
    """A delivery as its list shows it, with its reader."""

    id: int
    subscriber_id: int
    email: str
    status: str
    attempts: int
    sent_at: datetime | None
    reply: str | None
    error: str | None


@dataclass(frozen=True)
class Page:
    rows: Sequence[Row]
    # The delivery id (a reader's id in a `left` list) the next page starts after; None: this
    # is the last page.
    after: int | None


def check_status(value: str | None) -> tuple[DeliveryStatus, ...] | None:
    """The statuses a `status` filter names (None: every status); ValidationError on it."""
    if not value:
        return None
    if value == FAILURES:
        return FAILURE_STATUSES
    if value in LEFT:
        return None  # a filter on the reader (readers_who), not on the delivery
    if value not in STATUSES:
        raise ValidationError({"status": f"must be one of {', '.join(STATUSES)}"})
    return (DeliveryStatus(value),)


def readers_who(value: str | None) -> SubscriberStatus | None:
    """The reader status a `status` filter names ("complained", "unsubscribed"), else None."""
    return LEFT.get(value or "")


def check_domain(value: str | None) -> str | None:
    """A reader's domain to filter by, lower-cased; ValidationError when it can't be one."""
    if not value:
        return None
    domain = value.strip().lower()
    if len(domain) > 253 or "@" in domain or not domain or any(c.isspace() for c in domain):
        raise ValidationError({"domain": "must be a mail domain, such as example.org"})
    return domain


def deliveries_page(
    session: Session,
    campaign_id: int,
    *,
    statuses: tuple[DeliveryStatus, ...] | None,
    domain: str | None,
    reply: str | None,
    after: int | None,
    limit: int,
    left: SubscriberStatus | None = None,
) -> Page:
    """Up to `limit` deliveries after id `after`, in id order. Read by the index on
    (campaign, status, id), one status at a time (several are merged in Python: a single
    `status IN (...)` lets the planner read every such row and sort them); a domain or
    reply filter is applied to those rows, so a page of a rare group may hold fewer than
    `limit` rows, and the next page goes on from the last row read (never an OFFSET, never a
    count). `left` lists the readers whose unsubscribe or complaint event names this
    campaign instead, in reader order: `after` is then a reader's id (see _left_page)."""
    query = (
        select(
            Delivery.id,
            Delivery.subscriber_id,
            Subscriber.email,
            Delivery.status,
            Delivery.attempts,
            Delivery.sent_at,
            Delivery.relay_reply,
            Delivery.last_error,
        )
        .join(Subscriber, Subscriber.id == Delivery.subscriber_id)
        .order_by(Delivery.id)
        .limit(limit)
    )
    if domain is not None:
        escaped = domain.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(Subscriber.email_key.like(f"%@{escaped}", escape="\\"))
    if reply:
        query = query.where(reply_filter(reply))
    query = query.where(Delivery.campaign_id == campaign_id)
    if left is not None:
        return _left_page(session, query, campaign_id, left, after, limit, reply)
    if after is not None:
        query = query.where(Delivery.id > after)
    if statuses is None:
        parts = [query]
    else:
        parts = [query.where(Delivery.status == status) for status in statuses]
    read = sorted((r for part in parts for r in session.execute(part)), key=lambda r: r.id)
    read = read[:limit]
    return Page(_rows(read, reply), read[-1].id if len(read) == limit else None)


def _left_page(
    session: Session,
    query: Select[*tuple[Any, ...]],
    campaign_id: int,
    left: SubscriberStatus,
    after: int | None,
    limit: int,
    reply: str | None,
) -> Page:
    """The deliveries of the next `limit` readers (by reader id, after reader `after`) whose
    `left` event names the campaign: a few index rows of the events, then their deliveries
    by the (campaign, subscriber) key. Joined in one statement, or asked for in delivery id
    order with a LIMIT, the planner read the campaign's deliveries in id order."""
    found_readers = left_through([campaign_id])
    name = "complained" if left == SubscriberStatus.COMPLAINED else "unsubscribed"
    readers_query = (
        select(found_readers.c.subscriber_id)
        .where(found_readers.c.name == name)
        .order_by(found_readers.c.subscriber_id)
        .limit(limit)
    )
    if after is not None:
        readers_query = readers_query.where(found_readers.c.subscriber_id > after)
    readers = list(session.scalars(readers_query))
    if not readers:
        return Page([], None)
    found = session.execute(
        query.order_by(None).limit(None).where(Delivery.subscriber_id.in_(readers))
    )
    read = sorted(found, key=lambda r: r.subscriber_id)
    return Page(_rows(read, reply), readers[-1] if len(readers) == limit else None)


def _rows(read: Sequence[Any], reply: str | None) -> list[Row]:
    return [
        Row(r.id, r.subscriber_id, r.email, r.status.value, r.attempts, r.sent_at,
            r.relay_reply, r.last_error)
        for r in read
        if not reply or reply_class(r.relay_reply, r.last_error) == reply
    ]  # fmt: skip
