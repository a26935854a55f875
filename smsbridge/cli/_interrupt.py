"""Ctrl-C / SIGTERM for long jobs: the first one stops the job cleanly, a second one quits.

The first signal cancels the job's task: the dispatcher stops taking recipients, in-flight
sends get their grace period to finish (or become UNKNOWN) and the journal stays consistent;
the caller then prints the summary. The handlers are removed at once, so a second Ctrl-C raises
KeyboardInterrupt (exit 130 without waiting); a journal is still resumable after that.
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
        stopped = True
        _remove(loop, installed)
        on_stop()
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
