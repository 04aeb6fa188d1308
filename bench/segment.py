"""Segment planning benchmark: planning a campaign to a segment that holds every reader
against planning one to every reader, at 1,000,000 readers: the same readers and rows, so
the ratio is what the segment's filter costs, and nothing else.

In a fresh PostgreSQL database (the real migrations; dropped afterwards), `--readers` active
readers are loaded with COPY, each with the attributes {"plan": "member"}, then all of them
subscribed to one newsletter and tagged `member`, each with one INSERT ... SELECT, with no
ANALYZE and autovacuum off (as right after an import). Then campaigns are planned with
`ledger.plan_in_parts` as `start_campaign` runs it, in turn: every reader, the segment
{"newsletters": [it], "tags_any": ["member"], "exclude_tags": ["lapsed"] (a tag no reader
carries), "attributes": {"plan": "member"}}, every reader again, the segment again; each
planning's time, rows and rows/s are printed, then both counts (they must be equal, or the
run fails), and the segment's mean against everyone's mean as a ratio. The issue's target:
1.5 or less.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

from sqlalchemy import Engine, func, select, text

from broadsheet.db import make_engine, make_session_factory
from broadsheet.models import Delivery
from broadsheet.services import articles, campaigns, ledger, newsletters

from _readers import load_readers
from _stack import Database, code_line, machine_line, stop_on_signals
from send import ARTICLE

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
SEGMENT = {
    "newsletters": ["bench"],
    "tags_any": ["member"],
    "exclude_tags": ["lapsed"],
    "attributes": {"plan": "member"},
}
ATTRIBUTES = {"plan": "member"}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--readers", type=int, default=1_000_000, help="active readers")
    parser.add_argument("--database-url", default=DEFAULT_SERVER, help="PostgreSQL server")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    stop_on_signals()
    print("== Broadsheet segment planning benchmark ==")
    print(machine_line())
    print(code_line())
    print(f"config: {args.readers:,} readers, {ledger.PLAN_PARTS_POSTGRESQL} parts, PostgreSQL")
    database = Database(None, args.database_url)
    database.create()
    engine = make_engine(database.url)
    try:
        started = time.perf_counter()
        load(engine, args.readers)
        print(f"loaded readers, memberships and tags in {time.perf_counter() - started:.1f} s")
        timings: dict[str, list[float]] = {"everyone": [], "segment": []}
        counts: dict[str, set[int]] = {"everyone": set(), "segment": set()}
        for name in ("everyone", "segment", "everyone", "segment"):
            seconds, rows = plan(engine, SEGMENT if name == "segment" else "everyone")
            timings[name].append(seconds)
            counts[name].add(rows)
            print(f"  {name:<9} {seconds:7.2f} s  {rows:>10,} rows  {rows / seconds:>10,.0f}/s")
    finally:
        engine.dispose()
        database.drop()
    everyone_rows, segment_rows = (sorted(counts[k]) for k in ("everyone", "segment"))
    shown = {k: " and ".join(f"{n:,}" for n in sorted(counts[k])) for k in counts}
    print(f"readers planned: everyone {shown['everyone']}, the segment {shown['segment']}")
    if not everyone_rows == segment_rows == [args.readers]:
        print("FAIL the segment does not hold exactly every reader: the ratio would not compare")
        return 1
    everyone, segment = (statistics.mean(timings[k]) for k in ("everyone", "segment"))
    ratio = segment / everyone
    ok = ratio <= 1.5
    print(f"segment {segment:.2f} s against everyone {everyone:.2f} s: {ratio:.2f} times")
    verdict = "OK  " if ok else "FAIL"
    print(f"{verdict} the segment ({args.readers:,} readers) plans within 1.5 times")
    return 0 if ok else 1


def load(engine: Engine, readers: int) -> None:
    load_readers(engine, readers, analyze=False, attributes=ATTRIBUTES)
    with engine.begin() as conn:
        for table in ("subscribers", "deliveries", "memberships", "subscriber_tags"):
            conn.execute(text(f"ALTER TABLE {table} SET (autovacuum_enabled = false)"))
        conn.execute(text("DELETE FROM memberships"))  # the migration's default newsletter
    with make_session_factory(engine).begin() as session:
        newsletter = newsletters.create_newsletter(session, "Bench", "bench")
        newsletter_id = newsletter.id
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO memberships (subscriber_id, newsletter_id, status, created_at,"
                " changed_at) SELECT id, :n, 'subscribed', now(), now() FROM subscribers"
            ),
            {"n": newsletter_id},
        )
        conn.execute(
            text(
                "INSERT INTO subscriber_tags (subscriber_id, tag)"
                " SELECT id, 'member' FROM subscribers"
            )
        )


def plan(engine: Engine, audience: object) -> tuple[float, int]:
    sessions = make_session_factory(engine)
    with sessions.begin() as session:
        article = articles.create_article(session, **{**ARTICLE, "title": f"Plan {time.time()}"})
        campaign_id = campaigns.create_campaign(session, article.id, audience=audience).id
        campaigns.start_send(session, campaign_id)
    started = time.perf_counter()
    ledger.plan_in_parts(sessions, campaign_id, ledger.PLAN_PARTS_POSTGRESQL)
    seconds = time.perf_counter() - started
    with sessions() as session:
        rows = session.scalar(
            select(func.count()).select_from(Delivery).where(Delivery.campaign_id == campaign_id)
        )
    return seconds, rows or 0


if __name__ == "__main__":
    sys.exit(main())
