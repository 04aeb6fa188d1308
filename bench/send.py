"""Send benchmark: one campaign to N readers through the real Celery worker into an SMTP sink.

What is measured, all in one run on temp services (bundled Redis, SQLite or PostgreSQL):
  * the sink's own ceiling: smtplib client processes blasting a ready-made message at it;
  * Broadsheet: N active readers, one article, the send started as the API does it
    (`campaigns.start_send`, commit, enqueue `broadsheet.start_campaign`) and timed from the
    enqueue until the campaign is `sent`; messages/s, CPU per message, and the worker's peak
    memory (VmHWM of the celery main process and its pool children, sampled during the run);
  * a naive baseline on a sample of readers: premailer render + EmailMessage per recipient,
    one process, to the same sink.

How to read it: "messages/s" is end to end (render once, plan, enqueue, send, record each
outcome); "steady" excludes the start-up before the first message. The memory "sum" counts
pages shared between the forked pool children more than once, so it overstates the total.
The verification lines must say OK: the sink got exactly one message per reader and the
ledger says every delivery was sent.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import time
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Engine, create_engine, func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from broadsheet.db import make_engine, make_session_factory
from broadsheet.mail.compose import list_id, render_campaign
from broadsheet.mail.skeleton import MessageSkeleton, Recipient, make_message_id
from broadsheet.models import Campaign, Delivery, Subscriber, SubscriberStatus, utcnow
from broadsheet.services import articles, campaigns
from broadsheet.settings import load_settings

import _naive
import _proc
from _sink import Ceiling, SmtpSink, measure_ceiling
from _stack import Process, Stack, code_line, machine_line

INSERT_CHUNK = 5_000


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--readers", type=int, default=10_000, help="active readers to send to")
    parser.add_argument(
        "--baseline-readers", type=int, default=1_000, help="readers for the naive baseline"
    )
    parser.add_argument("--concurrency", type=int, default=2, help="celery pool processes")
    parser.add_argument("--batch-size", type=int, default=100, help="BATCH_SIZE for the worker")
    parser.add_argument(
        "--send-rate", type=float, default=100_000, help="SEND_RATE; high so it never throttles"
    )
    parser.add_argument(
        "--database-url",
        help="a PostgreSQL server URL; a fresh database is made on it and dropped afterwards "
        "(default: SQLite in the temp folder)",
    )
    parser.add_argument(
        "--ceiling-seconds", type=float, default=3.0, help="how long to probe the sink (0: skip)"
    )
    parser.add_argument(
        "--timeout", type=float, default=900, help="give up if the campaign is not sent by then"
    )
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    print("== Broadsheet send benchmark ==")
    print(machine_line())
    print(code_line())
    with Stack(
        database_url=args.database_url,
        send_rate=args.send_rate,
        batch_size=args.batch_size,
        sink=SmtpSink(),
    ) as stack:
        print(
            f"config: readers {args.readers:,}, baseline readers {args.baseline_readers:,}, "
            f"celery --concurrency {args.concurrency}, BATCH_SIZE {args.batch_size}, "
            f"SEND_RATE {args.send_rate:g}/s, database {stack.database.label}, "
            f"sink {stack.sink.url} (own process)"
        )
        engine = make_engine(stack.database.url)
        try:
            return run(args, stack, engine)
        finally:
            engine.dispose()


def run(args: argparse.Namespace, stack: Stack[SmtpSink], engine: Engine) -> int:
    sessions = make_session_factory(engine)
    started = time.perf_counter()
    insert_readers(engine, args.readers)
    print(f"setup: {args.readers:,} readers inserted in {time.perf_counter() - started:.2f} s")
    with sessions.begin() as session:
        article = articles.create_article(session, **ARTICLE)
        campaign_id = campaigns.create_campaign(session, article.id).id

    ceiling = None
    if args.ceiling_seconds > 0:
        sample = sample_message(sessions, campaign_id)
        ceiling = measure_ceiling(stack.sink, sample, clients=2, seconds=args.ceiling_seconds)
        print(
            f"sink ceiling: {ceiling.rate:,.0f} msg/s from {ceiling.clients} smtplib processes "
            f"({len(sample) / 1024:.1f} kB messages); sink CPU {_sink_ms(ceiling)} ms/msg"
        )

    worker = stack.start_worker(args.concurrency)
    product = send_campaign(stack, worker, sessions, campaign_id, args.timeout)
    worker.stop()  # the baseline gets the machine to itself
    if product is None:
        return 1
    print(
        f"product: {product['messages']:,} messages in {product['seconds']:.2f} s "
        f"= {product['rate']:,.0f} msg/s"
    )

    baseline = None
    if args.baseline_readers > 0:
        context = multiprocessing.get_context("spawn")
        with context.Pool(1, initializer=_proc.ignore_sigint) as pool:
            baseline = pool.apply(
                _naive.naive_send, (stack.env, campaign_id, args.baseline_readers)
            )
        print(
            f"baseline: {baseline['messages']:,.0f} messages in {baseline['seconds']:.2f} s "
            f"= {baseline['messages'] / baseline['seconds']:,.1f} msg/s"
        )
    verified = verify(stack, sessions, campaign_id, args.readers, baseline)
    report(args, ceiling, product, baseline, verified)
    return 0 if all(ok for ok, _ in verified) else 1


def insert_readers(engine: Engine, count: int, attributes: dict[str, object] | None = None) -> None:
    """Active readers in bulk, straight into the table (consent given elsewhere), each with
    `attributes` when given."""
    now = utcnow()
    extra = {} if attributes is None else {"attributes": attributes}
    with make_session_factory(engine).begin() as session:
        for first in range(0, count, INSERT_CHUNK):
            rows = [
                {
                    "email": f"reader{n}@example.org",
                    "email_key": f"reader{n}@example.org",
                    "name": f"Reader {n}",
                    "status": SubscriberStatus.ACTIVE,
                    "source": "bench",
                    "created_at": now,
                    "status_changed_at": now,
                    "confirmed_at": now,
                    **extra,
                }
                for n in range(first, min(first + INSERT_CHUNK, count))
            ]
            session.execute(insert(Subscriber), rows)


def sample_message(sessions: sessionmaker[Session], campaign_id: int) -> bytes:
    """A message like the campaign's, without the campaign header, for the sink probe."""
    settings = load_settings()
    with sessions.begin() as session:
        campaign = session.get_one(Campaign, campaign_id)
        rendered = render_campaign(campaign, settings)
    skeleton = MessageSkeleton(
        rendered,
        mail_from=settings.mail_from,
        list_id=list_id(settings),
        campaign_id=None,
        unsubscribe=True,
    )
    return skeleton.render(
        Recipient(
            email="probe@example.net",
            name="Probe Reader",
            subscriber_id=1,
            unsubscribe_url="http://news.example.test/unsubscribe/abc",
            message_id=make_message_id(None, 1, "example.test", "probe"),
        )
    )


def send_campaign(
    stack: Stack[SmtpSink],
    worker: Process,
    sessions: sessionmaker[Session],
    campaign_id: int,
    timeout: float,
) -> dict[str, float] | None:
    """Start the send as the API does and wait for `sent`; None (with the log) on failure."""
    from worker.tasks import start_campaign  # configures Celery from the stack's environment

    with sessions.begin() as session:
        campaigns.start_send(session, campaign_id)
    # Polling must not take SQLite's write lock (make_engine's BEGIN IMMEDIATE) from the worker.
    poller = create_engine(stack.database.url)
    cpu_before = _proc.tree_cpu_seconds(worker.pid)
    machine_before = _proc.machine_busy_seconds() - _own_cpu(stack)
    try:
        with _proc.TreeSampler(worker.pid) as sampler:
            enqueued_at = utcnow()
            started = time.perf_counter()
            start_campaign.delay(campaign_id)
            status = _wait_until_sent(poller, worker, campaign_id, started + timeout)
            elapsed = time.perf_counter() - started
        cpu = _proc.tree_cpu_seconds(worker.pid) - cpu_before
        others = _proc.machine_busy_seconds() - _own_cpu(stack) - machine_before - cpu
    finally:
        poller.dispose()
    if status != "sent":
        print(f"FAILED: campaign still {status} after {elapsed:.0f} s; worker log tail:")
        print(worker.tail())
        return None
    with sessions.begin() as session:
        counts = campaigns.delivery_counts(session, campaign_id)
        campaign = session.get_one(Campaign, campaign_id)
        first, last = session.execute(
            select(func.min(Delivery.sent_at), func.max(Delivery.sent_at)).where(
                Delivery.campaign_id == campaign_id
            )
        ).one()
        planned_at = campaign.planned_at
    sent = counts["sent"]
    first_s, last_s = _since(enqueued_at, first), _since(enqueued_at, last)
    return {
        "messages": sent,
        "seconds": elapsed,
        "rate": sent / elapsed,
        "planned_s": _since(enqueued_at, planned_at),
        "first_s": first_s,
        "last_s": last_s,
        "steady_rate": (sent - 1) / (last_s - first_s) if last_s > first_s else 0.0,
        "cpu_seconds": cpu,
        "others_cores": others / elapsed,
        "mem_sum_kb": sampler.memory.peak_sum_kb,
        "mem_max_kb": sampler.memory.peak_max_kb,
        "processes": len(sampler.memory.hwm_kb),
    }


def _own_cpu(stack: Stack[SmtpSink]) -> float:
    """CPU time of this process, the sink and Redis (not the worker, counted on its own)."""
    sink = _proc.cpu_seconds(stack.sink.pid) or 0.0
    return time.process_time() + sink + (_proc.cpu_seconds(stack.redis_pid) or 0.0)


def _wait_until_sent(poller: Engine, worker: Process, campaign_id: int, deadline: float) -> str:
    query = select(Campaign.status).where(Campaign.id == campaign_id)
    while True:
        with poller.connect() as conn:
            status = conn.scalar(query)
        if status == "sent" or time.perf_counter() > deadline or not worker.alive():
            return str(status)
        time.sleep(0.05)


def _since(start: datetime, when: datetime | None) -> float:
    if when is None:
        return float("nan")
    if when.tzinfo is None:  # SQLite keeps no zone; the application stores UTC
        when = when.replace(tzinfo=start.tzinfo)
    return (when - start).total_seconds()


def verify(
    stack: Stack[SmtpSink],
    sessions: sessionmaker[Session],
    campaign_id: int,
    readers: int,
    baseline: dict[str, float] | None,
) -> list[tuple[bool, str]]:
    sink = stack.sink.stats()
    got = sink["campaigns"].get(str(campaign_id), {"messages": 0, "recipients": 0})
    with sessions.begin() as session:
        counts = campaigns.delivery_counts(session, campaign_id)
    checks = [
        (
            got["messages"] == readers and got["recipients"] == readers,
            f"sink: {got['messages']:,} campaign messages to {got['recipients']:,} distinct "
            f"readers (expected {readers:,} and {readers:,})",
        ),
        (
            counts["sent"] == readers == counts["total"],
            f"ledger: sent {counts['sent']:,}, failed {counts['failed']:,}, "
            f"queued {counts['queued']:,}, sending {counts['sending']:,}, "
            f"total {counts['total']:,} (expected sent == total == {readers:,})",
        ),
    ]
    if baseline is not None:
        checks.append(
            (
                sink["other"] == baseline["messages"],
                f"sink: {sink['other']:,} baseline messages (expected {baseline['messages']:,.0f})",
            )
        )
    return checks


def report(
    args: argparse.Namespace,
    ceiling: Ceiling | None,
    product: dict[str, float],
    baseline: dict[str, float] | None,
    verified: list[tuple[bool, str]],
) -> None:
    n = product["messages"]
    rows = [
        ("messages", f"{n:,}", _b(baseline, lambda b: f"{b['messages']:,.0f}")),
        ("processes", f"{product['processes']} (celery main + pool)", "1"),
        ("elapsed", f"{product['seconds']:.2f} s", _b(baseline, lambda b: f"{b['seconds']:.2f} s")),
        (
            "messages/s",
            f"{product['rate']:,.0f}",
            _b(baseline, lambda b: f"{b['messages'] / b['seconds']:,.1f}"),
        ),
        ("CPU per message", f"{1000 * product['cpu_seconds'] / n:.2f} ms", _b(baseline, _cpu_ms)),
        (
            "peak memory",
            f"sum {_mb(product['mem_sum_kb'])}, max {_mb(product['mem_max_kb'])}",
            _b(baseline, lambda b: _mb(b["peak_rss_kb"])),
        ),
    ]
    width = max(len(r[1]) for r in rows) + 2
    print()
    print(f"{'':<18}{'Broadsheet worker':<{width}}naive baseline")
    for label, ours, theirs in rows:
        print(f"{label:<18}{ours:<{width}}{theirs}")
    print(
        f"worker timeline after enqueue: planned +{product['planned_s']:.2f} s, first message "
        f"+{product['first_s']:.2f} s, last +{product['last_s']:.2f} s "
        f"(steady {product['steady_rate']:,.0f} msg/s)"
    )
    print(
        f"other processes on this machine used {product['others_cores']:.2f} cores on average "
        "during the send (not ours: other load skews the figures)"
    )
    if baseline is not None:
        ratio = product["rate"] / (baseline["messages"] / baseline["seconds"])
        per_cpu = (baseline["cpu_seconds"] / baseline["messages"]) / (product["cpu_seconds"] / n)
        total = baseline["seconds"]
        print(
            f"baseline time split: render+premailer {100 * baseline['render_seconds'] / total:.0f}%"
            f", EmailMessage+as_bytes {100 * baseline['build_seconds'] / total:.0f}%, "
            f"SMTP {100 * baseline['smtp_seconds'] / total:.0f}%"
        )
        print(
            f"ratio: Broadsheet sends {ratio:,.1f}x the naive messages/s "
            f"({per_cpu:,.1f}x less CPU per message)"
        )
    if ceiling is not None:
        print(
            f"sink ceiling: {ceiling.rate:,.0f} msg/s with {ceiling.clients} smtplib clients; "
            f"the sink alone uses {_sink_ms(ceiling)} ms CPU/msg "
            f"(~{ceiling.cpu_bound_rate:,.0f} msg/s on one core)"
        )
    for ok, line in verified:
        print(f"{'OK  ' if ok else 'FAIL'} {line}")


def _b(baseline: dict[str, float] | None, show: Callable[[dict[str, float]], str]) -> str:
    return "-" if baseline is None else show(baseline)


def _cpu_ms(b: dict[str, float]) -> str:
    return f"{1000 * b['cpu_seconds'] / b['messages']:.2f} ms"


def _mb(kb: float) -> str:
    return f"{kb / 1024:.0f} MB"


def _sink_ms(ceiling: Ceiling) -> str:
    return f"{1000 * ceiling.sink_cpu_seconds / max(ceiling.messages, 1):.3f}"


ARTICLE_BODY = "\n\n".join(
    [
        "The newsroom has spent a decade chasing the feed. This essay argues for a slower "
        "rhythm: fewer pieces, each one [sourced](https://example.org/sources) and edited.",
        "## What the numbers say",
        *[
            f"Paragraph {i}: readers who receive a *weekly* digest open it more often than a "
            f"daily one, and they click through to the **long** pieces. See the "
            f"[study {i}](https://example.org/study/{i}) for the method and its limits."
            for i in range(1, 9)
        ],
        "> Slow news is not late news. It is news that has been checked.",
        "## A checklist for editors",
        "\n".join(f"- Item {i}: one claim, one source, one sentence of context." for i in range(8)),
        "## Closing",
        *[
            f"Closing paragraph {i}, with `inline code`, an [anchor](https://example.org/{i}) "
            "and enough words to make the message the size of a real issue of a newsletter."
            for i in range(1, 6)
        ],
    ]
)
ARTICLE = {
    "title": "The Case for Slower News",
    "dek": "Why a weekly rhythm beats the endless feed.",
    "author": "Ada Columnist",
    "body_markdown": ARTICLE_BODY,
    "url": "https://gazette.example.test/2026/slower-news",
}


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted; everything was stopped and removed", file=sys.stderr)
        sys.exit(130)
