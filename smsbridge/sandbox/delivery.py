"""The delivery lifecycle clock and the webhook sender.

:class:`Lifecycle` runs state transitions ("queued" -> "delivered"/"failed") at their due time
with one timer for the earliest entry of a heap: O(log n) per message and no task per message.
:class:`WebhookSender` posts the resulting webhooks from a few workers with a bounded timeout
and a small retry (5xx and connection errors only). Both stop dead when the sandbox stops.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable, Mapping

import aiohttp
import attrs

from .._logging import logger

Transition = Callable[[], None]
_RESOLUTION = 0.001


class Lifecycle:
    """Runs callbacks at a given delay on the event loop's clock."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Transition]] = []
        self._seq = itertools.count()
        self._timer: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def pending(self) -> int:
        return len(self._heap)

    @property
    def next_due(self) -> float | None:
        """When the earliest pending transition runs (event-loop clock), or None."""
        return self._heap[0][0] if self._heap else None

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._heap.clear()
        self._loop = None

    def call_later(self, delay: float, transition: Transition) -> None:
        loop = self._loop
        if loop is None:  # stopped: nothing moves any more
            return
        due = loop.time() + max(delay, 0.0)
        seq = next(self._seq)
        heapq.heappush(self._heap, (due, seq, transition))
        if self._heap[0][1] == seq:  # the new entry is the earliest: move the timer forward
            self._arm(loop)

    def _arm(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = loop.call_at(self._heap[0][0], self._fire) if self._heap else None

    def _fire(self) -> None:
        loop = self._loop
        if loop is None:
            return
        self._timer = None
        heap = self._heap
        now = loop.time() + _RESOLUTION  # the loop may run a timer this much early
        while heap and heap[0][0] <= now:
            _, _, transition = heapq.heappop(heap)
            try:
                transition()
            except Exception:  # one broken transition must not stall the others
                logger.exception("sandbox: a delivery transition failed")
        if heap:
            self._arm(loop)


@attrs.frozen(slots=True)
class _Job:
    url: str
    body: bytes
    headers: Mapping[str, str]


class WebhookSender:
    """Posts webhooks; at most ``max_attempts`` tries each, ``timeout`` seconds per try."""

    def __init__(
        self,
        *,
        timeout: float = 5.0,
        max_attempts: int = 3,
        concurrency: int = 16,
        backoff: float = 0.1,
    ) -> None:
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.concurrency = concurrency
        self.backoff = backoff
        self.delivered = 0  # answered 2xx
        self.failed = 0  # given up on (4xx, or 5xx / errors after every attempt)
        self.attempts = 0
        self._queue: asyncio.Queue[_Job] | None = None
        self._workers: list[asyncio.Task[None]] = []
        self._session: aiohttp.ClientSession | None = None
        self._busy = 0

    @property
    def idle(self) -> bool:
        return self._busy == 0 and (self._queue is None or self._queue.empty())

    async def start(self) -> None:
        self._queue = asyncio.Queue()
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self.timeout),
            connector=aiohttp.TCPConnector(limit=self.concurrency),
        )
        self._workers = [
            asyncio.create_task(self._work(), name=f"sandbox-webhooks-{i}")
            for i in range(self.concurrency)
        ]

    async def stop(self) -> None:
        for worker in self._workers:
            worker.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers = []
        self._queue = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> None:
        if self._queue is not None:
            self._queue.put_nowait(_Job(url, body, headers))

    async def _work(self) -> None:
        queue = self._queue
        assert queue is not None
        while True:
            job = await queue.get()
            self._busy += 1
            try:
                await self._deliver(job)
            finally:
                self._busy -= 1

    async def _deliver(self, job: _Job) -> None:
        session = self._session
        assert session is not None
        for attempt in range(1, self.max_attempts + 1):
            self.attempts += 1
            try:
                async with session.post(job.url, data=job.body, headers=job.headers) as resp:
                    await resp.read()
                    status = resp.status
            except (aiohttp.ClientError, TimeoutError) as exc:
                logger.debug("sandbox webhook attempt %d failed: %s", attempt, type(exc).__name__)
                status = 0
            if 200 <= status < 300:
                self.delivered += 1
                return
            if 400 <= status < 500:
                break  # the receiver refused it; resending would not help
            if attempt < self.max_attempts:
                await asyncio.sleep(self.backoff * attempt)
        self.failed += 1
        logger.debug("sandbox webhook given up (last status %d)", status)
