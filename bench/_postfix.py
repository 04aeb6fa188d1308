"""Postfix's `smtp-sink` as the relay and `smtp-source` as its ceiling, for the scale benchmark.

Both ship in Debian's `postfix` package; `ensure_installed` installs it through apt-get when
they are missing, answering debconf with "No configuration" so no mail system is set up, and
stops the postfix daemon if the install started one (nothing of ours may hold port 25).

`PostfixSink` runs `smtp-sink -D dump-file` on a loopback port: every accepted message is
appended to a file on tmpfs, after `X-Rcpt-Args:` lines naming its recipients. Counting those
lines afterwards tells, per campaign, how many messages arrived and to how many distinct
readers: the same honest check the Python sink does, done after the clock stopped.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

SMTP_SINK = Path("/usr/sbin/smtp-sink")
SMTP_SOURCE = Path("/usr/sbin/smtp-source")
_SEPARATOR = "X-Client-Addr:"  # the first line smtp-sink writes for each message


def ensure_installed() -> str:
    """Install `postfix` if smtp-sink or smtp-source is missing; returns what was done."""
    if SMTP_SINK.exists() and SMTP_SOURCE.exists():
        return "postfix already installed"
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    preseed = "postfix postfix/main_mailer_type select No configuration\n"
    subprocess.run([*sudo, "debconf-set-selections"], input=preseed, text=True, check=True)
    done = subprocess.run(
        [*sudo, "apt-get", "install", "-y", "--no-install-recommends", "postfix"],
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"apt-get install postfix failed:\n{done.stdout[-2000:]}{done.stderr}")
    # "No configuration" leaves postfix unstarted, and policy-rc.d may forbid starting it too;
    # if something started it anyway, stop it.
    subprocess.run([*sudo, "postfix", "stop"], capture_output=True)
    return "installed postfix with apt-get (no configuration, daemon not running)"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class PostfixSink:
    """`smtp-sink` on 127.0.0.1, dumping what it accepts to a tmpfs file for the count."""

    def __init__(self, backlog: int = 256, dump_dir: str = "/dev/shm") -> None:
        self.backlog = backlog
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.folder = Path(tempfile.mkdtemp(prefix="bs-sink-", dir=dump_dir))
        self.dump = self.folder / "dump"

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> None:
        self.port = free_port()
        args = [str(SMTP_SINK), "-D", str(self.dump)]
        if os.geteuid() == 0:  # smtp-sink refuses to keep root privileges
            os.chmod(self.folder, 0o777)
            args += ["-u", "nobody"]
        args += [f"127.0.0.1:{self.port}", str(self.backlog)]
        self.proc = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"smtp-sink did not start: {self._stderr()}") from None
                time.sleep(0.05)

    def _stderr(self) -> str:
        assert self.proc is not None and self.proc.stderr is not None
        return self.proc.stderr.read().decode(errors="replace") if self.proc.poll() else ""

    def reset(self) -> None:
        """Forget what was dumped so far (smtp-sink opens the file for each message)."""
        self.dump.unlink(missing_ok=True)

    def counts(self, campaign_id: int) -> SinkCounts:
        """What the dump holds, counted with grep after the run (it may be gigabytes)."""
        if not self.dump.exists():
            return SinkCounts(0, 0, 0, 0)
        messages = _grep_count(f"^{_SEPARATOR}", self.dump)
        campaign = _grep_count(f"^X-Broadsheet-Campaign: {campaign_id}$", self.dump)
        # One "X-Rcpt-Args: <reader@...>" line per recipient per message, readers only.
        pipeline = (
            f"grep -a '^X-Rcpt-Args: *<reader' {self.dump} | sort -S 25% | uniq -c "
            "| awk '{n++; if ($1 > 1) d++} END {print n+0, d+0}'"
        )
        done = subprocess.run(
            ["sh", "-c", pipeline],
            env={"LC_ALL": "C", "PATH": os.environ["PATH"]},
            capture_output=True,
            text=True,
            check=True,
        )
        readers, repeated = (int(x) for x in done.stdout.split())
        return SinkCounts(messages, campaign, readers, repeated)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
            self.proc = None
        shutil.rmtree(self.folder, ignore_errors=True)


@dataclass(frozen=True)
class SinkCounts:
    messages: int  # every message dumped
    campaign: int  # of those, messages with the campaign's X-Broadsheet-Campaign header
    readers: int  # distinct reader addresses in RCPT commands
    repeated: int  # reader addresses that got more than one RCPT


def _grep_count(pattern: str, path: Path) -> int:
    done = subprocess.run(
        ["grep", "-a", "-c", pattern, str(path)], env={"LC_ALL": "C"}, capture_output=True
    )
    if done.returncode > 1:
        raise RuntimeError(f"grep failed on {path}: {done.stderr.decode(errors='replace')}")
    return int(done.stdout or 0)


@dataclass(frozen=True)
class SourceCeiling:
    sessions: int
    messages: int
    seconds: float
    sink_cpu_seconds: float

    @property
    def rate(self) -> float:
        return self.messages / self.seconds


def measure_source_ceiling(
    sink: PostfixSink, message: bytes, *, sessions: int, messages: int
) -> SourceCeiling:
    """`smtp-source` sending `message` (the campaign's size) to the sink, `sessions` parallel
    connections that each stay open (-d), like the worker's one connection per batch."""
    from _proc import cpu_seconds

    source_file = sink.folder / "message.eml"
    source_file.write_bytes(message.replace(b"\r\n", b"\n"))  # smtp-source adds the CRs
    args = [str(SMTP_SOURCE), "-d", "-s", str(sessions), "-m", str(messages)]
    args += ["-f", "bench@example.net", "-t", "probe@example.net", "-F", str(source_file)]
    args += [f"127.0.0.1:{sink.port}"]
    cpu_before = cpu_seconds(sink.pid) or 0.0
    started = time.perf_counter()
    subprocess.run(args, check=True, capture_output=True)
    elapsed = time.perf_counter() - started
    cpu = (cpu_seconds(sink.pid) or 0.0) - cpu_before
    return SourceCeiling(sessions, messages, elapsed, cpu)
