"""A batch of checked readers written in a few statements, whatever its size: prepared on the
thread that checks the rows (`prepare`), then written (`write_batch`): the new readers with
their attributes, first events, memberships and tags; with `update`, those already here are
brought up to date (`updating.py`). PostgreSQL takes the new readers in one statement
(`arrays.py`); SQLite in five: the erased addresses looked up, then multi-row VALUES and
INSERT ... SELECT by id."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
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
from broadsheet.services import erasure, outbox_queue

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
    erased: set[str] = field(default_factory=set)  # addresses erased at their reader's request


@dataclass(frozen=True)
class Batch:
    """A batch of checked readers made ready to write (`prepare`), on the thread that checks
    the rows, so that the one writing them mostly waits on the database."""

    readers: list[Reader]  # every row that passed, in the file's order
    first: dict[str, Reader]  # the first row of each address, in the file's order
    rows: list[dict[str, Any]]  # what each of `first` is written with
    tags: list[tuple[str, ...]]  # each of `first`'s tags: the import's, then the file's
    hashes: list[str]  # each of `first`'s erasure hash (none without a secret)
    columns: dict[str, str] | None  # PostgreSQL: the above as arrays.add_readers takes them


def prepare(
    readers: list[Reader],
    *,
    tags: Sequence[str],
    now: datetime,
    secret: str | None,
    postgresql: bool,
) -> Batch:
    """`readers` ready to write with `tags` (the import's own), their addresses' erasure hashes
    keyed by `secret` (none without one)."""
    first: dict[str, Reader] = {}
    for reader in readers:  # the first row of an address wins; the file's order is kept
        first.setdefault(reader.key, reader)
    rows = [_values(r, now) for r in first.values()]
    merged = [tuple(dict.fromkeys((*tags, *r.tags))) for r in first.values()]
    hashes = [erasure.address_hash(secret, key) for key in first] if secret is not None else []
    columns = arrays.joined(rows, merged, hashes) if postgresql else None
    return Batch(readers, first, rows, merged, hashes, columns)


def write_batch(
    session: Session,
    batch: Batch,
    newsletter_ids: Sequence[int],
    *,
    tags: Sequence[str] = (),
    update: bool = False,
    join_ids: Sequence[int] = (),
    reason: str,
    now: datetime,
) -> Written:
    """Add the batch's readers not already here (by address, case-insensitively) nor erased at
    their request (with `prepare`'s secret: `Written.erased`), each with a first event
    `reason`, their tags, their attributes and, unless suppressed, a membership of each of
    `newsletter_ids`; each pending one is owed a confirmation. A reader already here keeps
    their status whatever the file says: with `update` they take the file's name (a
    non-empty one), its attributes (merged into theirs), the tags (`tags`, the import's, and
    the file's), and join `join_ids` unless they left (update_known).
    Plain statements on the session's connection: nothing of the session's is flushed."""
    written = Written()
    if not batch.readers:
        return written
    conn = session.connection()
    if batch.columns is not None:
        added = arrays.add_readers(conn, batch.columns, newsletter_ids, reason, now)
    else:
        added = _add_readers(session, batch, newsletter_ids, reason, now)
    keys = list(batch.first)
    here = {keys[n] for n in added.kept_out}
    written.erased = {keys[n] for n in added.erased}
    # A reader who comes in pending is owed the confirmation that makes them active.
    outbox_queue.queue_confirmations(session, added.pending)
    written.imported = added.getting
    written.suppressed = added.added - added.getting
    # Rows of addresses already here, and later rows of an address earlier in the batch (as a
    # later batch would find it here): skipped, or with `update` brought up to date.
    known = [
        r
        for r in batch.readers
        if r.key in here or (batch.first[r.key] is not r and r.key not in written.erased)
    ]
    written.skipped = len(known)
    if update and known:
        written.updated = update_known(session, known, tags=tags, join_ids=join_ids, now=now)
        written.skipped -= written.updated
    return written


def _add_readers(
    session: Session, batch: Batch, newsletter_ids: Sequence[int], reason: str, now: datetime
) -> arrays.Added:
    """SQLite's form of arrays.add_readers: the erased addresses looked up, the readers as
    multi-row VALUES, then their events, memberships and tags, each an INSERT ... SELECT by id
    or a multi-row INSERT."""
    erased = erasure.erased_among(session, batch.hashes)
    gone = {n for n, h in enumerate(batch.hashes) if h in erased}
    rows = [row for n, row in enumerate(batch.rows) if n not in gone]
    conn = session.connection()
    added = list(conn.execute(_insert_readers(conn.dialect.name), rows)) if rows else []
    ids = [row.id for row in added]
    getting = [row.id for row in added if SubscriberStatus(row.status) not in SUPPRESSED]
    if added:
        conn.execute(_events(ids, reason, now))
    if newsletter_ids and getting:
        conn.execute(_memberships(conn.dialect.name, getting, newsletter_ids, now))
    new = {row.email_key: row.id for row in added}
    tagged = [
        {"subscriber_id": new[key], "tag": tag}
        for key, tags in zip(batch.first, batch.tags, strict=True)
        if key in new
        for tag in tags
    ]
    if tagged:
        conn.execute(_insert_tags(conn.dialect.name), tagged)
    return arrays.Added(
        added=len(added),
        getting=len(getting),
        pending=[row.id for row in added if row.status == SubscriberStatus.PENDING.value],
        kept_out=[n for n, key in enumerate(batch.first) if key not in new and n not in gone],
        erased=sorted(gone),
    )


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
