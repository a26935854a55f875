"""Read timeouts for all of a client's requests, enforced by one periodic check.

aiohttp's own read timeout (``sock_read``) arms and cancels two asyncio timers per request:
about twenty pure-Python calls in the event loop's timer heap, measured at 11% of a whole
request's CPU against a loopback server (60k of 535k instructions) — the largest single cost of
a bulk send. Here each attempt only records its deadline in a dict; one timer per client, armed
while requests are in flight, cancels the attempts that passed theirs, and the attempt turns
that cancellation into a timeout.

The deadline counts from the start of the attempt. ``HttpClient`` uses this only when
``read`` is longer than ``connect``: a connection that is slow to open is then always
reported by aiohttp's connect timeout first (surely not sent), never as a read timeout (which may
have sent). An answer must arrive whole within ``read``; smsbridge's answers are small JSON
bodies, for which that is what aiohttp's between-chunks timeout amounts to. A timeout fires at
most ``tick`` late.
"""

from __future__ import annotations

import asyncio
from typing import Any

# A timeout fires at most this share of ``read`` late (and at most MAX_TICK seconds).
_TICK_SHARE = 0.125
_MIN_TICK = 0.005
_MAX_TICK = 1.0


class ReadDeadlines:
    """Around one request: ``task = deadlines.start()``; in its ``CancelledError`` handler,
    ``deadlines.timed_out(task)`` says whether to raise a timeout instead; in ``finally``,
    ``deadlines.finish(task)``."""

    def __init__(self, read: float) -> None:
        self.read = read
        self.tick = min(max(read * _TICK_SHARE, _MIN_TICK), _MAX_TICK)
        # task -> (deadline, how many cancellations it had pending when its attempt started)
        self._deadlines: dict[asyncio.Task[Any], tuple[float, int]] = {}
        self._expired: set[asyncio.Task[Any]] = set()
        self._sweep_handle: asyncio.TimerHandle | None = None
        self._sweep_loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> asyncio.Task[Any]:
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("a request must run in an asyncio task")
        loop = task.get_loop()
        self._deadlines[task] = (loop.time() + self.read, task.cancelling())
        if self._sweep_handle is None or self._sweep_loop is not loop:
            self._sweep_loop = loop
            self._sweep_handle = loop.call_later(self.tick, self._sweep, loop)
        return task

    def timed_out(self, task: asyncio.Task[Any]) -> bool:
        """For a CancelledError in ``task``'s attempt: True when only this timeout cancelled
        it (the cancellation is then withdrawn); any other cancellation stands."""
        if task not in self._expired:
            return False
        self._expired.discard(task)
        _, cancelling = self._deadlines[task]
        return task.uncancel() <= cancelling

    def finish(self, task: asyncio.Task[Any]) -> None:
        self._deadlines.pop(task, None)
        if task in self._expired:  # cancelled, but the attempt ended another way: withdraw it
            self._expired.discard(task)
            task.uncancel()

    @property
    def in_flight(self) -> int:
        return len(self._deadlines)

    def _sweep(self, loop: asyncio.AbstractEventLoop) -> None:
        if loop is not self._sweep_loop:
            return  # superseded by a sweep on the loop the client runs on now
        now = loop.time()
        for task, (deadline, _) in list(self._deadlines.items()):
            if task.done() or task.get_loop() is not loop:
                self._deadlines.pop(task)  # left behind when an earlier loop was closed
                self._expired.discard(task)
            elif deadline <= now and task not in self._expired:
                self._expired.add(task)
                task.cancel()
        self._sweep_handle = (
            loop.call_later(self.tick, self._sweep, loop) if self._deadlines else None)
