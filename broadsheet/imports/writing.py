"""A batch of checked readers written in a few statements, whatever its size: one multi-row
INSERT ... ON CONFLICT DO NOTHING RETURNING for the readers (their attributes with them), one
INSERT for their first events, one for their memberships and one for their tags; with
`update`, those already here are brought up to date (`updating.py`). PostgreSQL sends each as
arrays (`arrays.py`); SQLite as multi-row VALUES and INSERT ... SELECT by id."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, Text, bindparam, literal, select, true
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import ReturningInsert

from broadsheet.db import dialect_insert
from broadsheet.imports import arrays
from broadsheet.imports.rows import SUPPRESSED, Reader
from broadsheet.imports.updating import update_known
from broadsheet.models import (
    EventSource,
    Membership,
    MembershipStatus,
    Newsletter,
    Subscriber,
    SubscriberEvent,
    SubscriberStatus,
    SubscriberTag,
)
from broadsheet.models.base import UTCDateTime
from broadsheet.services import outbox_queue

SUBSCRIBERS = Subscriber.__table__
# What a new reader's row is written with (`_values`).
COLUMNS = ("email", "email_key", "name", "status", "source", "created_at",
           "status_changed_at", "confirmed_at", "unsubscribed_at", "bounced_at",
           "complained_at", "attributes")  # fmt: skip
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
    updated: int = 0  # readers already here who changed (with `update`)
    skipped: int = 0  # already here (or earlier in the file), left as they were


def write_batch(
    session: Session,
    readers: Sequence[Reader],
    newsletter_ids: Sequence[int],
    *,
    tags: Sequence[str] = (),
    update: bool = False,
    join_ids: Sequence[int] = (),
    reason: str,
    now: datetime,
) -> Written:
    """Add the readers not already here (by address, case-insensitively), each with a first
    event `reason`, `tags` and their own, their attributes and, unless suppressed, a
    membership of each of `newsletter_ids`; each pending one is owed a confirmation. A reader
    already here keeps their status whatever the file says: with `update` they take the
    file's name (a non-empty one), its attributes (merged into theirs), the tags, and join
    `join_ids` unless they left (update_known).
    Flushes nothing of the session's: plain statements."""
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
    # A reader who comes in pending is owed the confirmation that makes them active.
    outbox_queue.queue_confirmations(
        session, [row.id for row in added if row.status == SubscriberStatus.PENDING.value]
    )
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
    pairs = [
        (row.id, tag)
        for row in added
        for tag in dict.fromkeys((*tags, *unique[row.email_key].tags))
    ]
    if pairs:
        insert_tags(conn, pairs)
    # Rows of addresses already here, and later rows of an address earlier in the batch (as a
    # later batch would find it here): skipped, or with `update_names` renamed by the last.
    new = {row.email_key for row in added}
    known = [r for r in readers if r.key not in new or unique[r.key] is not r]
    written.skipped = len(known)
    if update and known:
        written.updated = update_known(session, known, tags=tags, join_ids=join_ids, now=now)
        written.skipped -= written.updated
    return written


def insert_tags(conn: Any, pairs: Sequence[tuple[int, str]]) -> None:
    """Each (reader id, tag) of `pairs`, unless the reader has it already: one statement."""
    if conn.dialect.name == "postgresql":
        arrays.insert_tags(conn, pairs)
        return
    rows = [{"subscriber_id": i, "tag": t} for i, t in pairs]
    conn.execute(_insert_tags(conn.dialect.name), rows)


@functools.cache
def _insert_tags(dialect: str) -> Any:
    return dialect_insert(dialect, SubscriberTag.__table__).on_conflict_do_nothing()


def _values(reader: Reader, now: datetime) -> dict[str, Any]:
    values: dict[str, Any] = {
        "email": reader.email, "email_key": reader.key, "name": reader.name,
        "status": reader.status.value, "source": "import", "created_at": now,
        "status_changed_at": now, "confirmed_at": None, "unsubscribed_at": None,
        "bounced_at": None, "complained_at": None, "attributes": reader.attributes,
    }  # fmt: skip
    stamp = STAMPED.get(reader.status)
    if stamp:
        values[stamp] = now
    return values


@functools.cache
def _insert_readers(dialect: str) -> ReturningInsert[Any]:
    """Built once per dialect; given a list of rows SQLAlchemy sends them as multi-row VALUES
    (its "insertmanyvalues"), a page per statement, and gathers what each page returns. The
    attributes arrive as JSON text already (rows.py measured it), so they are sent as text."""
    values = {
        c: bindparam(c, type_=Text() if c == "attributes" else SUBSCRIBERS.c[c].type)
        for c in COLUMNS
    }
    return (
        dialect_insert(dialect, SUBSCRIBERS)
        .values(values)
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
