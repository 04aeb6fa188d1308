"""Planning benchmark: how long the ledger takes to plan a campaign and cut it into batches.

For each audience size (default 50,000 and 1,000,000 active readers, each in a fresh
PostgreSQL database that is dropped afterwards): readers are loaded with COPY, an article and
a campaign are made through the domain services, then two things are timed apart, as
`start_campaign` and `enqueue_batches` run them:
  * `ledger.plan_in_parts` with `--parts` parts (an INSERT ... SELECT per range of reader ids,
    the parts at once, each committed), as start_campaign plans on PostgreSQL; with 1 part it
    is the single statement SQLite uses, the baseline printed beside it;
  * walking every keyset range of `ledger.batch_ranges(session, campaign_id, BATCH_SIZE)`.
Each size is planned twice, in databases of its own: `fresh`, right after the readers were
loaded, with no ANALYZE and autovacuum off for the tables (what a new install, an import or a
burst of signups meets before autovacuum comes by), and `analyzed`, after VACUUM ANALYZE.
Planning must not depend on statistics: the fresh run within 1.5 times the analyzed one.
No worker, broker or relay is involved.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import TypedDict

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session, sessionmaker

from broadsheet.db import make_engine, make_session_factory
from broadsheet.services import articles, campaigns, ledger

from _readers import load_readers
from _stack import Database, code_line, machine_line, stop_on_signals
from send import ARTICLE

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--readers",
        type=lambda s: [int(n) for n in s.split(",")],
        default=[50_000, 1_000_000],
        help="comma-separated audience sizes (default 50000,1000000)",
    )
    parser.add_argument("--batch-size", type=int, default=100, help="BATCH_SIZE for the ranges")
    parser.add_argument(
        "--parts",
        type=lambda s: [int(n) for n in s.split(",")],
        default=[ledger.PLAN_PARTS_POSTGRESQL],
        help="comma-separated part counts to plan with, one run each (default: "
        f"{ledger.PLAN_PARTS_POSTGRESQL}, as start_campaign uses on PostgreSQL; 1 is the single "
        "statement SQLite uses)",
    )
    parser.add_argument(
        "--stats",
        type=lambda s: s.split(","),
        default=["fresh", "analyzed"],
        help="comma-separated: fresh (no ANALYZE, autovacuum off) and/or analyzed",
    )
    parser.add_argument(
        "--walk-budget",
        type=float,
        default=60,
        help="seconds to let the walk right after planning run before giving up on it",
    )
    parser.add_argument(
        "--database-url",
        default=DEFAULT_SERVER,
        help="a PostgreSQL server; a fresh database is made on it per size and dropped after",
    )
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    stop_on_signals()
    print("== Broadsheet planning benchmark ==")
    print(machine_line())
    print(code_line())
    print(f"config: BATCH_SIZE {args.batch_size}, database PostgreSQL ({args.database_url})")
    results = [
        measure(args.database_url, n, parts, stats, args.batch_size, args.walk_budget)
        for n in args.readers
        for parts in args.parts
        for stats in args.stats
    ]
    print()
    print(
        f"{'readers':>10} {'parts':>5} {'stats':>9} {'load (COPY)':>12} {'plan':>9} "
        f"{'plan rows/s':>12} {'ranges':>7} {'walk, no stats':>22} {'walk, analyzed':>15} "
        f"{'plan+walk':>10}"
    )
    for r in results:
        cold = f"{r['cold_s']:.2f} s" + ("" if r["cold_done"] else f" ({r['cold_ranges']:,} only)")
        print(
            f"{r['readers']:>10,} {r['parts']:>5} {r['stats']:>9} {r['load_s']:>10.2f} s "
            f"{r['plan_s']:>7.2f} s {r['readers'] / r['plan_s']:>12,.0f} {r['ranges']:>7,} "
            f"{cold:>22} {r['walk_s']:>13.2f} s {r['plan_s'] + r['walk_s']:>8.2f} s"
        )
    print(
        "readers fresh: planned right after loading (no ANALYZE, autovacuum off); analyzed: "
        "after VACUUM ANALYZE subscribers. walk, no stats: batch_ranges right after planning, "
        "as enqueue_batches runs it; walk, analyzed: after ANALYZE deliveries"
    )
    failed = False
    for r in results:
        ok = r["planned"] == r["readers"] and r["covered"] == r["readers"]
        failed |= not ok
        print(
            f"{'OK  ' if ok else 'FAIL'} {r['readers']:,} readers ({r['stats']}) in "
            f"{r['parts']} part(s): planned {r['planned']:,} deliveries, ranges cover "
            f"{r['covered']:,}"
        )
    for fresh in (r for r in results if r["stats"] == "fresh"):
        twin = [
            r
            for r in results
            if r["stats"] == "analyzed"
            and (r["readers"], r["parts"]) == (fresh["readers"], fresh["parts"])
        ]
        if twin:
            ratio = fresh["plan_s"] / twin[0]["plan_s"]
            ok = ratio <= 1.5
            failed |= not ok
            print(
                f"{'OK  ' if ok else 'FAIL'} {fresh['readers']:,} readers in {fresh['parts']} "
                f"part(s): fresh {fresh['plan_s']:.2f} s is {ratio:.2f} times analyzed "
                f"{twin[0]['plan_s']:.2f} s (target: 1.5 or less)"
            )
    return 1 if failed else 0


class Measured(TypedDict):
    """One configuration's figures (`measure`)."""

    cold_ranges: int
    cold_s: float
    cold_done: bool
    readers: int
    parts: int
    stats: str
    load_s: float
    plan_s: float
    planned: int
    ranges: int
    walk_s: float
    covered: int


def measure(
    server_url: str, readers: int, parts: int, stats: str, batch_size: int, budget: float
) -> Measured:
    database = Database(None, server_url)
    database.create()
    engine = make_engine(database.url)
    try:
        sessions = make_session_factory(engine)
        fresh = stats == "fresh"
        if fresh:  # nothing analyzes the tables behind the measurement's back
            with engine.begin() as conn:
                for table in ("subscribers", "deliveries"):
                    conn.execute(text(f"ALTER TABLE {table} SET (autovacuum_enabled = false)"))
        started = time.perf_counter()
        load_readers(engine, readers, analyze=not fresh)
        load_s = time.perf_counter() - started
        with sessions.begin() as session:
            article = articles.create_article(session, **ARTICLE)
            campaign_id = campaigns.create_campaign(session, article.id).id
            campaigns.start_send(session, campaign_id)

        started = time.perf_counter()
        planned = ledger.plan_in_parts(sessions, campaign_id, parts)
        plan_s = time.perf_counter() - started

        # As enqueue_batches runs it: right after planning, before PostgreSQL has statistics
        # on the new rows (autovacuum may analyze them meanwhile), then again after ANALYZE.
        cold = _walk(sessions, campaign_id, batch_size, budget)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE deliveries"))
        ranges, walk_s, _ = _walk(sessions, campaign_id, batch_size, None)

        with engine.connect() as conn:
            covered = _covered(conn, campaign_id, ranges)
    finally:
        engine.dispose()
        database.drop()
    cold_ranges, cold_s, cold_done = cold
    print(
        f"{readers:,} readers, {stats}: load {load_s:.2f} s, plan in {parts} part(s) "
        f"{plan_s:.2f} s; "
        f"ranges walked right after planning: {len(cold_ranges):,} in {cold_s:.2f} s"
        + ("" if cold_done else f" (stopped at the {budget:g} s budget, not done)")
        + f"; after ANALYZE: {len(ranges):,} in {walk_s:.2f} s"
    )
    return {
        "cold_ranges": len(cold_ranges),
        "cold_s": cold_s,
        "cold_done": cold_done,
        "readers": readers,
        "parts": parts,
        "stats": stats,
        "load_s": load_s,
        "plan_s": plan_s,
        "planned": planned,
        "ranges": len(ranges),
        "walk_s": walk_s,
        "covered": covered,
    }


def _walk(
    sessions: sessionmaker[Session], campaign_id: int, size: int, budget: float | None
) -> tuple[list[tuple[int, int]], float, bool]:
    """All keyset ranges in one transaction, or as many as fit in `budget` seconds."""
    ranges: list[tuple[int, int]] = []
    started = time.perf_counter()
    with sessions.begin() as session:
        for found in ledger.batch_ranges(session, campaign_id, size):
            ranges.append(found)
            if budget is not None and time.perf_counter() - started > budget:
                return ranges, time.perf_counter() - started, False
    return ranges, time.perf_counter() - started, True


def _covered(conn: Connection, campaign_id: int, ranges: list[tuple[int, int]]) -> int:
    """Deliveries inside the ranges, counted once: the ranges must be disjoint and complete."""
    conn.execute(text("CREATE TEMP TABLE ranges (first_id bigint, last_id bigint)"))
    driver = conn.connection.driver_connection
    assert driver is not None, "a connection in use has its driver's connection"
    with (
        driver.cursor() as cur,
        cur.copy("COPY ranges FROM STDIN") as copy,
    ):
        for row in ranges:
            copy.write_row(row)
    covered: int = conn.execute(
        text(
            "SELECT count(*) FROM deliveries d JOIN ranges r "
            "ON d.id BETWEEN r.first_id AND r.last_id WHERE d.campaign_id = :c"
        ),
        {"c": campaign_id},
    ).scalar_one()
    return covered


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted; the bench database was dropped", file=sys.stderr)
        sys.exit(130)
