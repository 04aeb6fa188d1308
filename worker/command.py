"""The command lines that start a worker and the scheduler: built here once, for the
`broadsheet` command, the tests and the benchmarks alike."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from worker.app import QUEUES

CELERY = [sys.executable, "-m", "celery", "-A", "worker"]


def worker_command(
    *,
    concurrency: int | None = None,
    hostname: str | None = None,
    loglevel: str = "INFO",
    extra: Sequence[str] = (),
) -> list[str]:
    """`celery worker` on every Broadsheet queue, in the order they are read (see QUEUES).
    `extra` goes last, so its options win (e.g. `--pool threads --concurrency 10`)."""
    args = [*CELERY, "worker", "--loglevel", loglevel, "--without-gossip", "--without-mingle"]
    args += ["-Q", QUEUES]
    if concurrency:
        args += ["--concurrency", str(concurrency)]
    if hostname:
        args += ["--hostname", hostname]
    return [*args, *extra]


def beat_command(schedule: Path, *, loglevel: str = "INFO") -> list[str]:
    """`celery beat`, keeping its schedule state in `schedule`."""
    return [*CELERY, "beat", "--loglevel", loglevel, "--schedule", str(schedule)]
