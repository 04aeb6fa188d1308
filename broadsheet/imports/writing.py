"""A batch of checked readers written in a few statements, whatever its size: one multi-row
INSERT ... ON CONFLICT DO NOTHING RETURNING for the readers, one INSERT for their first events
and one for their memberships; with `update`, the names of those already here. PostgreSQL
sends each as arrays (`arrays.py`); SQLite as multi-row VALUES and INSERT ... SELECT by id."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, literal, select, true, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import ReturningInsert

from broadsheet.db import dialect_insert
from broadsheet.imports import arrays
from broadsheet.imports.rows import SUPPRESSED, Reader
from broadsheet.models import (
    EventSource,
    Membership,
    MembershipStatus,
    Newsletter,
    Subscriber,
    SubscriberEvent,
    SubscriberStatus,
)
from broadsheet.models.base import UTCDateTime

SUBSCRIBERS = Subscriber.__table__
# The time column stamped for a reader coming in with each status.
STAMPED = {
    SubscriberStatus.ACTIVE: "confirmed_at",
    SubscriberStatus.UNSUBSCRIBED: "unsubscribed_at",
    SubscriberStatus.BOUNCED: "bounced_at",
    SubscriberStatus.COMPLAINED: "complained_at",
}


@dataclass
class Written:
    """What became of a batch's readers."""

    imported: int = 0  # new readers who get mail (active or pending)
    suppressed: int = 0  # new readers who left, bounced or complained in the old sender
    updated: int = 0  # readers already here whose name changed (with `update`)
    skipped: int = 0  # already here (or earlier in the file), left as they were


def write_batch(
    session: Session,
    readers: Sequence[Reader],
    newsletter_ids: Sequence[int],
    *,
    update_names: bool,
    reason: str,
    now: datetime,
) -> Written:
    """Add the readers not already here (by address, case-insensitively), each with a first
    event `reason` and, unless suppressed, a membership of each of `newsletter_ids`. A reader
    already here keeps their status whatever the file says: with `update_names` only their
    name changes (to a non-empty one). Flushes nothing of the session's: plain statements."""
    unique: dict[str, Reader] = {}
    for reader in readers:  # the first row of an address wins; the file's order is kept
        unique.setdefault(reader.key, reader)
    written = Written()
    if not readers:
        return written
    conn = session.connection()
    rows = [_values(r, now) for r in unique.values()]
    postgresql = conn.dialect.name == "postgresql"
    if postgresql:
        added = arrays.insert_readers(conn, rows, now)
    else:
        added = list(conn.execute(_insert_readers(conn.dialect.name), rows))
    getting = [row.id for row in added if SubscriberStatus(row.status) not in SUPPRESSED]
    written.imported = len(getting)
    written.suppressed = len(added) - len(getting)
    if added and postgresql:
        arrays.insert_events(conn, added, reason, now)
        if newsletter_ids and getting:
            arrays.insert_memberships(conn, getting, newsletter_ids, now)
    elif added:
        conn.execute(_events([row.id for row in added], reason, now))
        if newsletter_ids and getting:
            conn.execute(_memberships(conn.dialect.name, getting, newsletter_ids, now))
    # Rows of addresses already here, and later rows of an address earlier in the batch (as a
    # later batch would find it here): skipped, or with `update_names` renamed by the last.
    new = {row.email_key for row in added}
    known = [r for r in readers if r.key not in new or unique[r.key] is not r]
    written.skipped = len(known)
    if update_names and known:
        written.updated = _rename(session, known)
        written.skipped -= written.updated
    return written


def _values(reader: Reader, now: datetime) -> dict[str, Any]:
    values: dict[str, Any] = {
        "email": reader.email, "email_key": reader.key, "name": reader.name,
        "status": reader.status.value, "source": "import", "created_at": now,
        "status_changed_at": now, "confirmed_at": None, "unsubscribed_at": None,
        "bounced_at": None, "complained_at": None,
    }  # fmt: skip
    stamp = STAMPED.get(reader.status)
    if stamp:
        values[stamp] = now
    return values


@functools.cache
def _insert_readers(dialect: str) -> ReturningInsert[Any]:
    """Built once per dialect; given a list of rows SQLAlchemy sends them as multi-row VALUES
    (its "insertmanyvalues"), a page per statement, and gathers what each page returns."""
    return (
        dialect_insert(dialect, SUBSCRIBERS)
        .on_conflict_do_nothing(index_elements=["email_key"])
        .returning(SUBSCRIBERS.c.id, SUBSCRIBERS.c.email_key, SUBSCRIBERS.c.status)
    )


def _events(ids: list[int], reason: str, now: datetime) -> Any:
    """Each new reader's first event, made from their row in one INSERT ... SELECT (SQLite
    reads `id IN (...)` from the primary key whatever its statistics)."""
    s = SUBSCRIBERS.c
    chosen = select(
        s.id,
        literal(now, type_=UTCDateTime()),
        s.status,
        literal(EventSource.IMPORT.value),
        literal(reason),
    ).where(s.id.in_(ids))
    columns = ["subscriber_id", "at", "to_status", "source", "reason"]
    return SubscriberEvent.__table__.insert().from_select(columns, chosen)


def _memberships(dialect: str, ids: list[int], newsletter_ids: Sequence[int], now: datetime) -> Any:
    """Each new reader who gets mail joins each newsletter: one INSERT ... SELECT."""
    s = SUBSCRIBERS.c
    chosen: Select[Any] = (
        select(
            s.id,
            Newsletter.id,
            literal(MembershipStatus.SUBSCRIBED.value),
            literal(now, type_=UTCDateTime()),
            literal(now, type_=UTCDateTime()),
        )
        .select_from(
            # Every new reader with every chosen newsletter: a cross join, said so.
            SUBSCRIBERS.join(Newsletter.__table__, true())
        )
        .where(
            s.id.in_(ids),
            s.status.in_([SubscriberStatus.ACTIVE.value, SubscriberStatus.PENDING.value]),
            Newsletter.id.in_(list(newsletter_ids)),
        )
    )
    columns = ["subscriber_id", "newsletter_id", "status", "created_at", "changed_at"]
    insert = dialect_insert(dialect, Membership.__table__).from_select(columns, chosen)
    return insert.on_conflict_do_nothing()


def _rename(session: Session, known: list[Reader]) -> int:
    """Readers already here get the file's name where it is given and differs (the last
    row's, for an address given twice); how many readers changed."""
    named = {r.key: r.name for r in known if r.name}
    if not named:
        return 0
    s = SUBSCRIBERS.c
    current = session.execute(select(s.email_key, s.name).where(s.email_key.in_(named)))
    changed = [{"k": key, "n": named[key]} for key, name in current if name != named[key]]
    if changed:
        statement = (
            update(SUBSCRIBERS).where(s.email_key == bindparam("k")).values(name=bindparam("n"))
        )
        session.connection().execute(statement, changed)
    return len(changed)
