"""Where a job's outcomes go: a list in input order (``send``) or a bounded async stream."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable, Coroutine
from typing import Any

from .._closing import AsyncClosing
from ..models import Outcome
from .channel import Channel
from .compliance import ComplianceReport
from .report import Progress, StopCause, Tally

_END: Any = object()


class ListSink:
    """``send()``'s sink: outcomes by input position."""

    def __init__(self, total: int | None) -> None:
        self._slots: list[Outcome | None] = [None] * total if total is not None else []
        self._extra: dict[int, Outcome] = {}
        self.tally: Tally | None = None

    async def put(self, index: int, outcome: Outcome) -> None:
        self.put_nowait(index, outcome)

    def put_nowait(self, index: int, outcome: Outcome) -> None:
        if index < len(self._slots):
            self._slots[index] = outcome
        else:
            self._extra[index] = outcome

    def outcomes(self) -> tuple[Outcome, ...]:
        ordered = [o for o in self._slots if o is not None]
        if len(ordered) != len(self._slots):
            raise RuntimeError("internal error: a recipient of the job has no outcome")
        ordered.extend(self._extra[i] for i in sorted(self._extra))
        return tuple(ordered)


class StreamFeed:
    """What a streamed job writes to: the outcome buffer and the job's live state.

    Held by the job's task; the :class:`OutcomeStream` the consumer iterates is not, so a
    consumer that drops its stream (``break`` out of ``async for``) lets it be collected, and
    its generator's close path stops the job.
    """

    def __init__(self, concurrency: int) -> None:
        # Unread outcomes held before the workers wait for the consumer.
        self.channel: Channel[Any] = Channel(max(2 * concurrency, 16))
        self.job_id: str | None = None
        self.tally: Tally | None = None
        self.stopped: StopCause | None = None
        self.compliance: ComplianceReport | None = None

    def put(self, index: int, outcome: Outcome) -> Coroutine[Any, Any, None]:
        return self.channel.put(outcome)  # awaited by the caller: no frame of our own

    def put_nowait(self, index: int, outcome: Outcome) -> None:
        self.channel.put_nowait(outcome)  # only while stopping: bounded by the workers


class OutcomeStream(AsyncClosing):
    """``async for outcome in stream`` — outcomes in completion order, with backpressure.

    The job starts on the first ``__anext__``. Leaving early stops the job: ``await
    stream.aclose()``, ``async with dispatcher.stream(...) as outcomes:``, or a ``break`` out
    of ``async for`` once nothing else refers to the stream (its async generator is then closed
    by the event loop, as any async generator's is). In-flight sends finish (or become UNKNOWN
    after the grace period), recipients not yet sent stay pending in the journal, and the
    journal stays consistent. ``stopped`` is set when the job stopped itself (an account-level
    error, or the same failure over and over); see ``BulkReport.stopped``.
    """

    def __init__(
        self, concurrency: int, start: Callable[[StreamFeed], Awaitable[None]] | None = None
    ) -> None:
        self._feed = StreamFeed(concurrency)
        self._start = start
        self._outcomes: AsyncGenerator[Outcome, None] | None = None

    @property
    def job_id(self) -> str | None:
        return self._feed.job_id

    @property
    def tally(self) -> Tally | None:
        return self._feed.tally

    @property
    def stopped(self) -> StopCause | None:
        return self._feed.stopped

    @property
    def compliance(self) -> ComplianceReport | None:
        """Segments, cost and quiet hours of the job once it has ended (see BulkReport)."""
        return self._feed.compliance

    @property
    def progress(self) -> Progress | None:
        tally = self._feed.tally
        return tally.snapshot() if tally is not None else None

    def __aiter__(self) -> OutcomeStream:
        return self

    def __anext__(self) -> Awaitable[Outcome]:
        if self._outcomes is None:
            if self._start is None:
                raise RuntimeError("internal error: an OutcomeStream without a job")
            self._outcomes = _outcomes(self._feed, self._start)
        return self._outcomes.__anext__()

    async def aclose(self) -> None:
        """Stop the job: no new sends; in-flight ones finish or become UNKNOWN."""
        if self._outcomes is not None:
            await self._outcomes.aclose()


async def _outcomes(
    feed: StreamFeed, start: Callable[[StreamFeed], Awaitable[None]]
) -> AsyncGenerator[Outcome, None]:
    # Refers to the feed and the job, never to the OutcomeStream: see StreamFeed.
    task = asyncio.create_task(_run(feed, start), name="smsbridge-job")
    try:
        while True:
            item = await feed.channel.get()
            if item is _END:
                break
            yield item
    finally:
        await _stop(task)
    if not task.cancelled() and task.exception() is not None:
        raise task.exception()  # type: ignore[misc]


async def _run(feed: StreamFeed, start: Callable[[StreamFeed], Awaitable[None]]) -> None:
    try:
        await start(feed)
    finally:
        feed.channel.put_nowait(_END)


async def _stop(task: asyncio.Task[None]) -> None:
    """Cancel the job and wait until it has stopped, however often we are cancelled meanwhile:
    returning earlier would leave its workers writing to a journal about to be closed."""
    if not task.done():
        task.cancel()
    interrupted = False
    while not task.done():
        try:
            await asyncio.wait([task])
        except asyncio.CancelledError:
            interrupted = True
            task.cancel()  # a repeated cancel cuts the job's grace period short
    if not task.cancelled():
        task.exception()  # retrieved here; raised by the caller when the job ended on its own
    if interrupted:
        raise asyncio.CancelledError
