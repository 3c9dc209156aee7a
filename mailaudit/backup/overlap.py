"""Run one side of a copy a little ahead in a thread, so that two cores share the work.

SHA-256, CRC-32 and file reads and writes all release the GIL on large buffers: reading and
hashing in one thread while the other computes the CRC and writes keeps both cores busy. Items
cross in batches of about `batch_bytes` (20,000 small files are not 20,000 hand-overs), at most
`depth` batches in flight: memory stays bounded whatever the file sizes.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")

MAX_ITEMS = 512  # per batch, however small the items: bounds the batch's objects too


class _Done:
    pass


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


class _Batch(Generic[T]):
    def __init__(self, items: list[T]) -> None:
        self.items = items


def ahead(
    items: Iterator[T], size: Callable[[T], int], batch_bytes: int, depth: int
) -> Iterator[T]:
    """The items of `items`, produced in a thread at most `depth` batches ahead of the caller.

    An exception in the producer is raised in the caller; a caller that stops early (an
    exception, or `close()`) stops the producer at its next batch.
    """
    handoff: queue.Queue[_Batch[T] | _Done | _Failed] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: _Batch[T] | _Done | _Failed) -> bool:
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        batch: list[T] = []
        weight = 0
        try:
            for item in items:
                batch.append(item)
                weight += size(item)
                if weight >= batch_bytes or len(batch) >= MAX_ITEMS:
                    if not put(_Batch(batch)):
                        return
                    batch, weight = [], 0
        except BaseException as exc:  # not swallowed: handed to the caller, which raises it
            put(_Batch(batch))
            put(_Failed(exc))
            return
        put(_Batch(batch))
        put(_Done())

    worker = threading.Thread(target=produce, name="mailaudit-backup-reader", daemon=True)
    worker.start()
    try:
        while True:
            got = handoff.get()
            if isinstance(got, _Done):
                return
            if isinstance(got, _Failed):
                raise got.error
            yield from got.items
    finally:
        stop.set()
        worker.join()
