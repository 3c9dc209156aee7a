"""Run one side of a copy a few steps ahead in a thread, so that two cores share the work.

SHA-256, CRC-32 and file reads and writes all release the GIL on large buffers: reading and
hashing in one thread while the other computes the CRC and writes keeps both cores busy. The
queue between them is bounded, so memory stays at `depth` chunks whatever the file sizes.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

T = TypeVar("T")

_DONE = object()


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def ahead(items: Iterator[T], depth: int) -> Iterator[T]:
    """The items of `items`, produced in a thread at most `depth` items ahead of the caller.

    An exception in the producer is raised in the caller; a caller that stops early (an
    exception, or `close()`) stops the producer at its next item.
    """
    handoff: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
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
                if not put(item):
                    return
        except BaseException as exc:  # handed to the caller, which raises it
            put(_Failed(exc))
            return
        put(_DONE)

    worker = threading.Thread(target=produce, name="mailaudit-backup-reader", daemon=True)
    worker.start()
    try:
        while True:
            item = handoff.get()
            if item is _DONE:
                return
            if isinstance(item, _Failed):
                raise item.error
            yield item  # type: ignore[misc]  # everything else came from `items`
    finally:
        stop.set()
        worker.join()
