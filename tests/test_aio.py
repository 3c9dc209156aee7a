"""Ctrl-C ends a run promptly, even when a task lost the first cancellation."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time

import pytest

from mailaudit import aio


async def deaf_once() -> None:
    """What asyncio.wait_for does before Python 3.12 when a cancellation lands as its inner
    future completes (CPython gh-86296): the cancellation is lost and the task goes on."""
    asyncio.get_running_loop().call_later(0.05, os.kill, os.getpid(), signal.SIGINT)
    with contextlib.suppress(asyncio.CancelledError):  # lost
        await asyncio.sleep(30)
    await asyncio.sleep(30)


def test_ctrl_c_reaches_a_task_that_lost_the_first_cancellation():
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        aio.run(deaf_once())
    assert time.monotonic() - started < 5


async def answer() -> int:
    await asyncio.sleep(0)
    return 42


def test_a_run_returns_its_result():
    assert aio.run(answer()) == 42
