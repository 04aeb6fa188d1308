"""The services a benchmark runs against, started as real processes in a private temp folder.

`Stack` owns them all: the bundled redis-server on a Unix socket (or one database number of a
Redis server given by URL, flushed at the start and the end), a database (a SQLite file, or a
fresh database on a PostgreSQL server that is dropped afterwards), the SMTP sink it is given
(the Python one in `_sink`, or any `Sink`: start/stop/url/pid), and any Broadsheet processes
(Celery worker, gunicorn) started through it. Leaving the `with` block,
normally, on an error, on Ctrl-C or on SIGTERM/SIGHUP, stops every process it started and
removes the temp folder.
"""

from __future__ import annotations

import os
import platform
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack, suppress
from pathlib import Path
from typing import Generic, Protocol, TypeVar

import redis
from sqlalchemy import URL, create_engine, make_url, text

from broadsheet.migrate import upgrade
from broadsheet.settings import PROJECT_ROOT
from cli.redis_server import redis_server_args
from worker.command import worker_command

BIN = Path(sys.executable).parent


def machine_line() -> str:
    """One line describing where the figures come from."""
    return (
        f"machine: {os.cpu_count()} cores ({len(os.sched_getaffinity(0))} usable), "
        f"{platform.processor() or platform.machine()}, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}"
    )


def free_port() -> int:
    """A loopback TCP port nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def code_line() -> str:
    """Which code was measured: the commit, and whether the work tree differs from it."""
    try:
        head = _git("rev-parse", "--short", "HEAD").strip() or "unknown"
        changed = _git("status", "--porcelain", "--untracked-files=no").splitlines()
    except OSError:
        return "code: unknown (no git)"
    return f"code: {head}" + (f" + {len(changed)} changed files" if changed else "")


def _git(*args: str) -> str:
    """A read-only git query in the project."""
    done = subprocess.run(["git", *args], cwd=PROJECT_ROOT, capture_output=True, text=True)
    return done.stdout


def stop_on_signals() -> None:
    """Turn SIGTERM and SIGHUP into SystemExit so `finally` blocks run as on Ctrl-C."""

    def _exit(signum: int, _frame: object) -> None:
        print(f"stopping on {signal.Signals(signum).name}; cleaning up", file=sys.stderr)
        raise SystemExit(128 + signum)

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _exit)


class Process:
    """A child started in its own session, so it and its children stop as one group."""

    def __init__(self, name: str, args: list[str], *, env: dict[str, str], log: Path) -> None:
        self.name, self.log = name, log
        self._log = log.open("ab")
        self.proc = subprocess.Popen(
            args,
            cwd=PROJECT_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:]

    def stop(self, timeout: float = 15) -> None:
        """SIGTERM to the group (a warm shutdown), then SIGKILL if it does not go in time."""
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout)
        except ProcessLookupError:
            self.proc.wait(timeout)
        finally:
            self._kill_stragglers()
            self._log.close()

    def _kill_stragglers(self) -> None:
        # Children that outlived their parent still carry its process group id.
        with suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)


class Database:
    """A SQLite file in the temp folder, or a new database on the server `server_url` names
    (then no folder is needed: `workdir` may be None)."""

    def __init__(self, workdir: Path | None, server_url: str | None) -> None:
        self._admin = None
        if server_url:
            base = make_url(server_url)
            if base.get_backend_name() != "postgresql":
                raise SystemExit(f"--database-url must be a postgresql:// URL: {server_url}")
            self._admin = base.set(drivername="postgresql+psycopg")
            self._name = f"broadsheet_bench_{secrets.token_hex(4)}"
            self.url = self._admin.set(database=self._name).render_as_string(hide_password=False)
        elif workdir is not None:
            self.url = f"sqlite:///{workdir / 'bench.db'}"
        else:
            raise ValueError("a SQLite database needs a folder (or give a server URL)")

    @property
    def label(self) -> str:
        return "PostgreSQL" if self._admin is not None else "SQLite (WAL)"

    def create(self) -> None:
        if self._admin is not None:
            _admin_execute(self._admin, f'CREATE DATABASE "{self._name}"')
        upgrade(self.url)

    def drop(self) -> None:
        if self._admin is not None:
            _admin_execute(self._admin, f'DROP DATABASE IF EXISTS "{self._name}" WITH (FORCE)')


def _admin_execute(admin: URL, sql: str) -> None:
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(sql))
    finally:
        engine.dispose()


class Sink(Protocol):
    """What a Stack needs of its SMTP sink (`_sink.SmtpSink`, `_postfix.PostfixSink`)."""

    @property
    def url(self) -> str: ...

    @property
    def pid(self) -> int: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...


SinkT = TypeVar("SinkT", bound=Sink)


class Stack(Generic[SinkT]):
    """Temp folder, Redis, database and SMTP sink; Broadsheet processes are added on demand."""

    def __init__(
        self,
        *,
        database_url: str | None,
        send_rate: float,
        batch_size: int,
        sink: SinkT,
        redis_url: str | None = None,
    ) -> None:
        self.send_rate, self.batch_size = send_rate, batch_size
        self.database_url_arg = database_url
        self.redis_url_arg = redis_url
        self.sink = sink
        self._exit = ExitStack()

    def __enter__(self) -> Stack[SinkT]:
        stop_on_signals()
        try:
            self._start()
        except BaseException:
            self._exit.close()
            raise
        return self

    def __exit__(self, *_: object) -> None:
        self._exit.close()

    def _start(self) -> None:
        # Short, so the Unix socket path stays under the kernel's 107-byte limit.
        self.workdir = Path(tempfile.mkdtemp(prefix="bs-bench-"))
        self._exit.callback(shutil.rmtree, self.workdir, ignore_errors=True)
        if self.redis_url_arg:
            self.redis_url = self.redis_url_arg
            self._exit.callback(self._flush_redis)
            self.redis_pid = self._flush_redis()
        else:
            self._start_bundled_redis()
        self._exit.callback(self.sink.stop)
        self.sink.start()
        self.database = Database(self.workdir, self.database_url_arg)
        self._exit.callback(self.database.drop)
        self.database.create()
        if not self.redis_url_arg:
            self._wait_for_redis()
        self.env = self._environment()
        # The benchmark process itself enqueues tasks and reads settings from this environment.
        os.environ.update(self.env)

    def _start_bundled_redis(self) -> None:
        self.redis_socket = self.workdir / "redis.sock"
        self.redis_url = f"unix://{self.redis_socket}"
        redis_args = redis_server_args(self.redis_socket, self.workdir, persist=False)
        redis_server = Process("redis", redis_args, env=dict(os.environ), log=self._log("redis"))
        self._exit.callback(redis_server.stop)
        self.redis_pid = redis_server.pid

    def _flush_redis(self) -> int:
        """Empty the given Redis database; returns the server's pid (it runs on this host)."""
        client = redis.Redis.from_url(self.redis_url)
        try:
            client.flushdb()
            return int(client.info("server")["process_id"])
        finally:
            client.close()

    def _log(self, name: str) -> Path:
        return self.workdir / f"{name}.log"

    def _environment(self) -> dict[str, str]:
        # PYTHONPATH stays: it may point the processes at another work tree's code.
        env = {
            k: v
            for k, v in os.environ.items()
            if k == "PYTHONPATH" or not k.startswith(("PYTHON", "CELERY"))
        }
        env.update(
            BROADSHEET_INSTANCE=str(self.workdir / "instance"),
            DATABASE_URL=self.database.url,
            REDIS_URL=self.redis_url,
            SMTP_URL=self.sink.url,
            SECRET_KEY=secrets.token_urlsafe(32),
            PUBLIC_URL="http://news.example.test",
            MAIL_FROM="The Bench Gazette <news@example.test>",
            SEND_RATE=f"{self.send_rate:g}",
            BATCH_SIZE=str(self.batch_size),
        )
        return env

    def _wait_for_redis(self) -> None:
        client = redis.Redis(unix_socket_path=str(self.redis_socket))
        deadline = time.monotonic() + 10
        try:
            while True:
                try:
                    client.ping()
                    return
                except redis.ConnectionError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
        finally:
            client.close()

    def start_worker(self, concurrency: int, timeout: float = 60) -> Process:
        """A Celery worker on the product's queues (as `broadsheet worker`), ready to take tasks."""
        args = worker_command(concurrency=concurrency, hostname=f"bench{os.getpid()}@%h")
        log = self._log("worker")
        worker = Process("worker", args, env=self.env, log=log)
        self._exit.callback(worker.stop)
        deadline = time.monotonic() + timeout
        while b" ready." not in log.read_bytes():
            if not worker.alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the celery worker did not start:\n{worker.tail()}")
            time.sleep(0.1)
        return worker

    def start_web(self, port: int, workers: int, threads: int = 4) -> Process:
        """`broadsheet web` (gunicorn, `threads` per worker); the caller waits until it answers."""
        args = [str(BIN / "broadsheet"), "web", "--port", str(port), "--workers", str(workers)]
        args += ["--threads", str(threads)]
        web = Process(f"web-{workers}", args, env=self.env, log=self._log(f"web-{workers}"))

        def stop_if_running() -> None:
            if web.alive():
                web.stop()

        # Stopped by the caller after its trial; stopped here too if the run ends early.
        self._exit.callback(stop_if_running)
        return web
