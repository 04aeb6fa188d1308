"""PostgreSQL's form of a batch's three statements: each column's values travel as one string
(joined by the unit separator, split by `string_to_array`) and become rows with `unnest`, so a
batch of thousands of readers is a handful of parameters. The portable multi-row VALUES costs
the driver a pass over thousands of placeholders per statement; a list sent as an array costs
about 20 times the joined string; and reading new readers back by `id IN (...)` may be planned
as a scan of a table whose statistics predate the import, once per batch.

The separator cannot occur in the values: addresses are checked (no control characters),
names cleaned (`clean_name` turns every unprintable character into a space), tags checked,
and attributes are JSON text (which writes every control character as an escape)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, bindparam, text

from broadsheet.models.base import UTCDateTime

SEPARATOR = "\x1f"  # ASCII's unit separator: chr(31) in the statements

_READERS = text(
    """
    INSERT INTO subscribers (email, email_key, name, status, source, created_at,
        status_changed_at, confirmed_at, unsubscribed_at, bounced_at, complained_at,
        attributes)
    SELECT r.email, r.email_key, COALESCE(r.name, ''), r.status, 'import', :now, :now,
        CASE WHEN r.status = 'active' THEN :now END,
        CASE WHEN r.status = 'unsubscribed' THEN :now END,
        CASE WHEN r.status = 'bounced' THEN :now END,
        CASE WHEN r.status = 'complained' THEN :now END,
        CAST(NULLIF(r.attributes, '') AS json)
    FROM unnest(string_to_array(:emails, chr(31)), string_to_array(:keys, chr(31)),
        string_to_array(:names, chr(31)), string_to_array(:statuses, chr(31)),
        string_to_array(:attributes, chr(31)))
        WITH ORDINALITY AS r(email, email_key, name, status, attributes, n)
    ORDER BY r.n
    ON CONFLICT (email_key) DO NOTHING
    RETURNING id, email_key, status
    """
).bindparams(bindparam("now", type_=UTCDateTime()))

_EVENTS = text(
    """
    INSERT INTO subscriber_events (subscriber_id, at, to_status, source, reason)
    SELECT r.id, :now, r.status, 'import', :reason
    FROM unnest(CAST(string_to_array(:ids, ',') AS integer[]), string_to_array(:statuses, ','))
        AS r(id, status)
    """
).bindparams(bindparam("now", type_=UTCDateTime()))

_MEMBERSHIPS = text(
    """
    INSERT INTO memberships (subscriber_id, newsletter_id, status, created_at, changed_at)
    SELECT r.id, n.id, 'subscribed', :now, :now
    FROM unnest(CAST(string_to_array(:ids, ',') AS integer[])) AS r(id)
    CROSS JOIN newsletters AS n
    WHERE n.id = ANY(CAST(:newsletter_ids AS integer[]))
    ON CONFLICT DO NOTHING
    """
).bindparams(bindparam("now", type_=UTCDateTime()))


_TAGS = text(
    """
    INSERT INTO subscriber_tags (subscriber_id, tag)
    SELECT r.id, r.tag
    FROM unnest(CAST(string_to_array(:ids, ',') AS integer[]), string_to_array(:tags, chr(31)))
        AS r(id, tag)
    ON CONFLICT DO NOTHING
    """
)


def insert_readers(
    conn: Connection, rows: Sequence[dict[str, Any]], now: datetime
) -> list[Row[Any]]:
    """The readers of `rows` not already here, added; (id, email_key, status) of each."""
    params = {
        "now": now,
        "emails": SEPARATOR.join(r["email"] for r in rows),
        "keys": SEPARATOR.join(r["email_key"] for r in rows),
        # An empty name is an empty string between separators; alone, no element at all (the
        # COALESCE above mends that one case).
        "names": SEPARATOR.join(r["name"] for r in rows),
        "statuses": SEPARATOR.join(r["status"] for r in rows),
        "attributes": SEPARATOR.join(r["attributes"] or "" for r in rows),
    }
    return list(conn.execute(_READERS, params))


def insert_events(conn: Connection, added: Sequence[Row[Any]], reason: str, now: datetime) -> None:
    params = {
        "now": now,
        "reason": reason,
        "ids": ",".join(str(row.id) for row in added),
        "statuses": ",".join(row.status for row in added),
    }
    conn.execute(_EVENTS, params)


def insert_memberships(
    conn: Connection, ids: Sequence[int], newsletter_ids: Sequence[int], now: datetime
) -> None:
    joined = ",".join(map(str, ids))
    params = {"now": now, "ids": joined, "newsletter_ids": list(newsletter_ids)}
    conn.execute(_MEMBERSHIPS, params)


def insert_tags(conn: Connection, pairs: Sequence[tuple[int, str]]) -> None:
    """Each (reader id, tag) of `pairs`, unless the reader has it already."""
    params = {
        "ids": ",".join(str(subscriber_id) for subscriber_id, _ in pairs),
        "tags": SEPARATOR.join(tag for _, tag in pairs),
    }
    conn.execute(_TAGS, params)
