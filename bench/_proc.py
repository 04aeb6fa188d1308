"""Process facts for the benchmarks, read from /proc: peak memory and CPU time of a process
tree, and the whole machine's busy time (to tell how much of it others used meanwhile).

Linux only. A process that exits between listing and reading simply drops out of a sample.
"""

from __future__ import annotations

import os
import signal
import threading
from dataclasses import dataclass, field
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


def descendants(pid: int) -> list[int]:
    """Children, grandchildren, ... of `pid` (from /proc/<pid>/task/*/children)."""
    found: list[int] = []
    todo = [pid]
    while todo:
        parent = todo.pop()
        try:
            tasks = list(Path(f"/proc/{parent}/task").iterdir())
        except OSError:
            continue
        for task in tasks:
            try:
                kids = [int(k) for k in (task / "children").read_text().split()]
            except OSError:
                continue
            found.extend(kids)
            todo.extend(kids)
    return found


def tree(pid: int) -> list[int]:
    return [pid, *descendants(pid)]


def status_kb(pid: int, key: str) -> int | None:
    """A `kB` figure from /proc/<pid>/status, such as VmHWM (peak RSS) or VmRSS."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return None


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of one process (not counting children it has not reaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime


def tree_cpu_seconds(pid: int) -> float:
    """CPU time of a process and all its live descendants."""
    return sum(cpu_seconds(p) or 0.0 for p in tree(pid))


def machine_busy_seconds() -> float:
    """CPU time all cores spent busy since boot (the `cpu` line of /proc/stat, less idle)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / _TICKS


@dataclass
class TreeMemory:
    """Peak memory of a process tree, sampled: children may come and go during a run."""

    hwm_kb: dict[int, int] = field(default_factory=dict)  # per pid, the largest VmHWM seen
    peak_sum_kb: int = 0  # the largest sum of VmHWM over processes alive at the same time

    @property
    def peak_max_kb(self) -> int:
        return max(self.hwm_kb.values(), default=0)

    def sample(self, root: int) -> None:
        now = 0
        for pid in tree(root):
            hwm = status_kb(pid, "VmHWM")
            if hwm is None:
                continue
            self.hwm_kb[pid] = max(hwm, self.hwm_kb.get(pid, 0))
            now += hwm
        self.peak_sum_kb = max(self.peak_sum_kb, now)


class TreeSampler:
    """Samples a process tree's memory in a background thread until stopped."""

    def __init__(self, root: int, interval: float = 0.1) -> None:
        self.root, self.interval = root, interval
        self.memory = TreeMemory()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tree-sampler", daemon=True)

    def __enter__(self) -> TreeSampler:
        self.memory.sample(self.root)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.memory.sample(self.root)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.memory.sample(self.root)


def ignore_sigint() -> None:
    """For helper processes: Ctrl-C is the benchmark's to handle; it stops them itself."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
