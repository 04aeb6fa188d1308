"""Readers already here, brought up to date by an import with `update`: the file's name (a
non-empty one), its attributes merged into theirs (the file's value wins), the import's tags
and the file's, and the newsletters named for the import, which they join unless they left
(a reader who unsubscribed, bounced or complained, or left that newsletter, stays out).

A few statements a batch: one read of the readers, one of their tags and one of their
memberships, then one UPDATE (a row per reader that changed), one INSERT of tags and one of
memberships."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from broadsheet.db import dialect_insert
from broadsheet.imports.rows import SUPPRESSED, Reader
from broadsheet.models import (
    Membership,
    MembershipStatus,
    Subscriber,
    SubscriberStatus,
    SubscriberTag,
)

SUBSCRIBERS = Subscriber.__table__


@dataclass
class _Given:
    """What the file says of one address, its rows taken in order."""

    name: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)
    tags: dict[str, None] = field(default_factory=dict)


def update_known(
    session: Session,
    known: Sequence[Reader],
    *,
    tags: Sequence[str],
    join_ids: Sequence[int],
    now: datetime,
) -> int:
    """Bring the readers of `known` (all already here) up to date; how many changed. A name,
    attributes or tags given twice for an address: the last name, every attribute (the last
    value), every tag."""
    given: dict[str, _Given] = {}
    for reader in known:
        wanted = given.setdefault(reader.key, _Given())
        wanted.name = reader.name or wanted.name
        if reader.attributes:
            wanted.attributes.update(json.loads(reader.attributes))
        wanted.tags.update(dict.fromkeys((*tags, *reader.tags)))
    s = SUBSCRIBERS.c
    current = session.execute(
        select(s.id, s.email_key, s.name, s.status, s.attributes).where(s.email_key.in_(given))
    ).all()
    ids = [row.id for row in current]
    changed: set[int] = set()
    rows = []
    for row in current:
        wanted = given[row.email_key]
        name = wanted.name or row.name
        attributes = {**(row.attributes or {}), **wanted.attributes}
        if name != row.name or attributes != (row.attributes or {}):
            rows.append({"i": row.id, "n": name, "a": attributes or None})
            changed.add(row.id)
    if rows:
        statement = (
            update(SUBSCRIBERS)
            .where(s.id == bindparam("i"))
            .values(name=bindparam("n"), attributes=bindparam("a", type_=s.attributes.type))
        )
        session.connection().execute(statement, rows)
    changed |= _add_tags(session, current, given, ids)
    changed |= _join(session, current, join_ids, ids, now)
    return len(changed)


def _add_tags(
    session: Session, current: Sequence[Any], given: dict[str, _Given], ids: list[int]
) -> set[int]:
    if not any(given[row.email_key].tags for row in current):
        return set()
    query = select(SubscriberTag.subscriber_id, SubscriberTag.tag).where(
        SubscriberTag.subscriber_id.in_(ids)
    )
    had = {(row[0], row[1]) for row in session.execute(query)}
    new = [
        {"subscriber_id": row.id, "tag": tag}
        for row in current
        for tag in given[row.email_key].tags
        if (row.id, tag) not in had
    ]
    if new:
        dialect = session.connection().dialect.name
        insert = dialect_insert(dialect, SubscriberTag.__table__).on_conflict_do_nothing()
        session.connection().execute(insert, new)
    return {item["subscriber_id"] for item in new}


def _join(
    session: Session, current: Sequence[Any], join_ids: Sequence[int], ids: list[int],
    now: datetime,
) -> set[int]:  # fmt: skip
    """Readers who get mail join the newsletters they have no membership of (one they left
    stays left)."""
    getting = [row.id for row in current if SubscriberStatus(row.status) not in SUPPRESSED]
    if not join_ids or not getting:
        return set()
    query = select(Membership.subscriber_id, Membership.newsletter_id).where(
        Membership.subscriber_id.in_(getting), Membership.newsletter_id.in_(list(join_ids))
    )
    had = {(row[0], row[1]) for row in session.execute(query)}
    new = [
        {"subscriber_id": i, "newsletter_id": n, "status": MembershipStatus.SUBSCRIBED.value,
         "created_at": now, "changed_at": now}
        for i in getting
        for n in join_ids
        if (i, n) not in had
    ]  # fmt: skip
    if new:
        dialect = session.connection().dialect.name
        insert = dialect_insert(dialect, Membership.__table__).on_conflict_do_nothing()
        session.connection().execute(insert, new)
    return {item["subscriber_id"] for item in new}
