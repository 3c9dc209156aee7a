"""One way to run a coroutine from the command line's synchronous code, with Ctrl-C the same on
every Python this tool supports."""

from __future__ import annotations

import asyncio
import signal
import sys
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

RECANCEL_SECONDS = 0.5


def run(main: Coroutine[Any, Any, T]) -> T:
    """asyncio.run, where Ctrl-C cancels the main task and then raises KeyboardInterrupt (what
    asyncio.Runner does from Python 3.11; Python 3.10 lets the interrupt land inside whichever
    task happens to run, and logs it again as "Task exception was never retrieved").

    Before Python 3.12, asyncio.wait_for loses a cancellation that arrives just as the awaited
    future completes (CPython gh-86296): the run would then go on, deaf to Ctrl-C, until its
    next timeout. So while the main task has not ended, every task still running is cancelled
    again, twice a second."""
    if sys.platform == "win32" or threading.current_thread() is not threading.main_thread():
        return asyncio.run(main)  # no signal handlers on Windows event loops, nor off-main
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)  # as asyncio.run does: code inside asks for the running loop
    task = loop.create_task(main)
    interrupted = False

    def cancel() -> None:
        nonlocal interrupted
        interrupted = True
        task.cancel()
        loop.call_later(RECANCEL_SECONDS, cancel_again)

    def cancel_again() -> None:
        if not task.done():
            for running in asyncio.all_tasks(loop):
                running.cancel()
            loop.call_later(RECANCEL_SECONDS, cancel_again)

    loop.add_signal_handler(signal.SIGINT, cancel)
    try:
        return loop.run_until_complete(task)
    except asyncio.CancelledError:
        if interrupted:
            raise KeyboardInterrupt from None
        raise
    finally:
        loop.remove_signal_handler(signal.SIGINT)
        rest = asyncio.all_tasks(loop)
        for pending in rest:
            pending.cancel()
        loop.run_until_complete(asyncio.gather(*rest, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.run_until_complete(loop.shutdown_default_executor())
        asyncio.set_event_loop(None)
        loop.close()
