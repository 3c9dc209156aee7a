"""Progress of a long copy, reported through a callback: nothing below cli.py prints."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Progress:
    phase: str  # "copying" or "verifying"
    done: int  # bytes
    total: int
    seconds: float  # since the phase began

    @property
    def rate(self) -> float:
        """Bytes per second so far."""
        return self.done / self.seconds if self.seconds > 0 else 0.0

    @property
    def eta(self) -> float | None:
        """Seconds left at the rate so far; None before there is a rate."""
        if self.rate <= 0:
            return None
        return max(self.total - self.done, 0) / self.rate


ProgressCallback = Callable[[Progress], None]


class Meter:
    """Counts bytes and calls back at most once per `interval` seconds, and once at the end."""

    def __init__(
        self, callback: ProgressCallback | None, phase: str, total: int, interval: float
    ) -> None:
        self.callback = callback
        self.phase = phase
        self.total = total
        self.interval = interval
        self.done = 0
        self.started = time.monotonic()
        self.last = self.started

    def add(self, count: int) -> None:
        self.done += count
        if self.callback is None:
            return
        now = time.monotonic()
        if now - self.last >= self.interval:
            self.last = now
            self.callback(Progress(self.phase, self.done, self.total, now - self.started))

    def finish(self) -> float:
        """The phase's seconds; the callback hears the final count."""
        seconds = time.monotonic() - self.started
        if self.callback is not None:
            self.callback(Progress(self.phase, self.done, self.total, seconds))
        return seconds
