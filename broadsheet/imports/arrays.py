"""PostgreSQL's form of writing a batch of new readers: one statement (data-modifying CTEs)
looks up erased addresses and adds the readers, their first events, memberships and tags,
and answers with counts, so a batch costs one round trip and no rows read back. Each
column's values travel as one string (joined by the unit separator, split by
`string_to_array`) and become rows with `unnest`, so a batch of thousands of readers is a
handful of parameters. The portable multi-row VALUES costs the driver a pass over thousands
of placeholders; a list sent as an array costs about 20 times the joined string; and
reading new readers back by `id IN (...)` may be planned as a scan of a table whose
statistics predate the import, once per batch. At 300,000 rows this one statement imports
about 32,000 rows/s where four statements and a separate erasure query made about 22,000:
each round trip waited for the checking thread to give back the GIL.

The separator cannot occur in the values: addresses are checked (no control characters),
names cleaned (`clean_name` turns every unprintable character into a space), tags checked,
and attributes are JSON text (which writes every control character as an escape)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, text

from broadsheet.models.base import UTCDateTime

SEPARATOR = "\x1f"  # ASCII's unit separator: chr(31) in the statements

_NEW_READERS = text(
    """
    WITH r AS MATERIALIZED (
        SELECT * FROM unnest(string_to_array(:emails, chr(31)),
            string_to_array(:keys, chr(31)), string_to_array(:names, chr(31)),
            string_to_array(:statuses, chr(31)), string_to_array(:attributes, chr(31)),
            string_to_array(:tags, chr(31)), string_to_array(:hashes, chr(31)))
            WITH ORDINALITY AS r(email, email_key, name, status, attributes, tags, hash, n)
    ),
    erased AS MATERIALIZED (
        SELECT r.n FROM r JOIN erasures AS e ON e.address_hash = r.hash
    ),
    added AS (
        INSERT INTO subscribers (email, email_key, name, status, source, created_at,
            status_changed_at, confirmed_at, unsubscribed_at, bounced_at, complained_at,
            attributes)
        SELECT r.email, r.email_key, COALESCE(r.name, ''), r.status, 'import', :now, :now,
            CASE WHEN r.status = 'active' THEN :now END,
            CASE WHEN r.status = 'unsubscribed' THEN :now END,
            CASE WHEN r.status = 'bounced' THEN :now END,
            CASE WHEN r.status = 'complained' THEN :now END,
            CAST(NULLIF(r.attributes, '') AS json)
        FROM r
        WHERE r.n NOT IN (SELECT n FROM erased)
        ORDER BY r.n
        ON CONFLICT (email_key) DO NOTHING
        RETURNING id, email_key, status
    ),
    events AS (
        INSERT INTO subscriber_events (subscriber_id, at, to_status, source, reason)
        SELECT a.id, :now, a.status, 'import', :reason FROM added AS a
    ),
    joined AS (
        INSERT INTO memberships (subscriber_id, newsletter_id, status, created_at, changed_at)
        SELECT a.id, n.id, 'subscribed', :now, :now
        FROM added AS a CROSS JOIN newsletters AS n
        WHERE a.status IN ('active', 'pending')
            AND n.id = ANY(CAST(:newsletter_ids AS integer[]))
    ),
    tagged AS (
        INSERT INTO subscriber_tags (subscriber_id, tag)
        SELECT a.id, t.tag
        FROM added AS a JOIN r ON r.email_key = a.email_key
            CROSS JOIN LATERAL unnest(string_to_array(NULLIF(r.tags, ''), ',')) AS t(tag)
    )
    SELECT
        (SELECT count(*) FROM added) AS added,
        (SELECT count(*) FROM added WHERE status IN ('active', 'pending')) AS getting,
        (SELECT string_agg(CAST(id AS text), ',' ORDER BY id) FROM added
            WHERE status = 'pending') AS pending,
        (SELECT string_agg(CAST(n AS text), ',') FROM erased) AS erased,
        (SELECT string_agg(CAST(r.n AS text), ',') FROM r
            WHERE NOT EXISTS (SELECT FROM added AS a WHERE a.email_key = r.email_key)
                AND r.n NOT IN (SELECT n FROM erased))
            AS kept_out
    """
).bindparams(bindparam("now", type_=UTCDateTime()))


@dataclass(frozen=True)
class Added:
    """What became of a batch's new readers: how many were added, how many of them get mail,
    the ids of those who came in pending, and the places (from 0, in the batch's order) of
    the readers not added because their address is here already (`kept_out`) or because it
    was erased at its reader's request (`erased`)."""

    added: int
    getting: int
    pending: list[int]
    kept_out: list[int]
    erased: list[int]


def joined(
    rows: Sequence[dict[str, Any]], tags: Sequence[Sequence[str]], hashes: Sequence[str]
) -> dict[str, str]:
    """The columns of new readers' `rows`, each one's tags and the erasure hash of each one's
    address (none: no erasure is looked for) as `add_readers` sends them."""
    return {
        "emails": SEPARATOR.join(r["email"] for r in rows),
        "keys": SEPARATOR.join(r["email_key"] for r in rows),
        # An empty name is an empty string between separators; alone, no element at all (the
        # COALESCE above mends that one case; NULLIF does for tags).
        "names": SEPARATOR.join(r["name"] for r in rows),
        "statuses": SEPARATOR.join(r["status"] for r in rows),
        "attributes": SEPARATOR.join(r["attributes"] or "" for r in rows),
        # A tag has no comma (check_tags), so a reader's tags are joined by one.
        "tags": SEPARATOR.join(",".join(t) for t in tags),
        "hashes": SEPARATOR.join(hashes),
    }


def add_readers(
    conn: Connection,
    columns: dict[str, str],
    newsletter_ids: Sequence[int],
    reason: str,
    now: datetime,
) -> Added:
    """The readers of `columns` (`joined`) whose address is neither here yet nor erased at its
    reader's request added, each with their first event, tags, and (unless suppressed)
    memberships: one statement."""
    params = {**columns, "now": now, "reason": reason, "newsletter_ids": list(newsletter_ids)}
    row = conn.execute(_NEW_READERS, params).one()
    return Added(
        added=row.added,
        getting=row.getting,
        pending=_numbers(row.pending),
        kept_out=[n - 1 for n in _numbers(row.kept_out)],
        erased=[n - 1 for n in _numbers(row.erased)],
    )


def _numbers(joined: str | None) -> list[int]:
    return [int(n) for n in joined.split(",")] if joined else []
