"""Signup benchmark: full reader signups against `broadsheet web` (gunicorn) at a fixed rate.

Starts, on temp services (bundled Redis, SQLite or PostgreSQL, an SMTP sink): a Celery worker
that mails the confirmations, and for each gunicorn worker count asked for, a fresh
`broadsheet web --workers W`. Each trial warms up, then drives signups open loop at `--rate`
per second for `--seconds`: each signup one POST of the form with a new address, on a new
connection, the form (CSRF token and session cookie) fetched and parsed once per client
session (`--sessions`; 0 fetches it for every signup, GET and POST both timed).

How to read it: latency "signup" is from the scheduled start of a signup to the answer to its
POST (so queueing in this driver counts against the server, as it would for a reader); "POST"
is the form submission alone. "mail" is from the answer to the confirmation's arrival at the
SMTP sink, per reader; every confirmation must arrive once, within 30 s. Non-2xx answers
are counted by status; any 5xx is a failure.
"CPU" shows where the machine's cores went during the measured window (cores busy on average),
including processes outside this benchmark ("others", which also holds a PostgreSQL server's
work when one is used), since they skew the figures. The target is p99 <= 50 ms at 200
signups/s with no 5xx; the summary says whether each trial met it. Near saturation the p99
swings from run to run: repeat a run before trusting one figure.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import sys
import time
from dataclasses import dataclass

from sqlalchemy import create_engine, func, select

from broadsheet.models import Subscriber

import _proc
from _driver import Load, drive, percentile
from _sink import SmtpSink
from _stack import Process, Stack, code_line, free_port, machine_line

TARGET_P99 = 0.050
TARGET_RATE = 200
TARGET_MAIL = 30.0  # seconds from a signup to its confirmation at the relay


@dataclass
class Trial:
    workers: int
    load: Load
    in_db: int  # subscribers the trial's addresses left in the database
    confirmations: int  # confirmation mails the sink received for them
    drained_after: float  # seconds after the load until the last confirmation arrived
    cpu: dict[str, float]  # cores busy on average, by component
    mail: list[float]  # per completed signup with its mail: answer -> mail at the sink (s)
    missing: int  # completed signups whose confirmation never arrived
    duplicates: int  # readers who got more than one confirmation


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=TARGET_RATE, help="signups per second")
    parser.add_argument("--seconds", type=float, default=20, help="length of each trial")
    parser.add_argument(
        "--workers",
        default=str(os.cpu_count() or 1),
        help="gunicorn worker counts to try, comma-separated, e.g. 2,3,4 (one trial each); "
        "default: one per core, as `broadsheet web`",
    )
    parser.add_argument(
        "--threads", type=int, default=4, help="threads per gunicorn worker (as `broadsheet web`)"
    )
    parser.add_argument(
        "--worker-concurrency",
        type=int,
        default=1,
        help="celery pool processes mailing confirmations; 0 runs no worker, to measure the "
        "web alone (confirmations then stay queued in Redis)",
    )
    parser.add_argument(
        "--send-rate", type=float, default=100_000, help="SEND_RATE, high so mail never waits"
    )
    parser.add_argument(
        "--sessions",
        type=int,
        default=64,
        help="client sessions, each fetching the form once; 0: fetch it for every signup",
    )
    parser.add_argument("--warmup", type=float, default=3, help="seconds of load before each trial")
    parser.add_argument("--in-flight", type=int, default=512, help="most signups open at once")
    parser.add_argument("--timeout", type=float, default=10, help="per signup, in seconds")
    parser.add_argument(
        "--database-url",
        help="a PostgreSQL server URL; a fresh database is made on it and dropped afterwards "
        "(default: SQLite in the temp folder)",
    )
    args = parser.parse_args()
    args.workers = [int(w) for w in args.workers.split(",")]
    return args


def main() -> int:
    args = parse_args()
    print("== Broadsheet signup benchmark ==")
    print(machine_line())
    print(code_line())
    with Stack(
        database_url=args.database_url, send_rate=args.send_rate, batch_size=100, sink=SmtpSink()
    ) as stack:
        print(
            f"config: {args.rate:g} signups/s for {args.seconds:g} s (+{args.warmup:g} s warm-up)"
            f", gunicorn workers {','.join(map(str, args.workers))} x {args.threads} threads, "
            "celery --concurrency "
            f"{args.worker_concurrency}, SEND_RATE {args.send_rate:g}/s, "
            f"database {stack.database.label}, at most {args.in_flight} signups in flight"
        )
        if os.environ.get("GUNICORN_CMD_ARGS"):
            print(f"GUNICORN_CMD_ARGS={os.environ['GUNICORN_CMD_ARGS']!r} (from the environment)")
        worker = stack.start_worker(args.worker_concurrency) if args.worker_concurrency else None
        trials = []
        for number, workers in enumerate(args.workers, 1):
            trial = run_trial(stack, worker, workers, f"t{number}w{workers}", args)
            print_trial(trial)
            trials.append(trial)
        engine = create_engine(stack.database.url)
        try:
            with engine.connect() as conn:
                total = conn.execute(select(func.count()).select_from(Subscriber)).scalar_one()
        finally:
            engine.dispose()
    summarise(args, trials, total)
    return 0


def run_trial(
    stack: Stack[SmtpSink],
    worker: Process | None,
    workers: int,
    name: str,
    args: argparse.Namespace,
) -> Trial:
    """One gunicorn worker count: start the web, warm up, measure, wait for the mail, stop."""
    port = free_port()
    web = stack.start_web(port, workers, args.threads)
    try:
        _wait_for_web(web, port)
        if args.warmup > 0:
            _run(port, args.rate, args.warmup, f"{name}warm", args)
            if worker is not None:
                _wait_for_confirmations(stack, None, timeout=120)
        stack.sink.reset()
        trees = {"web": web.pid, "redis": stack.redis_pid}
        if worker is not None:
            trees["worker"] = worker.pid
        singles = {"sink": stack.sink.pid}
        before = _cpu(trees, singles)
        load = _run(port, args.rate, args.seconds, name, args)
        after = _cpu(trees, singles)
        ended = time.monotonic()
        completed = len(load.completed)
        confirmations, drained = 0, float("nan")
        if worker is not None:
            confirmations = _wait_for_confirmations(stack, completed, timeout=120)
            drained = time.monotonic() - ended
        arrivals = stack.sink.arrivals()
    finally:
        web.stop()
    cpu = {k: (after[k] - before[k]) / load.elapsed for k in before}
    mail, missing = [], 0
    for signup in load.completed:
        seen = arrivals.get(signup.email)
        if seen is None:
            missing += 1
        else:
            mail.append(seen[1] - signup.answered)
    duplicates = sum(1 for copies, _ in arrivals.values() if copies > 1)
    in_db = _count(stack, f"{name}-")
    return Trial(workers, load, in_db, confirmations, drained, cpu, mail, missing, duplicates)


def _run(port: int, rate: float, seconds: float, prefix: str, args: argparse.Namespace) -> Load:
    return asyncio.run(
        drive(
            "127.0.0.1",
            port,
            rate=rate,
            seconds=seconds,
            prefix=prefix,
            in_flight=args.in_flight,
            timeout=args.timeout,
            sessions=args.sessions,
        )
    )


def _cpu(trees: dict[str, int], singles: dict[str, int]) -> dict[str, float]:
    """CPU seconds so far, per component, for the machine and for everything else."""
    used = {name: _proc.tree_cpu_seconds(pid) for name, pid in trees.items()}
    used.update({name: _proc.cpu_seconds(pid) or 0.0 for name, pid in singles.items()})
    used["driver"] = time.process_time()
    used["machine"] = _proc.machine_busy_seconds()
    used["others"] = used["machine"] - sum(v for k, v in used.items() if k != "machine")
    return used


def _wait_for_confirmations(stack: Stack[SmtpSink], expected: int | None, timeout: float) -> int:
    """Until the sink has `expected` confirmations, or (None) until the mail stops coming."""
    deadline = time.monotonic() + timeout
    last, quiet_since = -1, time.monotonic()
    while time.monotonic() < deadline:
        got: int = stack.sink.stats()["other"]
        if expected is not None and got >= expected:
            return got
        if got != last:
            last, quiet_since = got, time.monotonic()
        elif expected is None and time.monotonic() - quiet_since > 1.0:
            return got
        time.sleep(0.1)
    got = stack.sink.stats()["other"]
    return got


def _count(stack: Stack[SmtpSink], prefix: str) -> int:
    engine = create_engine(stack.database.url)
    try:
        with engine.connect() as conn:
            query = select(func.count()).where(Subscriber.email_key.like(f"{prefix}%"))
            return conn.scalar(query) or 0
    finally:
        engine.dispose()


def _wait_for_web(web: Process, port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    request = b"GET /subscribe HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n"
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                sock.sendall(request)
                if sock.recv(64).startswith(b"HTTP/1.1 200"):
                    return
        except OSError:
            pass
        if not web.alive() or time.monotonic() > deadline:
            raise RuntimeError(f"broadsheet web did not come up:\n{web.tail()}")
        time.sleep(0.1)


def _ms(seconds: float) -> str:
    return f"{1000 * seconds:7.1f}"


def print_trial(trial: Trial) -> None:
    load = trial.load
    done = load.completed
    totals = [s.total for s in done if s.total is not None]
    posts = [s.post for s in done if s.post is not None]
    lags = [s.lag for s in load.signups]
    print(f"\n-- gunicorn --workers {trial.workers} --")
    print(
        f"signups: {len(load.signups):,} attempted, {len(done):,} completed, "
        f"achieved {len(done) / load.elapsed:,.1f}/s (asked {load.rate:g}/s)"
    )
    print("latency ms      p50     p90     p99     max")
    for label, values in (("signup ", totals), ("POST   ", posts)):
        figures = [percentile(values, q) for q in (50, 90, 99, 100)]
        print(f"  {label}   {' '.join(_ms(v) for v in figures)}")
    print(f"  driver lag p99 {_ms(percentile(lags, 99)).strip()} ms (included in 'signup')")
    failures = load.failures()
    fives = sum(n for what, n in failures.items() if what.split()[-1].startswith("5"))
    shown = ", ".join(f"{what}: {n}" for what, n in sorted(failures.items())) or "none"
    print(f"non-2xx and errors: {shown}; 5xx: {fives}")
    print(
        f"database: {trial.in_db:,} subscribers from this trial; confirmations mailed "
        f"{trial.confirmations:,}/{len(done):,}, the last {trial.drained_after:.1f} s after the "
        "load ended"
    )
    if trial.mail:
        figures = [percentile(trial.mail, q) for q in (50, 90, 99, 100)]
        print(f"  mail s      {' '.join(f'{v:7.2f}' for v in figures)}  (answer -> at the sink)")
    print(f"confirmations missing: {trial.missing}; readers mailed twice: {trial.duplicates}")
    cpu = trial.cpu
    parts = [k for k in ("web", "worker", "redis", "sink", "driver", "others") if k in cpu]
    print("CPU (cores): " + ", ".join(f"{k} {cpu[k]:.2f}" for k in parts))


def summarise(args: argparse.Namespace, trials: list[Trial], total: int) -> None:
    print("\n== summary ==")
    print(f"subscribers in the database at the end: {total:,} (all trials and warm-ups)")
    print("workers  completed  rate/s  signup p50  p99 ms  POST p99 ms  5xx  mail max s  target")
    best = None
    for trial in trials:
        totals = [s.total for s in trial.load.completed if s.total is not None]
        posts = [s.post for s in trial.load.completed if s.post is not None]
        p99 = percentile(totals, 99)
        fives = sum(n for w, n in trial.load.failures().items() if w.split()[-1].startswith("5"))
        mail_max = max(trial.mail, default=float("nan"))
        mailed_once = trial.missing == 0 and trial.duplicates == 0 and mail_max <= TARGET_MAIL
        met = (
            p99 <= TARGET_P99
            and fives == 0
            and args.rate >= TARGET_RATE
            and len(trial.load.completed) == len(trial.load.signups)
            and (mailed_once or args.worker_concurrency == 0)
        )
        print(
            f"{trial.workers:>7}  {len(trial.load.completed):>9,}  "
            f"{len(trial.load.completed) / trial.load.elapsed:>6.1f}  "
            f"{_ms(percentile(totals, 50))}  {_ms(p99)}  {_ms(percentile(posts, 99)):>11}  "
            f"{fives:>3}  {mail_max:>10.2f}  {'MET' if met else 'NOT MET'}"
        )
        if best is None or p99 < best[1]:
            best = (trial.workers, p99)
    if best is not None:
        print(f"best p99: --workers {best[0]} ({1000 * best[1]:.1f} ms)")
    print(
        f"target: p99 <= {1000 * TARGET_P99:.0f} ms at {TARGET_RATE} signups/s with no 5xx, "
        f"every signup completed and its confirmation at the relay once, within {TARGET_MAIL:g} s"
    )


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted; everything was stopped and removed", file=sys.stderr)
        sys.exit(130)
