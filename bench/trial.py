"""The operator trial: a campaign sent by two workers survives three `kill -9` of pool
processes and a Redis restart while the relay answers 10% of readers `451` (try again later)
twice before it takes their mail, and five addresses the relay refuses with 550 end bounced.

Everything goes through the product's own commands (`broadsheet db upgrade`, `create-token`,
`worker`, `beat`, `web`) and its HTTP API, on this machine's PostgreSQL, a Redis server of its
own on another port (so it can be restarted without touching the one CI uses), and a recording
relay (aiosmtpd) in this process. SEND_RATE=150 (about 14 s for 2,000 readers without
faults), RETRY_DELAYS=1,5,15,30 (a greylisting relay's pace) and otherwise the product's
defaults, as an operator would run it (`--env` overrides one setting). It prints a fault
timeline, the figures and what the worker logs said, and exits 1 if a reader got the mail
twice, a reader is missing without being `unknown`, a refused address did not end bounced,
or the send took longer than `--within` seconds (60) from started_at to finished_at.
It leaves nothing behind: processes stopped, Redis shut down, the database dropped, the folder
removed (unless --keep, which keeps the logs). Needs PostgreSQL on 127.0.0.1:5432 (user
postgres), `redis-server`, `redis-cli` and `ss` (iproute2).

    .venv/bin/python bench/trial.py [--readers 2000] [--send-rate 150] [--env NAME=VALUE]
                                    [--tempfail 0.1] [--tempfail-times 2] [--within 60]
                                    [--keep] [--no-redis-restart]
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
from _admin import api_call
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from _proc import descendants

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DB_NAME = "broadsheet_trial"
REDIS_PORT, WEB_PORT = 6390, 5091
BIN = Path(sys.executable).parent
# Fractions of the readers at which each fault is injected.
FAULTS = [(0.15, "kill", "w1"), (0.40, "kill", "w2"), (0.52, "redis", ""), (0.65, "kill", "w1")]
REJECT = "550 5.1.1 <{}>: Recipient address rejected: User unknown"
TEMPFAIL = "451 4.3.0 <{}>: Recipient address deferred: try again later"
MESSAGE_ID = re.compile(rb"^Message-ID:\s*(\S+)", re.IGNORECASE | re.MULTILINE)


class Relay:
    """Records every accepted message (recipient, Message-ID) in memory and in a file;
    refuses the `rejected` addresses at RCPT with a 550 5.1.1 "user unknown", and answers
    the `deferred` ones 451 (try again later) on their first `tempfail_times` attempts."""

    def __init__(
        self, log_path: Path, rejected: set[str], deferred: set[str], tempfail_times: int
    ) -> None:
        self.rejected, self.log = rejected, log_path.open("a", buffering=1)
        self.deferred, self.tempfail_times = deferred, tempfail_times
        self.received: list[tuple[str, str]] = []
        self.refused: list[str] = []
        self.tempfailed: Counter[str] = Counter()
        self.lock = threading.Lock()

    async def handle_EHLO(
        self, server: SMTP, session: Session, envelope: Envelope, hostname: str, lines: list[str]
    ) -> list[str]:
        session.host_name = hostname
        lines.insert(-1, "250-PIPELINING")  # as Postfix and most relays do
        return lines

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address.lower() in self.rejected:
            with self.lock:
                self.refused.append(address)
            return REJECT.format(address)
        if address.lower() in self.deferred:
            with self.lock:
                if self.tempfailed[address.lower()] < self.tempfail_times:
                    self.tempfailed[address.lower()] += 1
                    return TEMPFAIL.format(address)
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        found = MESSAGE_ID.search((envelope.original_content or b"").split(b"\r\n\r\n", 1)[0])
        message_id = found[1].decode() if found else "-"
        with self.lock:
            for rcpt in envelope.rcpt_tos:
                self.received.append((rcpt.lower(), message_id))
                self.log.write(f"{time.time():.3f} {rcpt} {message_id}\n")
        return "250 2.0.0 queued"

    def count(self) -> int:
        with self.lock:
            return len(self.received)


class Trial:
    def __init__(self, folder: Path, readers: int, send_rate: float) -> None:
        self.folder, self.readers = folder, readers
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.faults = list(FAULTS)
        self.timeline: list[str] = []
        self.t0 = time.monotonic()
        self.rejected = {f"nobody{i}@example.net" for i in range(1, 6)}
        self.env = {
            **os.environ,
            "DATABASE_URL": ADMIN_URL.rpartition("/")[0] + "/" + DB_NAME,
            "REDIS_URL": f"redis://127.0.0.1:{REDIS_PORT}/0",
            "SECRET_KEY": secrets.token_hex(32),
            "PUBLIC_URL": f"http://127.0.0.1:{WEB_PORT}",
            "MAIL_FROM": "The Trial Gazette <newsletter@trial.example.org>",
            "SEND_RATE": str(send_rate),
            "RETRY_DELAYS": "1,5,15,30",
            "BATCH_SIZE": "50",
            "BROADSHEET_INSTANCE": str(folder / "instance"),
        }

    def note(self, text: str) -> None:
        wall = time.strftime("%H:%M:%S")
        line = f"{wall} [{time.monotonic() - self.t0:6.1f}s] {text}"
        self.timeline.append(line)
        print(line, flush=True)

    # --- services -------------------------------------------------------------------------
    def start(self, name: str, *args: str) -> None:
        out = (self.folder / f"{name}.log").open("ab")
        self.procs[name] = subprocess.Popen(
            [str(BIN / "broadsheet"), *args],
            env=self.env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def redis(self, *args: str) -> str:
        done = subprocess.run(
            ["redis-cli", "-p", str(REDIS_PORT), *args], capture_output=True, text=True
        )
        return done.stdout.strip()

    def redis_start(self) -> None:
        subprocess.run(
            ["redis-server", "--port", str(REDIS_PORT), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--daemonize", "yes",
             "--logfile", str(self.folder / "redis.log")],
            check=True,
        )  # fmt: skip
        for _ in range(50):
            ping = subprocess.run(
                ["redis-cli", "-p", str(REDIS_PORT), "ping"], capture_output=True, text=True
            )
            if ping.stdout.strip() == "PONG":
                return
            time.sleep(0.1)
        raise SystemExit("redis-server did not start")

    def api(self, method: str, path: str, body: object = None) -> dict[str, Any]:
        return api_call(f"http://127.0.0.1:{WEB_PORT}", self.token, method, path, body)

    def cli(self, *args: str) -> str:
        done = subprocess.run(
            [str(BIN / "broadsheet"), *args], env=self.env, capture_output=True, text=True
        )
        if done.returncode:
            raise SystemExit(f"broadsheet {' '.join(args)} failed:\n{done.stderr}")
        return done.stdout

    # --- the trial ------------------------------------------------------------------------
    def set_up(self, relay_port: int) -> None:
        self.env["SMTP_URL"] = f"smtp://127.0.0.1:{relay_port}"
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {DB_NAME}")
        self.redis_start()
        self.note(self.cli("db", "upgrade").strip())
        self.token = self.cli("create-token", "trial").strip().splitlines()[-1]
        for name in ("w1", "w2"):
            self.start(name, "worker", "--concurrency", "2", "-n", f"{name}@%h")
        self.start("beat", "beat")
        self.start("web", "web", "--port", str(WEB_PORT), "--workers", "2")
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{WEB_PORT}/", timeout=1)
                break
            except (urllib.error.URLError, OSError):
                time.sleep(0.2)
        self.note("two workers (-c 2 each), beat and web started")

    @staticmethod
    def address(i: int) -> str:
        return f"reader{i:05d}@{('example.org', 'example.com', 'example.net')[i % 3]}"

    def load_readers(self) -> None:
        addresses = []
        for i in range(1, self.readers + 1):
            addresses.append((self.address(i), f"Reader {i}"))
            if i % (self.readers // 5) == 0:  # spread the bad addresses through the list
                addresses.append((f"nobody{i // (self.readers // 5)}@example.net", "Nobody"))

        def post(item: tuple[str, str]) -> None:
            self.api(
                "POST", "/subscribers", {"email": item[0], "name": item[1], "status": "active"}
            )

        with ThreadPoolExecutor(4) as pool:
            list(pool.map(post, addresses))
        self.note(f"{len(addresses)} active readers created with POST /api/v1/subscribers")

    def kill_pool_process(self, worker: str, relay_port: int) -> None:
        parent = self.procs[worker].pid
        children = descendants(parent)
        sending = [pid for pid in _relay_clients(relay_port) if pid in children]
        victim = (sending or children)[0]
        os.kill(victim, signal.SIGKILL)
        how = "holding a relay connection" if sending else "idle"
        self.note(f"kill -9 {victim}: pool process of {worker} (pid {parent}), {how}")

    def restart_redis(self) -> None:
        self.redis("shutdown", "nosave")
        self.note(f"redis-cli -p {REDIS_PORT} shutdown nosave")
        time.sleep(2)
        self.redis_start()
        self.note(f"redis-server --port {REDIS_PORT} started again (empty)")

    def send(self, relay: Relay, relay_port: int) -> dict[str, Any]:
        article = self.api("POST", "/articles", {"title": "Trial", "body_markdown": "Hello *all*."})
        campaign = self.api("POST", "/campaigns", {"article_id": article["id"]})
        self.campaign_id = campaign["id"]
        self.api("POST", f"/campaigns/{self.campaign_id}/send")
        self.note(f"POST /api/v1/campaigns/{self.campaign_id}/send")
        start, pending, last_poll = time.monotonic(), list(self.faults), 0.0
        while time.monotonic() - start < 900:
            count = relay.count()
            if pending and count >= pending[0][0] * self.readers:
                _, kind, worker = pending.pop(0)
                self.note(f"relay has {count} messages")
                if kind == "kill":
                    self.kill_pool_process(worker, relay_port)
                else:
                    self.restart_redis()
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    self.note(f"{name} exited ({proc.returncode}); starting it again")
                    self.restart(name)
            if time.monotonic() - last_poll > 5:
                last_poll = time.monotonic()
                state = self.api("GET", f"/campaigns/{self.campaign_id}")
                counts = {k: v for k, v in state["counts"].items() if v}
                depth = self.redis("llen", "broadsheet")
                self.note(f"relay {count}; tasks in Redis {depth}; {state['status']} {counts}")
                if state["status"] not in ("sending", "scheduled", "draft"):
                    return state
            time.sleep(0.2)
        raise SystemExit("the campaign did not finish within 15 minutes")

    def restart(self, name: str) -> None:
        args = {
            "beat": ("beat",),
            "web": ("web", "--port", str(WEB_PORT), "--workers", "2"),
        }.get(name, ("worker", "--concurrency", "2", "-n", f"{name}@%h"))
        self.start(name, *args)

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self.redis("shutdown", "nosave")
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")


def _relay_clients(port: int) -> list[int]:
    """Pids with an established connection to the relay's port (ss shows our own processes)."""
    out = subprocess.run(
        ["ss", "-Htnp", "state", "established", f"( dport = :{port} )"],
        capture_output=True,
        text=True,
    ).stdout
    return [int(pid) for pid in re.findall(r"pid=(\d+)", out)]


def verify(trial: Trial, relay: Relay, final: dict[str, Any], within: float) -> bool:
    """Print the figures; True when nobody got it twice, nobody is lost, every refused
    address ended bounced (delivery and reader), and the send took `within` seconds or less."""
    with psycopg.connect(trial.env["DATABASE_URL"]) as conn:
        rows = conn.execute(
            "SELECT s.email_key, s.status, d.status, d.attempts, d.last_error, d.relay_reply, d.id"
            " FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id"
            " WHERE d.campaign_id = %s",
            (trial.campaign_id,),
        ).fetchall()
    copies = Counter(rcpt for rcpt, _ in relay.received)
    ids_per_reader = {rcpt: {m for r, m in relay.received if r == rcpt} for rcpt in copies}
    ledger = {email: row for email, *row in rows}
    readers = set(ledger) - trial.rejected
    duplicates = sorted(r for r, n in copies.items() if n > 1)
    missing = sorted(r for r in readers if copies[r] == 0)
    unknown = sorted(r for r, row in ledger.items() if row[1] == "unknown")
    strangers = sorted(set(copies) - set(ledger))
    print("\n== figures")
    print(f"readers planned: {len(rows)} ({len(readers)} good + {len(trial.rejected)} refused)")
    print(f"final status: {final['status']}, counts: {final['counts']}")
    took = datetime.fromisoformat(final["finished_at"]) - datetime.fromisoformat(
        final["started_at"]
    )
    fast = took.total_seconds() <= within
    print(
        f"send took {took.total_seconds():.1f}s (started_at to finished_at; "
        f"target {within:g}s: {'met' if fast else 'MISSED'})"
    )
    print(f"relay: {len(relay.received)} messages accepted, {len(relay.refused)} RCPT refused")
    deferred_got = Counter(copies[r] for r in relay.deferred)
    print(
        f"answered 451: {len(relay.deferred)} readers, {sum(relay.tempfailed.values())} times; "
        f"copies they got: {dict(deferred_got)}"
    )
    print(f"duplicates: {len(duplicates)} {duplicates[:10]}")
    print(f"readers with two Message-IDs: {sum(len(v) > 1 for v in ids_per_reader.values())}")
    print(f"missing: {len(missing)} {missing}")
    print(f"unknown in the ledger: {len(unknown)}")
    for email in unknown:
        print(f"  {email}: delivered at the relay {copies[email]}x; {ledger[email]}")
    print(f"missing and not unknown (lost): {sorted(set(missing) - set(unknown))}")
    print(f"accepted for addresses not in the ledger: {strangers}")
    print("refused addresses (reader status, delivery status, reply):")
    for email in sorted(trial.rejected):
        row = ledger.get(email)
        print(f"  {email}: {row[0]}, {row[1]}, {row[4]!r}" if row else f"  {email}: no delivery")
    others = Counter(row[1] for email, row in ledger.items() if email in readers)
    print(f"good readers' delivery statuses: {dict(others)}")
    bounced = all(ledger.get(e, [None, None])[:2] == ["bounced", "bounced"] for e in trial.rejected)
    lost = set(missing) - set(unknown)
    return not duplicates and not lost and not strangers and bounced and fast


# What the logs say about the faults: lost pool processes, the broker going away, and every
# tick that settled a dead claim or re-enqueued a stalled campaign.
LOG_EVENTS = re.compile(
    r"WorkerLostError|Process .* exited|broker|Connection refused|Traceback|ERROR|CRITICAL"
    r"|expired|stopping|'unknown': [1-9]|'requeued': [1-9]|'overdue': [1-9]|'queued': [1-9]"
    r"|: planned"
)


def print_log_events(folder: Path) -> None:
    print("\n== log events")
    for name in ("w1", "w2", "beat"):
        path = folder / f"{name}.log"
        for line in path.read_text(errors="replace").splitlines():
            if LOG_EVENTS.search(line):
                print(f"{name}: {line[:300]}")


def wait_for_quiet_machine() -> None:
    pattern = "bench/scale.py|bench/plan.py|bench/send.py"
    while subprocess.run(["pgrep", "-f", pattern], capture_output=True).returncode == 0:
        print("a benchmark is running; waiting 30 s", flush=True)
        time.sleep(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--readers", type=int, default=2000)
    parser.add_argument("--keep", action="store_true", help="keep the logs folder")
    parser.add_argument("--no-redis-restart", action="store_true", help="only the three kills")
    parser.add_argument("--send-rate", type=float, default=150.0, help="SEND_RATE")
    parser.add_argument("--env", action="append", default=[], help="NAME=VALUE for every process")
    parser.add_argument(
        "--tempfail", type=float, default=0.1, help="share of readers the relay answers 451"
    )
    parser.add_argument(
        "--tempfail-times", type=int, default=2, help="451s each of them gets before success"
    )
    parser.add_argument("--within", type=float, default=60, help="target seconds for the send")
    args = parser.parse_args()
    wait_for_quiet_machine()
    folder = Path(tempfile.mkdtemp(prefix="broadsheet-trial-"))
    trial = Trial(folder, args.readers, args.send_rate)
    trial.env.update(item.split("=", 1) for item in args.env)
    if args.no_redis_restart:
        trial.faults = [fault for fault in FAULTS if fault[1] != "redis"]
    every = round(1 / args.tempfail) if args.tempfail else 0
    deferred = {trial.address(i) for i in range(1, args.readers + 1) if every and i % every == 0}
    relay = Relay(folder / "relay.log", trial.rejected, deferred, args.tempfail_times)
    port = _free_port()
    controller = Controller(relay, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        trial.set_up(port)
        trial.load_readers()
        final = trial.send(relay, port)
        time.sleep(3 * 5)  # a few more ticks: anything still arriving would show as a duplicate
        final = trial.api("GET", f"/campaigns/{trial.campaign_id}")
        passed = verify(trial, relay, final, args.within)
        print_log_events(folder)
    finally:
        trial.stop()
        controller.stop()
        relay.log.close()
        print(f"\nlogs in {folder}" if args.keep else "")
        if not args.keep:
            subprocess.run(["rm", "-rf", str(folder)], check=False)
    print("== timeline\n" + "\n".join(trial.timeline))
    print("PASSED" if passed else "FAILED")
    sys.exit(0 if passed else 1)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


if __name__ == "__main__":
    main()
