"""The admin's view of readers: the list (search, status filter, keyset pages), one reader's
page (history and deliveries), and the changes editors make (add a reader, unsubscribe one).

Every query here is bounded: a page reads at most `limit + 1` rows from an index, whatever the
table's size. There is no OFFSET and no count per page (see bench/subscribers.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from broadsheet.addresses import check_address, clean_name
from broadsheet.errors import Conflict, ValidationError
from broadsheet.models import (
    Campaign,
    Delivery,
    DeliveryStatus,
    EventSource,
    Membership,
    MembershipStatus,
    Subscriber,
    SubscriberEvent,
    SubscriberStatus,
    SubscriberTag,
)
from broadsheet.services.choices import choice
from broadsheet.services.paging import page_marker
from broadsheet.services.subscriptions import create_subscriber, get_subscriber, unsubscribe

MAX_SEARCH = 320
MAX_REASON = 500
EVENTS_SHOWN = 100
EDITOR_STATUSES = (SubscriberStatus.PENDING, SubscriberStatus.ACTIVE)
T = TypeVar("T")


@dataclass(frozen=True)
class ReaderRow:
    id: int
    email: str
    name: str
    status: SubscriberStatus
    created_at: datetime
    status_changed_at: datetime


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of rows, newest first; `next_before` is the `before` of the next, if any."""

    rows: list[T]
    next_before: int | None


def list_subscribers(
    session: Session,
    search: object = None,
    status: object = None,
    before: object = None,
    limit: int = 50,
    *,
    newsletter_id: int | None = None,
    tag: str | None = None,
) -> Page[ReaderRow]:
    """Readers newest first, `limit` at a time: those whose address or name starts with
    `search` (any case), optionally in one `status`, subscribed to one newsletter, carrying
    one tag, below the id `before`. One query of at most `limit + 1` rows (the extra one says
    whether there is a next page); a newsletter or tag is joined by its index, read in reader
    order from the top, so a rare one is not looked for row by row among all readers."""
    query = select(
        Subscriber.id,
        Subscriber.email,
        Subscriber.name,
        Subscriber.status,
        Subscriber.created_at,
        Subscriber.status_changed_at,
    )
    order = Subscriber.id.desc()
    if newsletter_id is not None:
        query = query.join(Membership, Membership.subscriber_id == Subscriber.id).where(
            Membership.newsletter_id == newsletter_id,
            Membership.status == MembershipStatus.SUBSCRIBED,
        )
        order = Membership.subscriber_id.desc()
    if tag is not None:
        query = query.join(SubscriberTag, SubscriberTag.subscriber_id == Subscriber.id).where(
            SubscriberTag.tag == tag
        )
        order = SubscriberTag.subscriber_id.desc()
    if status not in (None, ""):
        query = query.where(Subscriber.status == choice(SubscriberStatus, status, "status"))
    if before not in (None, ""):
        query = query.where(Subscriber.id < page_marker(before))
    term = search_term(search)
    if term:
        pattern = _like_prefix(term)
        query = query.where(
            or_(
                Subscriber.email_key.like(pattern, escape="\\"),
                func.lower(Subscriber.name).like(pattern, escape="\\"),
            )
        )
    rows = session.execute(query.order_by(order).limit(limit + 1)).all()
    shown = [ReaderRow(*row) for row in rows[:limit]]
    return Page(shown, shown[-1].id if len(rows) > limit else None)


def search_term(value: object) -> str:
    """What the search box holds, trimmed and lower-cased ('' for none)."""
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > MAX_SEARCH:
        raise ValidationError({"q": f"must be at most {MAX_SEARCH} characters"})
    return value.strip().lower()


def _like_prefix(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"{escaped}%"


@dataclass(frozen=True)
class EventRow:
    at: datetime
    from_status: SubscriberStatus | None
    to_status: SubscriberStatus
    source: EventSource
    reason: str | None
    actor: str | None


@dataclass(frozen=True)
class DeliveryRow:
    id: int
    campaign_id: int
    subject: str
    status: DeliveryStatus
    attempts: int
    relay_reply: str | None
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


@dataclass(frozen=True)
class ReaderPage:
    """Everything a reader's page shows: the reader, their newest EVENTS_SHOWN events (and
    whether there are older ones), and one page of their deliveries, newest first."""

    subscriber: Subscriber
    events: list[EventRow]
    older_events: bool
    deliveries: Page[DeliveryRow]


def subscriber_page(
    session: Session, subscriber_id: int, deliveries_before: object = None, limit: int = 50
) -> ReaderPage:
    """A reader with their history and deliveries, in three bounded queries."""
    subscriber = get_subscriber(session, subscriber_id)
    events = session.execute(
        select(
            SubscriberEvent.at,
            SubscriberEvent.from_status,
            SubscriberEvent.to_status,
            SubscriberEvent.source,
            SubscriberEvent.reason,
            SubscriberEvent.actor,
        )
        .where(SubscriberEvent.subscriber_id == subscriber_id)
        .order_by(SubscriberEvent.id.desc())
        .limit(EVENTS_SHOWN + 1)
    ).all()
    query = (
        select(
            Delivery.id,
            Delivery.campaign_id,
            Campaign.subject,
            Delivery.status,
            Delivery.attempts,
            Delivery.relay_reply,
            Delivery.last_error,
            Delivery.created_at,
            Delivery.sent_at,
        )
        .join(Campaign, Campaign.id == Delivery.campaign_id)
        .where(Delivery.subscriber_id == subscriber_id)
        .order_by(Delivery.id.desc())
        .limit(limit + 1)
    )
    if deliveries_before not in (None, ""):
        query = query.where(Delivery.id < page_marker(deliveries_before))
    rows = [DeliveryRow(*row) for row in session.execute(query)]
    deliveries = Page(rows[:limit], rows[limit - 1].id if len(rows) > limit else None)
    return ReaderPage(
        subscriber,
        [EventRow(*row) for row in events[:EVENTS_SHOWN]],
        len(events) > EVENTS_SHOWN,
        deliveries,
    )


def add_subscriber_by_editor(
    session: Session,
    email: object,
    name: object,
    status: object,
    reason: object,
    actor: str,
    secret: str | None = None,
) -> Subscriber:
    """An editor adds a reader: `pending` (the caller then mails a confirmation) or `active`,
    which needs a `reason` saying how the reader agreed. Every problem is reported at once, on
    its field; an address already known is a Conflict."""
    errors: dict[str, str] = {}
    if status not in [s.value for s in EDITOR_STATUSES]:
        errors["status"] = "choose whether to ask for confirmation or add them as active"
    why = reason.strip() if isinstance(reason, str) else ""
    if len(why) > MAX_REASON:
        errors["reason"] = f"must be at most {MAX_REASON} characters"
    elif status == SubscriberStatus.ACTIVE and not why:
        errors["reason"] = "say how this reader agreed to get the newsletter"
    for check in (lambda: check_address(email), lambda: clean_name(name)):
        try:
            check()
        except ValidationError as exc:
            errors.update(exc.fields)
    if errors:
        raise ValidationError(errors)
    return create_subscriber(
        session, email, name, status=status, source=EventSource.ADMIN, reason=why, actor=actor,
        secret=secret,
    )  # fmt: skip


def unsubscribe_by_editor(
    session: Session, subscriber_id: int, actor: str, reason: object = None
) -> Subscriber:
    """An editor stops all mail to a pending or active reader (Conflict for anyone else);
    the history names them and their reason."""
    subscriber = get_subscriber(session, subscriber_id)
    if subscriber.status not in EDITOR_STATUSES:
        raise Conflict(f"{subscriber.email} is already {subscriber.status.value}")
    why = reason.strip() if isinstance(reason, str) else ""
    if len(why) > MAX_REASON:
        raise ValidationError({"reason": f"must be at most {MAX_REASON} characters"})
    return unsubscribe(
        session, subscriber_id, source=EventSource.ADMIN, reason=why or None, actor=actor
    )
