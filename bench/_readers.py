"""Many active readers, fast: PostgreSQL COPY for the scale benchmarks (1,000,000 in seconds),
or through the API as an integration adds them (`post_readers`).

The rows are what `send.insert_readers` makes through the ORM (`reader<n>@example.org`,
active, consent given elsewhere); every column the model fills by default is given here,
because COPY skips Python-side defaults. On SQLite it falls back to `send.insert_readers`.
"""

from __future__ import annotations

import http.client
import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import psycopg
from sqlalchemy import Engine, make_url

from broadsheet.models import SubscriberStatus, utcnow

COPY_COLUMNS = "email, email_key, name, status, source, created_at, status_changed_at, confirmed_at"


def load_readers(
    engine: Engine,
    count: int,
    *,
    analyze: bool = True,
    attributes: dict[str, Any] | None = None,
) -> None:
    """Insert `count` active readers, each with `attributes` when given (in the same rows,
    not a later UPDATE that would leave every row's old version behind); COPY on PostgreSQL,
    ORM inserts elsewhere. Then `VACUUM ANALYZE`, unless `analyze` is False: as a new
    install, an import or a burst of signups leaves the table until autovacuum comes by (its
    statistics stale or none)."""
    if engine.dialect.name != "postgresql":
        from send import insert_readers

        insert_readers(engine, count, attributes)
        return
    url = make_url(engine.url).set(drivername="postgresql")
    now = utcnow()
    active = SubscriberStatus.ACTIVE.value
    columns, extra = COPY_COLUMNS, []
    if attributes is not None:
        columns = f"{COPY_COLUMNS}, attributes"
        extra = [json.dumps(attributes)]
    with (
        psycopg.connect(url.render_as_string(hide_password=False)) as conn,
        conn.cursor() as cur,
        cur.copy(f"COPY subscribers ({columns}) FROM STDIN") as copy,
    ):
        for n in range(count):
            email = f"reader{n}@example.org"
            copy.write_row((email, email, f"Reader {n}", active, "bench", now, now, now, *extra))
    if analyze:
        with psycopg.connect(url.render_as_string(hide_password=False), autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE subscribers")


def post_readers(base_url: str, token: str, count: int, threads: int = 8) -> float:
    """Add `count` active readers through `POST /api/v1/subscribers`, as an integration
    would, on `threads` keep-alive connections; returns the readers added per second."""
    url = urlsplit(base_url)
    host, port = url.hostname, url.port
    if host is None:
        raise ValueError(f"no host in {base_url}")
    started = time.perf_counter()

    def post_share(share: range) -> None:
        conn = http.client.HTTPConnection(host, port, timeout=30)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        try:
            for n in share:
                body = {
                    "email": f"reader{n}@example.org",
                    "name": f"Reader {n}",
                    "status": "active",
                }
                conn.request("POST", "/api/v1/subscribers", json.dumps(body), headers)
                answer = conn.getresponse()
                text = answer.read()
                if answer.status != 201:
                    raise RuntimeError(f"POST /api/v1/subscribers: {answer.status} {text[:200]!r}")
        finally:
            conn.close()

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(post_share, [range(i, count, threads) for i in range(threads)]))
    return count / (time.perf_counter() - started)
