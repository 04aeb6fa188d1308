"""Where the worker's CPU goes, by sampling: py-spy records every process of the worker's tree
while a benchmark sends, and each sample is put in one part of the send: the first part in
PARTS that any of its frames belongs to (a Redis call made by the throttle is throttle
booking; one made by kombu's polling is Redis).

py-spy reads the processes from outside (ptrace), so the worker runs unchanged; it needs root or
`kernel.yama.ptrace_scope=0`. Idle samples (waiting on a socket or a lock) are not recorded,
so the shares are of the CPU the worker used.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

# (part, path fragments of its frames), most specific first. Paths are as py-spy prints them.
PARTS: list[tuple[str, tuple[str, ...]]] = [
    ("throttle booking", ("worker/throttle.py", "worker/rates.py", "worker/pacing.py")),
    # Before the SMTP client: the ledger's write runs inside `transmit` (its `meanwhile`).
    ("ledger statements", ("sqlalchemy/", "psycopg/", "psycopg_pool/", "services/ledger.py",
                           "services/claims.py", "services/holds.py", "broadsheet/direct_sql.py")),
    ("SMTP client", ("smtplib.py", "worker/smtp.py", "/ssl.py")),
    ("message per reader", ("broadsheet/mail/compose.py", "broadsheet/mail/skeleton.py",
                            "broadsheet/mail/dkim.py", "broadsheet/signing.py",
                            "/email/", "dkim/")),
    ("campaign rendering", ("premailer/", "jinja2/", "broadsheet/mail/rendering.py",
                            "broadsheet/markdown.py", "broadsheet/mail/plaintext.py")),
    ("Redis (broker, other)", ("redis/",)),
    ("batch loop", ("worker/batch.py", "worker/sending.py")),
    ("Celery and kombu", ("celery/", "kombu/", "billiard/", "vine/")),
]  # fmt: skip


@dataclass
class Profile:
    samples: int
    parts: Counter[str]

    def lines(self) -> list[str]:
        if not self.samples:
            return ["profile: no samples (is py-spy allowed to attach?)"]
        out = [f"profile of the worker (py-spy, {self.samples:,} samples on CPU):"]
        for part, count in self.parts.most_common():
            out.append(f"  {part:<22} {100 * count / self.samples:5.1f}%")
        return out


class WorkerProfile:
    """`with WorkerProfile(pid, path) as profile:` samples the tree of `pid` until the block
    ends; `profile.result()` then sorts the samples into PARTS."""

    def __init__(self, pid: int, path: Path, rate: int = 250) -> None:
        self.pid, self.path, self.rate = pid, path, rate
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> WorkerProfile:
        spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
        self._process = subprocess.Popen(
            [spy, "record", "--pid", str(self.pid), "--subprocesses", "--format", "raw",
             "--rate", str(self.rate), "--nonblocking", "--output", str(self.path)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )  # fmt: skip
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._process is not None
        self._process.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
        try:
            self._process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self._process.kill()

    def result(self) -> Profile:
        if not self.path.exists():
            return Profile(0, Counter())
        return summarize(self.path.read_text().splitlines())


def summarize(lines: list[str]) -> Profile:
    """Sort py-spy's raw (collapsed) stacks, "frame;frame;...;frame count", into PARTS."""
    parts: Counter[str] = Counter()
    total = 0
    for line in lines:
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        total += int(count)
        parts[part_of(stack.split(";"))] += int(count)
    return Profile(total, parts)


def part_of(frames: list[str]) -> str:
    for part, fragments in PARTS:
        if any(fragment in frame for frame in frames for fragment in fragments):
            return part
    return "other"
