"""Subscriber list benchmark: how fast the admin's list answers a page at 1,000,000 readers.

In a fresh PostgreSQL database (made with the real migrations, dropped afterwards), readers are
seeded with one `INSERT ... SELECT generate_series`: 40 first names x 40 surnames, addresses
`first.surname<n>@<one of 5 domains>`, statuses mixed (about 80% active, 8% pending, 8%
unsubscribed, 3% bounced, 1% complained), one every 30 s back in time. Then each query of
`readers.list_subscribers` (the service the admin's page calls) runs many times on a warm
cache and its latency is printed as p50/p95/max, beside two baselines in the same database:
the same page reached with OFFSET, and the COUNT(*) a "page N of M" pager would need. Last,
EXPLAIN ANALYZE of the very SQL each query sent shows which index answered it.
The issue's target: a page in under 50 ms at 1,000,000 readers.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any

from sqlalchemy import Connection, Engine, event, text
from sqlalchemy.engine.interfaces import DBAPICursor, ExecutionContext
from sqlalchemy.orm import Session, sessionmaker

from broadsheet.db import make_engine, make_session_factory
from broadsheet.services import readers

from _stack import Database, code_line, machine_line, stop_on_signals

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
Params = Mapping[str, Any] | Sequence[Any]  # a statement's parameters, as the driver got them
PAGE = 50
FIRST = "ARRAY['Ann','Bob','Chloe','Dev','Emma','Farid','Grace','Hugo','Ines','Jon','Kira',"
FIRST += "'Liam','Maria','Noah','Olga','Pablo','Quinn','Rosa','Sami','Tess','Umar','Vera',"
FIRST += "'Wes','Xena','Yusuf','Zoe','Arjun','Bea','Cyril','Dana','Elif','Femi','Gus','Hana',"
FIRST += "'Ivo','Jade','Kofi','Lena','Milo','Nadia']"
LAST = "ARRAY['Smith','Jones','Garcia','Müller','Rossi','Dubois','Nowak','Silva','Kim','Chen',"
LAST += "'Patel','Khan','Ivanova','Larsen','Okafor','Haddad','Tanaka','Novak','Costa','Brown',"
LAST += "'Weber','Moreau','Santos','Lopez','Wilson','Taylor','Evans','Walker','Young','Hall',"
LAST += "'Green','Baker','Adams','Clark','Lewis','Wright','King','Scott','Hill','Moore']"
DOMAINS = "ARRAY['example.org','example.com','mail.example.net','post.example','example.co.uk']"
SEED = f"""
INSERT INTO subscribers (email, email_key, name, status, source, created_at, status_changed_at)
SELECT lower(f) || '.' || lower(l) || n || '@' || d, lower(f) || '.' || lower(l) || n || '@' || d,
       f || ' ' || l,
       CASE WHEN h < 80 THEN 'active' WHEN h < 88 THEN 'pending' WHEN h < 96 THEN 'unsubscribed'
            WHEN h < 99 THEN 'bounced' ELSE 'complained' END,
       'bench', t, t
FROM (
  SELECT n, ({FIRST})[1 + n % 40] AS f, ({LAST})[1 + (n / 40) % 40] AS l,
         ({DOMAINS})[1 + n % 5] AS d, abs(hashtext(n::text)) % 100 AS h,
         now() - (:readers - n) * interval '30 seconds' AS t
  FROM generate_series(1, :readers) AS n
) AS seed
"""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--readers", type=int, default=1_000_000, help="default 1000000")
    parser.add_argument("--repeat", type=int, default=200, help="runs per query (default 200)")
    parser.add_argument(
        "--database-url",
        default=DEFAULT_SERVER,
        help="a PostgreSQL server; a fresh database is made on it and dropped after",
    )
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    stop_on_signals()
    print("== Broadsheet subscriber list benchmark ==")
    print(machine_line())
    print(code_line())
    print(f"config: {args.readers:,} readers, {args.repeat} runs per query, page {PAGE}")
    database = Database(None, args.database_url)
    database.create()
    engine = make_engine(database.url)
    try:
        started = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(text(SEED), {"readers": args.readers})
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE subscribers"))
        print(f"seeded {args.readers:,} readers in {time.perf_counter() - started:.1f} s")
        return run(engine, args.readers, args.repeat)
    finally:
        engine.dispose()
        database.drop()


def run(engine: Engine, count: int, repeat: int) -> int:
    sessions = make_session_factory(engine)
    deep = count // 10  # a page 90% of the way down the list
    offset = count - deep
    with engine.connect() as conn:
        exact = conn.execute(
            text("SELECT email_key FROM subscribers WHERE id = :id"), {"id": count // 2}
        ).scalar_one()
    queries: dict[str, Callable[[Session], object]] = {
        "first page": lambda s: readers.list_subscribers(s),
        "deep page (before)": lambda s: readers.list_subscribers(s, before=deep),
        "status complained, first": lambda s: readers.list_subscribers(s, status="complained"),
        "status pending, deep": lambda s: readers.list_subscribers(
            s, status="pending", before=deep
        ),
        "address prefix 'hugo.kim'": lambda s: readers.list_subscribers(s, search="hugo.kim"),
        "address prefix 'a'": lambda s: readers.list_subscribers(s, search="a"),
        "address, exact": lambda s: readers.list_subscribers(s, search=exact),
        "name prefix 'zoe mo'": lambda s: readers.list_subscribers(s, search="zoe mo"),
        "name prefix 'nadia', deep": lambda s: readers.list_subscribers(
            s, search="nadia", before=deep
        ),
        "no match 'qqq'": lambda s: readers.list_subscribers(s, search="qqq"),
        "search + status": lambda s: readers.list_subscribers(s, search="emma", status="bounced"),
    }
    baselines: dict[str, str] = {
        f"baseline: OFFSET {offset:,}": (
            "SELECT id, email, name, status, created_at, status_changed_at FROM subscribers "
            f"ORDER BY id DESC OFFSET {offset} LIMIT {PAGE + 1}"
        ),
        "baseline: COUNT(*) all": "SELECT count(*) FROM subscribers",
        "baseline: COUNT(*) search 'a'": (
            "SELECT count(*) FROM subscribers WHERE email_key LIKE 'a%%' OR lower(name) LIKE 'a%%'"
        ),
    }
    sent: dict[str, tuple[str, Params]] = {}
    results = []
    for label, query in queries.items():
        sent[label] = _last_statement(engine, sessions, query)
        results.append((label, _time(partial(_in_session, sessions, query), repeat)))
    for label, sql in baselines.items():
        sent[label] = (sql, {})
        results.append((label, _time(partial(_raw, engine, sql), max(repeat // 10, 5))))

    print()
    print(f"{'query':<34} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'runs':>5}")
    for label, times in results:
        p50, p95 = statistics.median(times), _percentile(times, 95)
        print(f"{label:<34} {p50:>8.2f} {p95:>8.2f} {max(times):>8.2f} {len(times):>5}")
    worst = max(_percentile(t, 95) for label, t in results if not label.startswith("baseline"))
    verdict = "OK  " if worst < 50 else "FAIL"
    print(f"{verdict} every list query's p95 under 50 ms at {count:,} readers (worst {worst:.2f})")
    print()
    for label, (sql, params) in sent.items():
        print(f"-- EXPLAIN ANALYZE: {label}")
        with engine.connect() as conn:
            plan = conn.exec_driver_sql(f"EXPLAIN (ANALYZE, COSTS OFF) {sql}", params)
            for (line,) in plan:
                print(f"   {line}")
    return 0 if worst < 50 else 1


def _in_session(sessions: sessionmaker[Session], query: Callable[[Session], object]) -> None:
    with sessions() as session:
        query(session)
        session.rollback()


def _raw(engine: Engine, sql: str) -> None:
    with engine.connect() as conn:
        conn.exec_driver_sql(sql).all()


def _last_statement(
    engine: Engine, sessions: sessionmaker[Session], query: Callable[[Session], object]
) -> tuple[str, Params]:
    """The SQL and parameters the service sent, to EXPLAIN exactly that."""
    seen: list[tuple[str, Params]] = []

    def record(
        conn: Connection,
        cursor: DBAPICursor,
        statement: str,
        parameters: Params,
        context: ExecutionContext | None,
        executemany: bool,
    ) -> None:
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        _in_session(sessions, query)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return next(s for s in reversed(seen) if "FROM subscribers" in s[0])


def _time(call: Callable[[], None], repeat: int) -> list[float]:
    call()  # warm the cache and the connection pool
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return times


def _percentile(times: list[float], pct: int) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


if __name__ == "__main__":
    sys.exit(main())
