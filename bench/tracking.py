"""Tracking benchmark: the open pixel and the click redirect against `broadsheet web`
(gunicorn) at a fixed rate, open loop.

Starts, on temp services (bundled Redis, SQLite or PostgreSQL, an SMTP sink that receives
nothing): a campaign with one link, `--readers` deliveries and a signed token for each, then
`broadsheet web --workers W`. It warms up, then requests `/t/<token>.gif` and, every
`--click-every`th request, `/t/<token>/0` at `--rate` per second for `--seconds`, each on a new
connection, tokens taken in turn, with an ordinary browser's User-Agent. Latency is counted
from each request's scheduled start (the driver's own lag included, never hidden).

Afterwards the hits waiting in Redis are drained into the database in this process (as the
worker's `drain_hits` does) and checked: every answered request is one hit, written once.
The target is p99 under 10 ms at 500 requests/s with no error.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import sys
import time
from collections import Counter
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, insert, select

from broadsheet.db import make_engine, make_session_factory
from broadsheet.models import Delivery, Engagement, Subscriber
from broadsheet.services import articles, campaigns
from broadsheet.services.ledger import plan_deliveries
from broadsheet.settings import load_settings
from broadsheet.tracking.tokens import make_tracking_token, tracking_key

from _driver import _request, open_loop, percentile
from _sink import SmtpSink
from _stack import Stack, code_line, free_port, machine_line
from scale import _wait_for_web

TARGET_P99 = 0.010
AGENT = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


@dataclass
class Hits:
    latencies: list[float] = field(default_factory=list)  # answered, from the scheduled start
    # Answered, from when the driver began to connect: the same less the driver's own delay
    # (its event loop late on the schedule, the in-flight gate), which shares the 2 cores.
    from_sent: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    lag: float = 0.0  # the driver's worst lag behind its schedule


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=500, help="requests per second")
    parser.add_argument("--seconds", type=float, default=20, help="length of the trial")
    parser.add_argument("--warmup", type=float, default=3, help="seconds of load before it")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="gunicorn")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument("--readers", type=int, default=1000, help="deliveries with a token")
    parser.add_argument("--click-every", type=int, default=5, help="every Nth request clicks")
    parser.add_argument("--in-flight", type=int, default=512, help="most requests open at once")
    parser.add_argument(
        "--database-url", help="a PostgreSQL server URL (default: SQLite in the temp folder)"
    )
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    print("== Broadsheet tracking benchmark ==")
    print(machine_line())
    print(code_line())
    with Stack(
        database_url=args.database_url, send_rate=100, batch_size=100, sink=SmtpSink()
    ) as stack:
        print(
            f"config: {args.rate:g} requests/s for {args.seconds:g} s (+{args.warmup:g} s "
            f"warm-up), 1 in {args.click_every} a click, gunicorn {args.workers} x "
            f"{args.threads} threads, {args.readers:,} tokens, database {stack.database.label}"
        )
        tokens = set_up(stack.database.url, args.readers)
        port = free_port()
        web = stack.start_web(port, args.workers, args.threads)
        try:
            _wait_for_web(web, port)
            asyncio.run(drive(port, tokens, args.rate, args.warmup, args))
            hits = asyncio.run(drive(port, tokens, args.rate, args.seconds, args))
        finally:
            web.stop()
        written = drain_all()
        expected = sum(hits.statuses[s] for s in ("200", "302"))
        warm = round(args.rate * args.warmup)
        report(hits, args)
        ok = written == expected + warm
        print(f"{'OK  ' if ok else 'FAIL'} hits written once each: {written:,} (answered "
              f"{expected + warm:,}, warm-up included)")  # fmt: skip
    return 0 if ok else 1


def set_up(database_url: str, readers: int) -> list[str]:
    """A sending campaign with one link, planned for `readers` readers: a token for each."""
    settings = load_settings()
    engine = make_engine(database_url)
    try:
        sessions = make_session_factory(engine)
        with sessions.begin() as session:
            session.execute(
                insert(Subscriber),
                [{"email": f"r{n}@example.org", "email_key": f"r{n}@example.org",
                  "name": "", "status": "active"} for n in range(readers)],
            )  # fmt: skip
            article = articles.create_article(
                session, title="Tracked", body_markdown="[A link](https://example.org/a)."
            )
            campaign = campaigns.create_campaign(session, article.id)
            campaigns.start_send(session, campaign.id)
            campaigns.prepare(session, campaign, settings)
            plan_deliveries(session, campaign)
            ids = list(
                session.scalars(select(Delivery.id).where(Delivery.campaign_id == campaign.id))
            )
            key = tracking_key(settings.secret_key)
            sent_at = int(time.time()) - 3600
            return [make_tracking_token(key, d, campaign.id, sent_at) for d in ids]
    finally:
        engine.dispose()


async def drive(
    port: int, tokens: list[str], rate: float, seconds: float, args: argparse.Namespace
) -> Hits:
    """Open loop: request i starts at its scheduled time, whatever became of the ones before."""
    loop = asyncio.get_running_loop()
    gate = asyncio.Semaphore(args.in_flight)
    hits = Hits()

    def start_one(i: int, at: float) -> Coroutine[Any, Any, None]:
        hits.lag = max(hits.lag, loop.time() - at)
        token = tokens[i % len(tokens)]
        path = f"/t/{token}/0" if i % args.click_every == 0 else f"/t/{token}.gif"
        return _one(port, path, at, gate, hits)

    await open_loop(rate, seconds, start_one)
    return hits


async def _one(port: int, path: str, at: float, gate: asyncio.Semaphore, hits: Hits) -> None:
    request = (
        f"GET {path} HTTP/1.1\r\nHost: news.example.test\r\nUser-Agent: {AGENT}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    async with gate:
        sent = asyncio.get_running_loop().time()
        try:
            async with asyncio.timeout(10):
                status, _, _ = await _request("127.0.0.1", port, request)
        except (OSError, TimeoutError) as exc:
            hits.statuses[type(exc).__name__] += 1
            return
    hits.statuses[str(status)] += 1
    now = asyncio.get_running_loop().time()
    hits.latencies.append(now - at)
    hits.from_sent.append(now - sent)


def drain_all() -> int:
    """Write every hit waiting in Redis, as the worker's task does; how many rows there are."""
    from worker.resources import Resources
    from worker.tracking import drain

    res = Resources(load_settings())
    try:
        while drain(res, max_seconds=60):
            pass
        with res.sessions() as session:
            return int(session.scalar(select(func.count()).select_from(Engagement)) or 0)
    finally:
        res.close()


def report(hits: Hits, args: argparse.Namespace) -> None:
    ms = [1000 * v for v in hits.latencies]
    p99 = percentile(hits.latencies, 99)
    print(
        f"latency ms: p50 {percentile(ms, 50):.2f}  p95 {percentile(ms, 95):.2f}  "
        f"p99 {percentile(ms, 99):.2f}  max {max(ms, default=math.nan):.2f}  "
        f"(driver lag up to {1000 * hits.lag:.1f} ms)"
    )
    sent = [1000 * v for v in hits.from_sent]
    print(
        f"from the driver's send: p50 {percentile(sent, 50):.2f}  p95 {percentile(sent, 95):.2f}"
        f"  p99 {percentile(sent, 99):.2f}  (not the target's measure; shows the driver's share)"
    )
    print(f"answers: {dict(sorted(hits.statuses.items()))}")
    errors = sum(n for s, n in hits.statuses.items() if s not in ("200", "302"))
    met = p99 < TARGET_P99 and errors == 0
    print(f"{'MET' if met else 'NOT MET'}: p99 < {1000 * TARGET_P99:g} ms at {args.rate:g}/s, "
          f"no errors ({errors})")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
