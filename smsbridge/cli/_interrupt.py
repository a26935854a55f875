"""Ctrl-C / SIGTERM for long jobs: the first one stops the job cleanly, a second one sooner.

The first signal cancels the job's task: the dispatcher stops taking recipients, in-flight
sends get their grace period to finish (or become UNKNOWN) and the journal stays consistent;
the caller then prints the summary. A second signal cancels again, which ends the grace period:
sends still in flight become UNKNOWN at once. The handlers stay installed until the job has
stopped, so no signal ever lands as a KeyboardInterrupt in the middle of the journal's
bookkeeping (which printed tracebacks and left the journal half-closed); the summary is always
printed and the exit code is 130.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")
SIGNALS = (signal.SIGINT, signal.SIGTERM)


async def run_interruptible(
    work: Coroutine[Any, Any, T], on_stop: Callable[[], None]
) -> tuple[T | None, bool]:
    """Run ``work``; return ``(result, interrupted)``. ``result`` is None when it was cancelled."""
    loop = asyncio.get_running_loop()
    task: asyncio.Task[T] = asyncio.ensure_future(work)
    stopped = False

    def stop() -> None:
        nonlocal stopped
        if not stopped:
            on_stop()
        stopped = True
        task.cancel()

    installed = []
    for sig in SIGNALS:
        try:
            loop.add_signal_handler(sig, stop)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread / platform
            continue
        installed.append(sig)
    try:
        return await task, stopped
    except asyncio.CancelledError:
        if stopped and task.cancelled():
            return None, True
        raise
    finally:
        _remove(loop, installed)


def _remove(loop: asyncio.AbstractEventLoop, signals: list[signal.Signals]) -> None:
    for sig in signals:
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.remove_signal_handler(sig)
