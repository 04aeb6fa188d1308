"""Real services for the tests: a database (SQLite or PostgreSQL), Redis, and a Celery worker."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import redis
from sqlalchemy import create_engine, make_url, text

from broadsheet.settings import PROJECT_ROOT
from cli.redis_server import redis_server_args
from worker.command import beat_command, worker_command

# A worker and beat that notice faults within seconds (fault tests): short leases and retries,
# a tick every second.
FAST_RECOVERY = {
    "CLAIM_LEASE": "4",
    "STALL_AFTER": "4",
    "TICK_SECONDS": "1",
    "RETRY_DELAYS": "1,1,2,2,3",
    "SMTP_TIMEOUT": "2",
    "BATCH_SIZE": "50",
}


def make_tempdir() -> Path:
    # Short, so a Unix socket path inside it stays under the kernel's limit.
    return Path(tempfile.mkdtemp(prefix="bs-"))


class TestDatabase:
    """A fresh database per test run: a SQLite file, or a new database on TEST_DATABASE_URL."""

    __test__ = False  # a helper, not a test class

    def __init__(self, workdir: Path) -> None:
        server = os.environ.get("TEST_DATABASE_URL")
        self._admin_url = None
        if server:
            base = make_url(server).set(drivername="postgresql+psycopg")
            name = f"broadsheet_test_{secrets.token_hex(4)}"
            self._admin_url, self._name = base, name
            self.url = base.set(database=name).render_as_string(hide_password=False)
        else:
            self.url = f"sqlite:///{workdir / 'test.db'}"

    @property
    def is_postgres(self) -> bool:
        return self._admin_url is not None

    def create(self) -> None:
        if self._admin_url is None:
            return
        engine = create_engine(self._admin_url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{self._name}"'))
        finally:
            engine.dispose()

    def drop(self) -> None:
        if self._admin_url is None:
            return
        engine = create_engine(self._admin_url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{self._name}" WITH (FORCE)'))
        finally:
            engine.dispose()


def xdist_worker() -> int:
    """Which of pytest-xdist's worker processes this is (gw0 is 0); 0 without xdist."""
    return int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw"))


def worker_redis_url(url: str) -> str:
    """TEST_REDIS_URL for this test process: under pytest-xdist each worker flushes and uses
    a database number of its own, counting down from the one given (15, 14, 13, ...)."""
    parts = urlsplit(url)
    given = int(parts.path.strip("/") or 0)
    return urlunsplit(parts._replace(path=f"/{(given - xdist_worker()) % 16}"))


class TestRedis:
    """TEST_REDIS_URL when set (flushed first; one database per xdist worker), else the bundled
    server on a private socket."""

    __test__ = False  # a helper, not a test class

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None
        given = os.environ.get("TEST_REDIS_URL")
        given = given and worker_redis_url(given)
        self.socket = workdir / "redis.sock"
        self.url = given or f"unix://{self.socket}"
        self.embedded = not given

    def start(self) -> None:
        if self.embedded:
            args = redis_server_args(self.socket, self.workdir, persist=False)
            self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL)
        self._wait()
        self.client().flushdb()

    def _wait(self) -> None:
        deadline = time.monotonic() + 10
        while True:
            try:
                self.client().ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)


class CeleryWorker:
    """A real `celery worker` process with the test environment; killed at the end."""

    def __init__(self, env: dict[str, str], logfile: Path, concurrency: int = 2) -> None:
        self.env, self.logfile, self.concurrency = env, logfile, concurrency
        self.base_env = dict(env)
        self.extra_args: list[str] = []
        self.proc: subprocess.Popen[bytes] | None = None
        self.restore = False  # the original worker is wanted back (see restart)

    def start(self, timeout: float = 60) -> None:
        args = worker_command(
            concurrency=self.concurrency,
            hostname=f"test{os.getpid()}@%h",
            extra=self.extra_args,  # later options win: e.g. a threads pool of 10
        )
        self._log = self.logfile.open("ab")
        start = self.logfile.stat().st_size
        self.proc = subprocess.Popen(
            args,
            cwd=PROJECT_ROOT,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while b" ready." not in self.logfile.read_bytes()[start:]:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"celery worker did not start:\n{self.log()}")
            time.sleep(0.1)

    def restart(self, *args: str, **env: str) -> None:
        """Run with `args` added to the command line and `env` to the environment; a worker
        already running with exactly those is kept as it is. With neither, the original
        worker is wanted back, and started when a test next needs it (`settle`; at once if
        this one ran on a Redis of its own): tests in a row that change the worker alike start
        it once, not twice each."""
        if not args and not env:
            self.restore = True
            if self.env.get("REDIS_URL") != self.base_env.get("REDIS_URL"):
                self.settle()  # now: the test's own Redis is going away
            return
        self.restore = False
        self._run(list(args), {**self.base_env, **env})

    def settle(self) -> None:
        """Before a test that uses the worker: the original one, if it was asked back, and a
        running one in any case (a test may have killed it)."""
        if self.restore:
            self.restore = False
            self._run([], dict(self.base_env))
        elif not self.running():
            self._run(self.extra_args, self.env)

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def _run(self, args: list[str], env: dict[str, str]) -> None:
        if self.running() and (self.extra_args, self.env) == (args, env):
            return
        self.stop()
        self.extra_args, self.env = args, env
        self.start()

    def log(self) -> str:
        return self.logfile.read_text(errors="replace")[-5000:]

    def children(self) -> list[int]:
        """Pids of the pool processes (the ones that run tasks)."""
        assert self.proc is not None
        path = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        return [int(pid) for pid in path.read_text().split()]

    def kill(self) -> None:
        """SIGKILL the worker and its pool at once, as if its host vanished: nothing acks,
        nothing cleans up, and the tasks it held in memory (countdowns) are gone with it."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        self.proc = None
        self._log.close()

    def stop(self) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        except ProcessLookupError:
            pass
        self.proc = None
        self._log.close()


class CeleryBeat:
    """A real `celery beat` process (the scheduler that runs the repair tick)."""

    def __init__(self, env: dict[str, str], workdir: Path) -> None:
        self.env, self.workdir = env, workdir
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        args = beat_command(self.workdir / f"beat-{secrets.token_hex(4)}")
        self._log = (self.workdir / "beat.log").open("ab")
        self.proc = subprocess.Popen(
            args, cwd=PROJECT_ROOT, env=self.env, stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip

    def stop(self) -> None:
        if self.proc is not None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(20)
            self.proc = None
            self._log.close()
