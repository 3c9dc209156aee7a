"""Progress lines for a long upload: per folder and in total, rate and time left.

Nothing here prints: lines go to the callback the command line gives (stderr). A provider
with a daily upload quota makes the time left a matter of days, whatever the line speed.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from mailaudit.units import human_bytes

Progress = Callable[[str], None]

# Daily IMAP upload quotas providers publish (research/migration.md §2.10: Gmail 500 MB/day,
# the Workspace figure; consumer accounts may be stricter).
DAILY_QUOTA = (("gmail.com", 500_000_000), ("googlemail.com", 500_000_000))


def daily_quota(host: str) -> int | None:
    host = host.lower().rstrip(".")
    return next(
        (q for suffix, q in DAILY_QUOTA if host == suffix or host.endswith("." + suffix)), None
    )


def duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds >= 86400:
        return f"{seconds // 86400} d {seconds % 86400 // 3600} h"
    if seconds >= 3600:
        return f"{seconds // 3600} h {seconds % 3600 // 60} min"
    if seconds >= 60:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds} s"


class Reading:
    """Says how far listing the store has got, every `every` seconds: a 5 GB mbox takes half
    a minute to list before anything is sent, and a silent half minute looks like a hang."""

    def __init__(self, progress: Progress | None, every: float = 2.0) -> None:
        self.progress = progress
        self.every = every
        self.next = time.monotonic() + every

    def counted(self, folder: str, messages: int, size: int) -> None:
        now = time.monotonic()
        if self.progress is not None and now >= self.next:
            self.next = now + self.every
            self.progress(f"reading {folder}: {messages} message(s), {human_bytes(size)} so far")


class Meter:
    """Counts what is done against the plan's totals, and says so at most once a second."""

    def __init__(
        self,
        progress: Progress | None,
        messages: int,
        size: int,
        quota: int | None,
        every: float = 1.0,
    ) -> None:
        self.progress = progress
        self.messages = messages
        self.size = size
        self.quota = quota
        self.every = every
        self.started = time.monotonic()
        self.said = 0.0
        self.done_messages = 0
        self.done_bytes = 0
        self.folder = ""
        self.folder_messages = 0
        self.folder_done = 0

    def start_folder(self, name: str, messages: int) -> None:
        self.folder, self.folder_messages, self.folder_done = name, messages, 0
        self.say(f"{name}: {messages} message(s)")

    def advance(self, messages: int, size: int) -> None:
        """Messages settled: uploaded, found already there, or skipped."""
        self.done_messages += messages
        self.done_bytes += size
        self.folder_done += messages
        now = time.monotonic()
        if now - self.said >= self.every:
            self.said = now
            self.say(self.line(now))

    def line(self, now: float) -> str:
        elapsed = max(now - self.started, 1e-6)
        rate = self.done_messages / elapsed
        byte_rate = self.done_bytes / elapsed
        left_bytes = max(self.size - self.done_bytes, 0)
        left = left_bytes / byte_rate if byte_rate > 0 else float("inf")
        if self.quota:
            left = max(left, left_bytes / self.quota * 86400)
        eta = duration(left) if left != float("inf") else "unknown"
        quota = f" (at {human_bytes(self.quota)} a day)" if self.quota else ""
        return (
            f"{self.folder}: {self.folder_done}/{self.folder_messages}; "
            f"total {self.done_messages}/{self.messages} messages, "
            f"{human_bytes(self.done_bytes)}/{human_bytes(self.size)}, "
            f"{rate:.0f} msg/s, {human_bytes(int(byte_rate))}/s, time left {eta}{quota}"
        )

    def finish(self) -> None:
        self.say(self.line(time.monotonic()))

    def say(self, text: str) -> None:
        if self.progress is not None:
            self.progress(text)
