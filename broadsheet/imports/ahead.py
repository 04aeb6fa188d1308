"""Work done ahead on a thread of its own: while the database writes one batch (the driver
waits on the server without holding the GIL), the next rows are read and checked."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

T = TypeVar("T")


def ahead(items: Iterator[T], depth: int = 2) -> Iterator[T]:
    """`items`, made on another thread at most `depth` ahead of the caller (memory stays
    bounded). An exception there is raised here, in order; leaving early stops the thread."""
    # Items travel boxed in a 1-tuple, so one that is itself an exception or None is never
    # taken for the producer's failure (an exception) or its end (None).
    handoff: queue.Queue[tuple[T] | BaseException | None] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: tuple[T] | BaseException | None) -> bool:
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put((item,)):
                    return
        except BaseException as exc:  # handed to the caller, who raises it
            put(exc)
            return
        put(None)

    thread = threading.Thread(target=produce, name="import-ahead", daemon=True)
    thread.start()
    try:
        while True:
            item = handoff.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item[0]
    finally:
        stop.set()
        thread.join()
