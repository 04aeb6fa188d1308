"""Readers written out as CSV, a page at a time by id (memory stays flat at any size), in a
form `broadsheet import-subscribers` reads back whole: email, name, status, when they came,
their tags (comma-separated) and their attributes (a JSON object, types kept).

Each page is one query for the readers and one for their tags, whatever its size."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from collections.abc import Iterator, Sequence
from typing import IO, Any

from sqlalchemy import Select, exists, select
from sqlalchemy.orm import Session

from broadsheet.errors import ValidationError
from broadsheet.models import (
    Membership,
    MembershipStatus,
    Segment,
    Subscriber,
    SubscriberStatus,
    SubscriberTag,
)
from broadsheet.services import audiences, newsletters

PAGE = 5000
COLUMNS = ["email", "name", "status", "created_at", "tags", "attributes"]


def export_query(
    session: Session,
    *,
    newsletter_slugs: Sequence[str] = (),
    status: str | None = None,
    segment: str | None = None,
) -> Select[Any]:
    """The readers to export: in `status`, subscribed to any of `newsletter_slugs`, chosen by
    the rules of the segment named `segment` (in whatever status: combine with `status`);
    each filter left out when not given. ValidationError names a bad status, slug or segment."""
    query = select(Subscriber.id, Subscriber.email, Subscriber.name, Subscriber.status,
                   Subscriber.created_at, Subscriber.attributes)  # fmt: skip
    if status:
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
    if segment:
        found = session.scalar(select(Segment).where(Segment.name == segment))
        if found is None:
            raise ValidationError({"segment": f"no segment is named {segment!r}"})
        query = query.where(*(c for _, c in audiences.rule_conditions(found.rules)))
    return query


def export_pages(session: Session, query: Select[Any]) -> Iterator[list[list[str]]]:
    """The readers `query` chooses as CSV rows (COLUMNS), oldest first, a page at a time."""
    last = 0
    while True:
        page = session.execute(
            query.where(Subscriber.id > last).order_by(Subscriber.id).limit(PAGE)
        ).all()
        if not page:
            return
        tags: dict[int, list[str]] = defaultdict(list)
        found = select(SubscriberTag.subscriber_id, SubscriberTag.tag).where(
            SubscriberTag.subscriber_id.in_([r.id for r in page])
        )
        for subscriber_id, tag in session.execute(found.order_by(SubscriberTag.tag)):
            tags[subscriber_id].append(tag)
        yield [
            [r.email, r.name, r.status.value, r.created_at.isoformat(timespec="seconds"),
             ",".join(tags.get(r.id, ())), json.dumps(r.attributes) if r.attributes else ""]
            for r in page
        ]  # fmt: skip
        last = page[-1].id


def export_subscribers(
    session: Session,
    out: IO[str],
    *,
    newsletter_slugs: Sequence[str] = (),
    status: str | None = None,
    segment: str | None = None,
) -> int:
    """Write the readers chosen (export_query) to `out` as CSV, oldest first; how many."""
    query = export_query(session, newsletter_slugs=newsletter_slugs, status=status, segment=segment)
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    written = 0
    for rows in export_pages(session, query):
        writer.writerows(rows)
        written += len(rows)
    return written
