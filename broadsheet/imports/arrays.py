"""PostgreSQL's form of a batch's three statements: each row's values travel as one array per
column (`unnest`), so a batch of thousands of readers is a handful of parameters. The portable
multi-row VALUES costs the driver a pass over thousands of placeholders per statement, and
reading new readers back by `id IN (...)` may be planned as a scan of a table whose statistics
predate the import, once per batch."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, bindparam, text

from broadsheet.models.base import UTCDateTime

_READERS = text(
    """
    INSERT INTO subscribers (email, email_key, name, status, source, created_at,
        status_changed_at, confirmed_at, unsubscribed_at, bounced_at, complained_at)
    SELECT r.email, r.email_key, r.name, r.status, 'import', :now, :now,
        CASE WHEN r.status = 'active' THEN :now END,
        CASE WHEN r.status = 'unsubscribed' THEN :now END,
        CASE WHEN r.status = 'bounced' THEN :now END,
        CASE WHEN r.status = 'complained' THEN :now END
    FROM unnest(CAST(:emails AS varchar[]), CAST(:keys AS varchar[]),
        CAST(:names AS varchar[]), CAST(:statuses AS varchar[]))
        WITH ORDINALITY AS r(email, email_key, name, status, n)
    ORDER BY r.n
    ON CONFLICT (email_key) DO NOTHING
    RETURNING id, email_key, status
    """
).bindparams(bindparam("now", type_=UTCDateTime()))

_EVENTS = text(
    """
    INSERT INTO subscriber_events (subscriber_id, at, to_status, source, reason)
    SELECT r.id, :now, r.status, 'import', :reason
    FROM unnest(CAST(:ids AS integer[]), CAST(:statuses AS varchar[])) AS r(id, status)
    """
).bindparams(bindparam("now", type_=UTCDateTime()))

_MEMBERSHIPS = text(
    """
    INSERT INTO memberships (subscriber_id, newsletter_id, status, created_at, changed_at)
    SELECT r.id, n.id, 'subscribed', :now, :now
    FROM unnest(CAST(:ids AS integer[])) AS r(id)
    CROSS JOIN newsletters AS n
    WHERE n.id = ANY(CAST(:newsletter_ids AS integer[]))
    ON CONFLICT DO NOTHING
    """
).bindparams(bindparam("now", type_=UTCDateTime()))


def insert_readers(
    conn: Connection, rows: Sequence[dict[str, Any]], now: datetime
) -> list[Row[Any]]:
    """The readers of `rows` not already here, added; (id, email_key, status) of each."""
    params = {
        "now": now,
        "emails": [r["email"] for r in rows],
        "keys": [r["email_key"] for r in rows],
        "names": [r["name"] for r in rows],
        "statuses": [r["status"] for r in rows],
    }
    return list(conn.execute(_READERS, params))


def insert_events(conn: Connection, added: Sequence[Row[Any]], reason: str, now: datetime) -> None:
    params = {
        "now": now,
        "reason": reason,
        "ids": [row.id for row in added],
        "statuses": [row.status for row in added],
    }
    conn.execute(_EVENTS, params)


def insert_memberships(
    conn: Connection, ids: Sequence[int], newsletter_ids: Sequence[int], now: datetime
) -> None:
    params = {"now": now, "ids": list(ids), "newsletter_ids": list(newsletter_ids)}
    conn.execute(_MEMBERSHIPS, params)
