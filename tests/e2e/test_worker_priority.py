"""A worker lowers its own priority as it starts (WORKER_NICE), and its pool processes inherit
it, so on a machine shared with the web the readers' requests come first."""

from __future__ import annotations

import os


def _niceness(pid: int) -> int:
    return os.getpriority(os.PRIO_PROCESS, pid)


def test_worker_and_its_pool_run_at_lower_priority(celery_worker):
    ours = _niceness(0)
    expected = min(ours + 10, 19)
    assert celery_worker.proc is not None
    assert _niceness(celery_worker.proc.pid) == expected
    children = celery_worker.children()
    assert children, "the prefork pool has processes"
    assert [_niceness(pid) for pid in children] == [expected] * len(children)


def test_worker_nice_zero_keeps_the_priority(celery_worker):
    celery_worker.restart(WORKER_NICE="0")
    try:
        assert celery_worker.proc is not None
        assert _niceness(celery_worker.proc.pid) == _niceness(0)
        assert {_niceness(pid) for pid in celery_worker.children()} == {_niceness(0)}
    finally:
        celery_worker.restart()
