"""Archive benchmark: how fast the public archive's list pages answer with many campaigns.

In a fresh PostgreSQL database (the real migrations; dropped afterwards), `--campaigns`
articles are loaded, each sent once, a minute apart (INSERT ... SELECT over generate_series):
a third to everyone, a third to a public newsletter, a third to a private one (never
listed). Timed, `--repeat` times each: the first page, a page half way down (its `before` a
campaign in the middle), a newsletter's first page, and the private-heavy case, where every
issue of the newest tenth went only to the private newsletter and a page must skip them.
Printed: p50 and max per page, and the plan of the page's query, run (it must read the
(status, finished_at, id) index backwards from the marker, not sort the table). The
baseline, in the same database: the first and the middle page with OFFSET, as a naive
listing would do it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, event, text
from sqlalchemy.orm import Session

from _stack import Database, code_line, machine_line, stop_on_signals

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--campaigns", type=int, default=200_000, help="sent campaigns")
    parser.add_argument("--repeat", type=int, default=30, help="fetches of each page")
    parser.add_argument("--database-url", default=DEFAULT_SERVER, help="PostgreSQL server")
    return parser.parse_args()


def timed(label: str, repeat: int, fetch: Callable[[], object]) -> None:
    fetch()  # warm
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fetch()
        times.append((time.perf_counter() - start) * 1000)
    print(f"  {label:<44} p50 {statistics.median(times):7.2f} ms   max {max(times):7.2f} ms")


def last_statement(
    engine: Engine,
    sessions: Callable[[], Session],
    call: Callable[..., object],
    kwargs: dict[str, object],
) -> tuple[str, Any]:
    """The SQL (and parameters) of the last statement `call` ran: the page's query."""
    seen: list[tuple[str, Any]] = []

    def record(*args: Any) -> None:  # (conn, cursor, statement, parameters, context, many)
        seen.append((args[2], args[3]))

    event.listen(engine, "before_cursor_execute", record)
    try:
        with sessions() as session:
            call(session, **kwargs)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return seen[-1]


def main() -> int:
    args = parse_args()
    stop_on_signals()
    print("== Broadsheet archive benchmark ==")
    print(machine_line())
    print(code_line())
    database = Database(None, args.database_url)
    database.create()
    os.environ.update(DATABASE_URL=database.url, SECRET_KEY="b" * 40)
    # Imported once the environment names the database.
    from broadsheet.db import make_engine, make_session_factory
    from broadsheet.services import archive

    engine = make_engine(database.url)
    try:
        sessions = make_session_factory(engine)
        n = args.campaigns
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM newsletters"))
            conn.execute(
                text(
                    "INSERT INTO newsletters (id, name, slug, description, public, sender_name,"
                    " sender_address, reply_to, welcome, is_default, created_at) VALUES"
                    " (1, 'Open', 'open', '', true, '', '', '', false, true, now()),"
                    " (2, 'Staff', 'staff', '', false, '', '', '', false, false, now())"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO articles (id, slug, title, dek, author, body_markdown,"
                    " body_html, word_count, reading_minutes, published_at, created_at,"
                    " updated_at) SELECT g, 'issue-' || g, 'Issue ' || g, 'About issue ' || g,"
                    " '', 'x', '<p>x</p>', 1, 1, now(), now(), now()"
                    " FROM generate_series(1, :n) AS g"
                ),
                {"n": n},
            )
            # The newest tenth goes only to the private newsletter: a page must skip them.
            conn.execute(
                text(
                    "INSERT INTO campaigns (id, article_id, subject, preheader, audience,"
                    " audience_rules, status, created_at, started_at, finished_at, tracking)"
                    " SELECT g, g, 'Issue ' || g, '',"
                    " CASE WHEN g > :n * 0.9 OR g % 3 = 2 THEN 'newsletters'"
                    "  WHEN g % 3 = 1 THEN 'newsletters' ELSE 'everyone' END,"
                    " CASE WHEN g > :n * 0.9 OR g % 3 = 2 THEN '{\"newsletters\": [2]}'::json"
                    "  WHEN g % 3 = 1 THEN '{\"newsletters\": [1]}'::json END,"
                    " 'sent', now(), timestamp '2020-01-01' + g * interval '1 minute',"
                    " timestamp '2020-01-01' + g * interval '1 minute' + interval '30 seconds',"
                    " true FROM generate_series(1, :n) AS g"
                ),
                {"n": n},
            )
            conn.execute(text("ANALYZE"))
        print(f"{n:,} sent campaigns; the newest {n // 10:,} to the private newsletter only")
        middle = n // 2
        with sessions() as session:
            newsletter = archive.public_newsletter(session, "open")
            timed("first page", args.repeat, lambda: archive.list_issues(session))
            timed(
                "a page half way down (?before=)",
                args.repeat,
                lambda: archive.list_issues(session, before=middle),
            )
            timed(
                "one newsletter's first page",
                args.repeat,
                lambda: archive.list_issues(session, newsletter=newsletter),
            )
            page = archive.list_issues(session)
            print(f"  (the first page starts at campaign {page[0].campaign_id:,})")
        with engine.connect() as conn:
            for label, kwargs in (("first page", {}), ("half way down", {"before": middle})):
                sql, params = last_statement(engine, sessions, archive.list_issues, kwargs)
                plan = conn.exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
                print(f"  plan of the {label}:")
                for (line,) in plan:
                    print(f"    {line}")
            for label, offset in (("baseline: first page, OFFSET 0", 0),
                                  ("baseline: half way down, OFFSET", middle)):  # fmt: skip
                naive = text(
                    "SELECT c.id, a.title FROM campaigns c JOIN articles a"
                    " ON a.id = c.article_id WHERE c.status = 'sent'"
                    " ORDER BY c.finished_at DESC, c.id DESC LIMIT 20 OFFSET :o"
                )
                fetch = lambda q=naive, o=offset: conn.execute(q, {"o": o}).all()  # noqa: E731
                timed(label, args.repeat, fetch)
    finally:
        engine.dispose()
        database.drop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
