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


def run(main: Coroutine[Any, Any, T]) -> T:
    """asyncio.run. On Python 3.11 and later, asyncio.Runner turns Ctrl-C into the cancelling
    of the main task and then a KeyboardInterrupt. Python 3.10 lets the interrupt land inside
    whichever task happens to run, and logs it again as "Task exception was never retrieved"
    when that task is collected: a traceback after the one-line "interrupted". Here 3.10 gets
    what 3.11 does."""
    if (
        sys.version_info >= (3, 11)
        or sys.platform == "win32"  # its event loops take no signal handlers
        or threading.current_thread() is not threading.main_thread()
    ):
        return asyncio.run(main)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)  # as asyncio.run does: code inside asks for the running loop
    task = loop.create_task(main)
    interrupted = False

    def cancel() -> None:
        nonlocal interrupted
        interrupted = True
        task.cancel()

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
