"""A fast SMTP sink for the benchmarks: accepts every message on loopback and only counts.

Run as its own process (`python bench/_sink.py`): it speaks just enough SMTP for smtplib
(EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT), looks at nothing but the envelope and the
`X-Broadsheet-Campaign` header, and answers `stats` / `reset` lines on its stdin with one JSON
line on its stdout. It exits when its stdin closes, so it cannot outlive the benchmark.
`SmtpSink` starts and queries it; `measure_ceiling` drives it with plain smtplib clients.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import re
import signal
import smtplib
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import _proc

_CAMPAIGN = re.compile(rb"\r\nX-Broadsheet-Campaign: *(\d+)", re.IGNORECASE)
_EHLO = b"250-bench-sink\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n"


class Counts:
    """What the sink has accepted: everything, and per campaign (messages, distinct readers)."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.messages = self.bytes = self.connections = self.other = 0
        self.campaigns: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        self.readers: dict[str, set[str]] = defaultdict(set)
        # Mail that is no campaign's (confirmations): per recipient, [copies, first arrival]
        # on time.monotonic(), which every process on the machine shares.
        self.arrivals: dict[str, list[float]] = {}

    def record(self, message: bytes, rcpts: list[str]) -> None:
        self.messages += 1
        self.bytes += len(message)
        head_end = message.find(b"\r\n\r\n")
        found = _CAMPAIGN.search(message, 0, head_end if head_end >= 0 else len(message))
        if found is None:
            self.other += 1
            now = time.monotonic()
            for rcpt in rcpts:
                seen = self.arrivals.setdefault(rcpt, [0, now])
                seen[0] += 1
            return
        campaign = found.group(1).decode()
        self.campaigns[campaign][0] += 1
        self.readers[campaign].update(rcpts)

    def as_json(self) -> str:
        campaigns = {
            key: {"messages": n, "recipients": len(self.readers[key])}
            for key, (n, _) in self.campaigns.items()
        }
        return json.dumps(
            {
                "messages": self.messages,
                "bytes": self.bytes,
                "connections": self.connections,
                "other": self.other,
                "other_duplicates": sum(1 for n, _ in self.arrivals.values() if n > 1),
                "campaigns": campaigns,
            }
        )


class SmtpSession(asyncio.Protocol):
    """One client connection; no pipelining needed, but pipelined commands would work."""

    def __init__(self, counts: Counts) -> None:
        self.counts = counts
        self.buffer = bytearray()
        self.rcpts: list[str] = []
        self.in_data = False
        self.scan_from = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.counts.connections += 1
        transport.write(b"220 bench-sink ESMTP\r\n")

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while not self.transport.is_closing():
            if self.in_data:
                if not self._end_of_data():
                    return
                continue
            end = self.buffer.find(b"\r\n")
            if end < 0:
                return
            line = bytes(self.buffer[:end])
            del self.buffer[: end + 2]
            self._command(line)

    def _end_of_data(self) -> bool:
        if self.buffer.startswith(b".\r\n"):  # an empty message
            end, message = 0, b""
            del self.buffer[:3]
        else:
            end = self.buffer.find(b"\r\n.\r\n", self.scan_from)
            if end < 0:
                self.scan_from = max(0, len(self.buffer) - 4)
                return False
            message = bytes(self.buffer[: end + 2])
            del self.buffer[: end + 5]
        self.counts.record(message, self.rcpts)
        self.in_data, self.rcpts, self.scan_from = False, [], 0
        self.transport.write(b"250 2.0.0 queued\r\n")
        return True

    def _command(self, line: bytes) -> None:
        verb = line[:4].upper()
        if verb == b"EHLO":
            self.transport.write(_EHLO)
        elif verb in (b"HELO", b"NOOP"):
            self.transport.write(b"250 OK\r\n")
        elif verb in (b"MAIL", b"RSET"):
            self.rcpts = []
            self.transport.write(b"250 OK\r\n")
        elif verb == b"RCPT":
            address = line.partition(b"<")[2].partition(b">")[0]
            self.rcpts.append(address.decode(errors="replace"))
            self.transport.write(b"250 OK\r\n")
        elif verb == b"DATA":
            if not self.rcpts:
                self.transport.write(b"503 no recipients\r\n")
                return
            self.in_data = True
            self.transport.write(b"354 go ahead\r\n")
        elif verb == b"QUIT":
            self.transport.write(b"221 bye\r\n")
            self.transport.close()
        else:
            self.transport.write(b"500 unknown command\r\n")


class _Control(asyncio.Protocol):
    """`stats`, `reset` and `arrivals` on stdin; end of stdin stops the sink."""

    def __init__(self, counts: Counts, done: asyncio.Future[None]) -> None:
        self.counts, self.done, self.buffer = counts, done, b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while b"\n" in self.buffer:
            line, self.buffer = self.buffer.split(b"\n", 1)
            if line.strip() == b"arrivals":
                sys.stdout.write(json.dumps(self.counts.arrivals) + "\n")
                sys.stdout.flush()
                continue
            if line.strip() == b"reset":
                self.counts.reset()
            sys.stdout.write(self.counts.as_json() + "\n")
            sys.stdout.flush()

    def eof_received(self) -> None:
        if not self.done.done():
            self.done.set_result(None)

    def connection_lost(self, _exc: Exception | None) -> None:
        self.eof_received()


async def _serve(host: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    counts = Counts()
    done: asyncio.Future[None] = loop.create_future()
    server = await loop.create_server(lambda: SmtpSession(counts), host, port, backlog=1024)
    await loop.connect_read_pipe(lambda: _Control(counts, done), sys.stdin)

    def finish() -> None:
        if not done.done():
            done.set_result(None)

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, finish)
    bound = server.sockets[0].getsockname()[1]
    sys.stdout.write(f"ready {bound}\n")
    sys.stdout.flush()
    await done
    server.close()


class SmtpSink:
    """The sink process, seen from the benchmark: start, query counts, stop."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = 0
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__)), "--host", self.host],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,  # Ctrl-C reaches the benchmark, which stops the sink
        )
        assert self.proc.stdout is not None
        ready = self.proc.stdout.readline().split()
        if len(ready) != 2 or ready[0] != "ready":
            raise RuntimeError(f"the SMTP sink did not start (said {ready!r})")
        self.port = int(ready[1])

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    def stats(self, command: str = "stats") -> dict[str, Any]:
        assert self.proc is not None and self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        answer: dict[str, Any] = json.loads(self.proc.stdout.readline())
        return answer

    def reset(self) -> dict[str, Any]:
        return self.stats("reset")

    def arrivals(self) -> dict[str, list[float]]:
        """Per recipient of mail that is no campaign's: [copies, first arrival (monotonic)]."""
        return self.stats("arrivals")

    def stop(self) -> None:
        if self.proc is None:
            return
        try:
            if self.proc.stdin:
                self.proc.stdin.close()
            self.proc.wait(5)
        except (subprocess.TimeoutExpired, BrokenPipeError):
            self.proc.kill()
            self.proc.wait(5)
        if self.proc.stdout:
            self.proc.stdout.close()
        self.proc = None


@dataclass(frozen=True)
class Ceiling:
    clients: int
    seconds: float
    messages: int
    sink_cpu_seconds: float

    @property
    def rate(self) -> float:
        return self.messages / self.seconds

    @property
    def cpu_bound_rate(self) -> float:
        """Messages per second the sink could take on one core if clients cost nothing."""
        return self.messages / self.sink_cpu_seconds if self.sink_cpu_seconds else float("inf")


def measure_ceiling(
    sink: SmtpSink, message: bytes, clients: int = 2, seconds: float = 3.0
) -> Ceiling:
    """Drive the sink with `clients` smtplib processes sending a ready-made message, 100 per
    connection like the worker, and measure what it takes. Resets the sink's counts after."""
    before = sink.stats()["messages"]
    cpu_before = _proc.cpu_seconds(sink.pid) or 0.0
    context = multiprocessing.get_context("spawn")
    started = time.monotonic()
    with context.Pool(clients, initializer=_proc.ignore_sigint) as pool:
        pool.starmap(_blast, [(sink.host, sink.port, message, seconds)] * clients)
    elapsed = time.monotonic() - started
    received = sink.stats()["messages"] - before
    cpu = (_proc.cpu_seconds(sink.pid) or 0.0) - cpu_before
    sink.reset()
    return Ceiling(clients, elapsed, received, cpu)


def _blast(host: str, port: int, message: bytes, seconds: float) -> int:
    sent = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        conn = smtplib.SMTP(host, port, timeout=30)
        conn.ehlo()
        for _ in range(100):
            conn.mail("bench@example.net")
            conn.rcpt("probe@example.net")
            conn.data(message)
            sent += 1
        conn.quit()
    return sent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    args = parser.parse_args()
    asyncio.run(_serve(args.host, args.port))


if __name__ == "__main__":
    main()
