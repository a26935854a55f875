"""Where a job's outcomes go: a list in input order (``send``) or a bounded async stream."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from ._channel import Channel
from ._closing import AsyncClosing
from ._report import Progress, Tally
from .models import Outcome

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


class OutcomeStream(AsyncClosing):
    """``async for outcome in stream`` — outcomes in completion order, with backpressure.

    The job starts on the first ``__anext__``. Leaving early: ``await stream.aclose()`` or use
    ``async with dispatcher.stream(...) as outcomes:``; in-flight sends then finish (or become
    UNKNOWN after the grace period) and the journal stays consistent.
    """

    def __init__(self, concurrency: int) -> None:
        # Unread outcomes held before the workers wait for the consumer.
        self._outcomes: Channel[Any] = Channel(max(2 * concurrency, 16))
        self._task: asyncio.Task[None] | None = None
        self._start: Callable[[OutcomeStream], Awaitable[None]] | None = None
        self.job_id: str | None = None
        self.tally: Tally | None = None

    @property
    def progress(self) -> Progress | None:
        return self.tally.snapshot() if self.tally is not None else None

    def put(self, index: int, outcome: Outcome) -> Coroutine[Any, Any, None]:
        return self._outcomes.put(outcome)  # awaited by the caller: no frame of our own

    def put_nowait(self, index: int, outcome: Outcome) -> None:
        self._outcomes.put_nowait(outcome)  # only while stopping: bounded by the workers

    def __aiter__(self) -> OutcomeStream:
        return self

    async def __anext__(self) -> Outcome:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="smsbridge-job")
        try:
            item = await self._outcomes.get()
        except asyncio.CancelledError:
            await self.aclose()
            raise
        if item is _END:
            self._outcomes.put_nowait(_END)  # later calls end too
            if self._task.done() and not self._task.cancelled() and self._task.exception():
                raise self._task.exception()  # type: ignore[misc]
            raise StopAsyncIteration
        return item  # type: ignore[no-any-return]

    async def _run(self) -> None:
        assert self._start is not None
        try:
            await self._start(self)
        finally:
            self._outcomes.put_nowait(_END)

    async def aclose(self) -> None:
        """Stop the job: no new sends; in-flight ones finish or become UNKNOWN."""
        task = self._task
        if task is None or task.done():
            return
        task.cancel()
        await asyncio.wait([task])
        if not task.cancelled():
            task.exception()

    def __del__(self) -> None:
        task = getattr(self, "_task", None)
        if task is not None and not task.done():
            task.cancel()
