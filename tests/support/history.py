"""Builders for the overview's tests: readers with status changes at chosen times, bounce and
complaint reports, without going through the services that would stamp them with now."""

from __future__ import annotations

from datetime import datetime
from itertools import count

from sqlalchemy import insert
from sqlalchemy.orm import Session

from broadsheet.models import BounceReport, ReportKind, Subscriber, SubscriberEvent

_serial = count()


def reader(session: Session, email: str | None = None, status: str = "active") -> int:
    """A reader with no history yet (flushed, not committed); returns their id."""
    address = email or f"history{next(_serial)}@example.org"
    return session.execute(
        insert(Subscriber)
        .values(email=address, email_key=address.lower(), name="", status=status)
        .returning(Subscriber.id)
    ).scalar_one()


def changed(
    session: Session, at: datetime, before: str | None, after: str, subscriber_id: int | None = None
) -> int:
    """A change of status at `at` (source `api`), for a new reader (in status `after`) unless
    one is given."""
    reader_id = subscriber_id or reader(session, status=after)
    session.execute(
        insert(SubscriberEvent).values(
            subscriber_id=reader_id, at=at, from_status=before, to_status=after, source="api"
        )
    )
    return reader_id


def reported(
    session: Session,
    kind: ReportKind,
    *,
    subscriber_id: int | None = None,
    campaign_id: int | None = None,
    diagnostic: str | None = "550 5.1.1 <ann@example.org>: user unknown",
    at: datetime | None = None,
) -> int:
    """A processed report (as broadsheet.bounces.intake records one); returns its id."""
    values: dict[str, object] = {
        "fingerprint": f"{next(_serial):064d}",
        "source": "mailbox",
        "kind": kind,
        "campaign_id": campaign_id,
        "subscriber_id": subscriber_id,
        "matched_by": "message-id" if subscriber_id else None,
        "recipient": "ann@example.org",
        "status_code": "5.1.1" if kind == ReportKind.HARD else None,
        "diagnostic": diagnostic,
    }
    if at is not None:
        values["received_at"] = at
    return session.execute(
        insert(BounceReport).values(**values).returning(BounceReport.id)
    ).scalar_one()
