"""Readers written out as CSV, a page at a time by id (memory stays flat at any size), in a
form `broadsheet import-subscribers` reads back: email, name, status, and when they came."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from typing import IO

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from broadsheet.errors import ValidationError
from broadsheet.models import Membership, MembershipStatus, Subscriber, SubscriberStatus
from broadsheet.services import newsletters

PAGE = 5000
COLUMNS = ["email", "name", "status", "created_at"]


def export_subscribers(
    session: Session,
    out: IO[str],
    *,
    newsletter_slugs: Sequence[str] = (),
    status: str | None = None,
) -> int:
    """Write the readers (in `status`, subscribed to any of `newsletter_slugs`; else all) to
    `out` as CSV, oldest first; how many. ValidationError names a bad status or slug."""
    query = select(Subscriber.id, Subscriber.email, Subscriber.name, Subscriber.status,
                   Subscriber.created_at)  # fmt: skip
    if status is not None:
        if status not in {s.value for s in SubscriberStatus}:
            known = ", ".join(s.value for s in SubscriberStatus)
            raise ValidationError({"status": f"must be one of {known}"})
        query = query.where(Subscriber.status == status)
    if newsletter_slugs:
        chosen = [n.id for n in newsletters.by_slugs(session, list(newsletter_slugs), "newsletter")]
        query = query.where(
            exists().where(
                Membership.subscriber_id == Subscriber.id,
                Membership.newsletter_id.in_(chosen),
                Membership.status == MembershipStatus.SUBSCRIBED,
            )
        )
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    written, last = 0, 0
    while True:
        page = session.execute(
            query.where(Subscriber.id > last).order_by(Subscriber.id).limit(PAGE)
        ).all()
        if not page:
            return written
        writer.writerows(
            (r.email, r.name, r.status.value, r.created_at.isoformat(timespec="seconds"))
            for r in page
        )
        written += len(page)
        last = page[-1].id
