"""Scale benchmark: a campaign through real workers into Postfix's smtp-sink, beside the sink's
ceiling measured in the same run by Postfix's smtp-source with the same message.

The setup of the issue's "speed at scale" targets: a fresh PostgreSQL database (dropped
afterwards), one database number of a Redis server (flushed before and after), one Celery
worker with `--concurrency` pool processes, and `smtp-sink` on loopback (Debian's `postfix`
package, installed with apt-get if missing). It prints:
  * messages/s end to end (enqueue of start_campaign until the campaign is `sent`), the
    ceiling, and their ratio;
  * CPU per message, split between the worker processes, PostgreSQL (every `postgres`
    process), Redis, the sink, this script, and whatever else ran on the machine;
  * the worker's peak RSS (VmHWM of the main process and each pool child);
  * checks: the sink got exactly one message per reader, and the ledger says all were sent.
`--stop-after N` stops the worker (a warm shutdown) once N messages are sent: for the memory
of a 1,000,000-reader campaign without sending all of it. The checks then compare the sink
with the ledger's `sent` count instead.

The readers are sent to straight after they were added, as a new install, an import or a
burst of signups meets it: no ANALYZE, and autovacuum off for `subscribers` so none comes
between (`--analyze` runs VACUUM ANALYZE first, the friendly case). `--load api` adds them
through `POST /api/v1/subscribers` on `broadsheet web` instead of COPY (slower to set up: a few
hundred a second).
"""

from __future__ import annotations

import argparse
import shutil
import socket
import sys
import time
from contextlib import nullcontext
from pathlib import Path

from _profile import Profile, WorkerProfile
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from broadsheet.db import make_engine, make_session_factory
from broadsheet.models import Campaign, Delivery, DeliveryStatus
from broadsheet.services import api_tokens, articles, campaigns

import _proc
from _postfix import PostfixSink, SourceCeiling, ensure_installed, measure_source_ceiling
from _readers import load_readers, post_readers
from _stack import Process, Stack, code_line, free_port, machine_line
from send import ARTICLE, sample_message

DEFAULT_DATABASE = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS = "redis://127.0.0.1:6379/14"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--readers", type=int, default=50_000, help="active readers")
    parser.add_argument("--concurrency", type=int, default=4, help="celery pool processes")
    parser.add_argument("--batch-size", type=int, default=100, help="BATCH_SIZE")
    parser.add_argument(
        "--tracking",
        choices=("on", "off"),
        default="on",
        help="the campaign's open and click tracking (a pixel and wrapped links in each "
        "message); compare on and off in alternating runs of one session",
    )
    parser.add_argument("--database-url", default=DEFAULT_DATABASE, help="PostgreSQL server")
    parser.add_argument("--redis-url", default=DEFAULT_REDIS, help="flushed before and after")
    parser.add_argument(
        "--ceiling-messages", type=int, default=40_000, help="smtp-source messages (0: skip)"
    )
    parser.add_argument("--ceiling-sessions", type=int, default=4, help="smtp-source -s")
    parser.add_argument("--stop-after", type=int, help="stop once this many messages are sent")
    parser.add_argument("--dump-dir", default="/dev/shm", help="where smtp-sink dumps mail")
    parser.add_argument("--timeout", type=float, default=3600, help="give up after this long")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="sample the worker with py-spy and split its CPU by part (slows the send: "
        "use the figures of a run without it for throughput)",
    )
    parser.add_argument("--profile-raw", type=Path, help="keep py-spy's raw samples here")
    parser.add_argument(
        "--load", choices=["copy", "api"], default="copy", help="how the readers are added"
    )
    parser.add_argument(
        "--analyze", action="store_true", help="VACUUM ANALYZE the readers before the send"
    )
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    print("== Broadsheet scale benchmark ==")
    print(machine_line())
    print(code_line())
    print(f"setup: {ensure_installed()}")
    sink = PostfixSink(dump_dir=args.dump_dir)
    with Stack(
        database_url=args.database_url,
        send_rate=100_000,
        batch_size=args.batch_size,
        redis_url=args.redis_url,
        sink=sink,
    ) as stack:
        print(
            f"config: readers {args.readers:,}, celery --concurrency {args.concurrency}, "
            f"BATCH_SIZE {args.batch_size}, tracking {args.tracking}, SEND_RATE 100000/s, "
            "PostgreSQL "
            f"({args.database_url}), Redis {args.redis_url}, smtp-sink on {sink.url} "
            f"(dump in {args.dump_dir})"
        )
        engine = make_engine(stack.database.url)
        try:
            return run(args, stack, sink, engine)
        finally:
            engine.dispose()


def run(
    args: argparse.Namespace, stack: Stack[PostfixSink], sink: PostfixSink, engine: Engine
) -> int:
    sessions = make_session_factory(engine)
    add_readers(args, stack, engine, sessions)
    with sessions.begin() as session:
        article = articles.create_article(session, **ARTICLE)
        tracking = args.tracking == "on"
        campaign_id = campaigns.create_campaign(session, article.id, tracking=tracking).id

    ceiling = None
    if args.ceiling_messages > 0:
        sample = sample_message(sessions, campaign_id)
        ceiling = measure_source_ceiling(
            sink, sample, sessions=args.ceiling_sessions, messages=args.ceiling_messages
        )
        sink.reset()
        print(
            f"ceiling: smtp-source -s {ceiling.sessions} -d, {ceiling.messages:,} messages of "
            f"{len(sample) / 1024:.1f} kB in {ceiling.seconds:.2f} s = {ceiling.rate:,.0f} "
            f"msg/s; smtp-sink CPU {1000 * ceiling.sink_cpu_seconds / ceiling.messages:.3f} ms/msg"
        )

    worker = stack.start_worker(args.concurrency)
    with sessions.begin() as session:
        campaigns.start_send(session, campaign_id)
    cpu = CpuMeter(stack, sink, worker)
    profile = WorkerProfile(worker.pid, stack.workdir / "worker.pyspy") if args.profile else None
    with _proc.TreeSampler(worker.pid, interval=0.5) as sampler, profile or nullcontext():
        send = send_campaign(worker, engine, campaign_id, args.stop_after, args.timeout)
        split = cpu.split()
    worker.stop()
    if send is None:
        return 1
    report(args, ceiling, send, split, sampler.memory, worker.pid)
    if profile is not None:
        report_profile(profile.result(), split["worker"], int(send["messages"]))
        if args.profile_raw and profile.path.exists():
            shutil.copyfile(profile.path, args.profile_raw)
    checks = verify(sink, sessions, campaign_id, args.readers, args.stop_after is not None)
    for ok, line in checks:
        print(f"{'OK  ' if ok else 'FAIL'} {line}")
    return 0 if all(ok for ok, _ in checks) else 1


def add_readers(
    args: argparse.Namespace,
    stack: Stack[PostfixSink],
    engine: Engine,
    sessions: sessionmaker[Session],
) -> None:
    """The readers, added by COPY or the API, then analyzed only if `--analyze` says so."""
    with engine.begin() as conn:  # no statistics appear behind the measurement's back
        conn.execute(text("ALTER TABLE subscribers SET (autovacuum_enabled = false)"))
    started = time.perf_counter()
    if args.load == "copy":
        load_readers(engine, args.readers, analyze=False)
    else:
        with sessions.begin() as session:
            token = api_tokens.create_token(session, "bench")[1]
        port = free_port()
        web = stack.start_web(port, workers=2)
        _wait_for_web(web, port)
        rate = post_readers(f"http://127.0.0.1:{port}", token, args.readers)
        web.stop()
        print(f"setup: POST /api/v1/subscribers at {rate:,.0f} readers/s")
    took = time.perf_counter() - started
    print(f"setup: {args.readers:,} readers added ({args.load}) in {took:.2f} s")
    if args.analyze:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE subscribers"))
    print(f"setup: readers {'analyzed' if args.analyze else 'not analyzed (as just added)'}")


def _wait_for_web(web: Process, port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5):
                return
        except OSError:
            if not web.alive() or time.monotonic() > deadline:
                raise RuntimeError(f"broadsheet web did not come up:\n{web.tail()}") from None
            time.sleep(0.1)


class CpuMeter:
    """CPU seconds used since it was made, per part of the system, and by the machine."""

    def __init__(self, stack: Stack[PostfixSink], sink: PostfixSink, worker: Process) -> None:
        self.parts = {
            "worker": lambda: _proc.tree_cpu_seconds(worker.pid),
            "postgres": _postgres_cpu,
            "redis": lambda: _proc.cpu_seconds(stack.redis_pid) or 0.0,
            "smtp-sink": lambda: _proc.cpu_seconds(sink.pid) or 0.0,
            "this script": time.process_time,
        }
        self.before = {name: read() for name, read in self.parts.items()}
        self.machine_before = _proc.machine_busy_seconds()

    def split(self) -> dict[str, float]:
        used = {name: read() - self.before[name] for name, read in self.parts.items()}
        machine = _proc.machine_busy_seconds() - self.machine_before
        used["everything else"] = max(0.0, machine - sum(used.values()))
        return used


def _postgres_cpu() -> float:
    """Every process named postgres: backends, WAL writer, checkpointer and the rest."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    total += _proc.cpu_seconds(int(entry.name)) or 0.0
            except OSError:
                continue
    return total


def send_campaign(
    worker: Process, engine: Engine, campaign_id: int, stop_after: int | None, timeout: float
) -> dict[str, float] | None:
    """Enqueue start_campaign as the API does; wait for `sent` (or `stop_after` messages)."""
    from worker.tasks import start_campaign  # configures Celery from the stack's environment

    status_query = select(Campaign.status, Campaign.planned_at).where(Campaign.id == campaign_id)
    sent_query = select(func.count()).where(
        Delivery.campaign_id == campaign_id, Delivery.status == DeliveryStatus.SENT
    )
    started = time.perf_counter()
    start_campaign.delay(campaign_id)
    planned_s = None
    while True:
        time.sleep(0.1 if stop_after is None else 1.0)
        with engine.connect() as conn:
            status, planned_at = conn.execute(status_query).one()
            enough = stop_after is not None and conn.execute(sent_query).scalar_one() >= stop_after
        elapsed = time.perf_counter() - started
        if planned_s is None and planned_at is not None:
            planned_s = elapsed
        if status == "sent" or enough:
            break
        if elapsed > timeout or not worker.alive():
            print(f"FAILED: campaign still {status} after {elapsed:.0f} s; worker log tail:")
            print(worker.tail())
            return None
    with engine.connect() as conn:
        sent = conn.execute(sent_query).scalar_one()
    return {"messages": sent, "seconds": elapsed, "planned_s": planned_s or float("nan")}


def report(
    args: argparse.Namespace,
    ceiling: SourceCeiling | None,
    send: dict[str, float],
    split: dict[str, float],
    memory: _proc.TreeMemory,
    main_pid: int,
) -> None:
    n, seconds = send["messages"], send["seconds"]
    rate = n / seconds
    print()
    what = f"{n:,} messages" + (" (stopped early)" if args.stop_after else "")
    print(
        f"Broadsheet: {what} in {seconds:.2f} s = {rate:,.0f} msg/s end to end "
        f"(planned +{send['planned_s']:.2f} s after enqueue)"
    )
    if ceiling is not None:
        print(
            f"ceiling:    {ceiling.rate:,.0f} msg/s (smtp-source -> smtp-sink, same message); "
            f"Broadsheet reaches {100 * rate / ceiling.rate:.1f}% of it"
        )
    total = sum(split.values())
    print(f"CPU per message: {1000 * total / n:.3f} ms over the whole machine; split:")
    for name, used in split.items():
        print(
            f"  {name:<16} {1000 * used / n:7.3f} ms/msg  {100 * used / total:5.1f}%  "
            f"({used / seconds:.2f} cores)"
        )
    children = {pid: kb for pid, kb in memory.hwm_kb.items() if pid != main_pid}
    print(
        f"worker peak RSS (VmHWM): main {memory.hwm_kb.get(main_pid, 0) / 1024:.0f} MB, "
        f"pool children max {max(children.values(), default=0) / 1024:.0f} MB "
        f"({', '.join(f'{kb / 1024:.0f}' for kb in sorted(children.values()))} MB), "
        f"sum {memory.peak_sum_kb / 1024:.0f} MB"
    )


def report_profile(profile: Profile, worker_seconds: float, messages: int) -> None:
    """The worker's CPU per message, split by part of the send from py-spy's samples."""
    lines = profile.lines()
    print(lines[0])
    per_message = 1000 * worker_seconds / messages
    for line, (_, count) in zip(lines[1:], profile.parts.most_common(), strict=True):
        print(f"{line}  {per_message * count / profile.samples:6.3f} ms/msg")
    print("(py-spy stops the worker to sample it: this run's msg/s is lower than without it)")


def verify(
    sink: PostfixSink,
    sessions: sessionmaker[Session],
    campaign_id: int,
    readers: int,
    stopped: bool,
) -> list[tuple[bool, str]]:
    """Stopped early, the worker's last messages may have reached the sink with their rows
    still in flight (`sending` with an attempt begun): at most one per connection, which the
    tick would report `unknown`. So then the sink may exceed `sent` by the rows in flight."""
    got = sink.counts(campaign_id)
    with sessions.begin() as session:
        counts = campaigns.delivery_counts(session, campaign_id)
        in_flight = session.execute(
            select(func.count()).where(
                Delivery.campaign_id == campaign_id,
                Delivery.status == DeliveryStatus.SENDING,
                Delivery.attempted_at.is_not(None),
            )
        ).scalar_one()
    if stopped:
        low, high = counts["sent"], counts["sent"] + in_flight
    else:
        low = high = readers
    distinct = got.messages == got.campaign == got.readers
    return [
        (
            distinct and low <= got.messages <= high and got.repeated == 0,
            f"sink: {got.messages:,} messages, {got.campaign:,} of this campaign, to "
            f"{got.readers:,} distinct readers, {got.repeated:,} readers twice (expected "
            f"{low:,}"
            + (f" to {high:,} (sent + {in_flight} in flight)" if stopped else "")
            + " each, and 0 twice)",
        ),
        (
            counts["total"] == readers
            and counts["failed"] == counts["unknown"] == 0
            and (stopped or counts["sent"] == readers),
            f"ledger: sent {counts['sent']:,}, failed {counts['failed']:,}, queued "
            f"{counts['queued']:,}, sending {counts['sending']:,} ({in_flight} in flight), "
            f"unknown {counts['unknown']:,}, total {counts['total']:,}"
            + f" (expected total {readers:,}, none failed or unknown"
            + (")" if stopped else ", all sent)"),
        ),
    ]


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted; everything was stopped and removed", file=sys.stderr)
        sys.exit(130)
