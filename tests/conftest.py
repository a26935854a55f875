"""Suite-wide test set-up."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import aioresponses.core as _aioresponses_core
import pytest
from aiohttp import ClientResponse, web
from yarl import URL


class _SentStream:
    output_size = 0


class _CompatClientResponse(ClientResponse):
    """aioresponses 0.7.9 builds ClientResponse without aiohttp>=3.12's ``stream_writer``."""

    def __init__(self, method: str, url: URL, **kwargs: Any) -> None:
        kwargs.setdefault("stream_writer", _SentStream())
        super().__init__(method, url, **kwargs)


if "stream_writer" in inspect.signature(ClientResponse.__init__).parameters:
    _aioresponses_core.ClientResponse = _CompatClientResponse  # type: ignore[misc]


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@contextlib.asynccontextmanager
async def _serve(handle: Handler) -> AsyncIterator[str]:
    """An aiohttp server on 127.0.0.1 (port 0) sending every request to ``handle``; its URL."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@pytest.fixture
def serve() -> Callable[[Handler], contextlib.AbstractAsyncContextManager[str]]:
    """``async with serve(handler) as url:`` — a real local server for pipeline tests."""
    return _serve


class LoopWatchdog:
    """Counts ticks of a side timer on the running loop: proof the loop still fires timers.

    ``asyncio.sleep(nan)`` never returns and breaks the loop's timer ordering, after which
    unrelated timeouts stop firing; a test asserting ``alive()`` catches exactly that.
    """

    def __init__(self, interval: float = 0.02) -> None:
        self.interval = interval
        self.ticks = 0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            self.ticks += 1

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def alive(self, within: float = 5.0) -> bool:
        """True when the side timer ticks again within ``within`` seconds (wall clock)."""
        before = self.ticks

        def wait() -> None:
            # In a thread: the loop's own timers are what is under test, so they cannot be
            # trusted to end this wait. The thread's completion reaches the loop without a timer.
            deadline = time.monotonic() + within
            while time.monotonic() < deadline and self.ticks <= before + 2:
                time.sleep(0.005)

        await asyncio.to_thread(wait)
        return self.ticks > before + 2

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


@pytest.fixture
async def loop_watchdog() -> AsyncIterator[LoopWatchdog]:
    """A side timer ticking on the test's loop; ``await loop_watchdog.alive()`` asserts it."""
    watchdog = LoopWatchdog()
    watchdog.start()
    yield watchdog
    await watchdog.stop()


# --- the dispatch, journal, failover and test-kit tests ------------------------------------

_AREAS = ("303", "720", "212", "415", "617", "312", "206", "512", "702", "404")


def number(i: int) -> str:
    """The i-th of 8,000,000 distinct valid US numbers in E.164."""
    area, rest = divmod(i, 800 * 10_000)
    exchange, line = divmod(rest, 10_000)
    return f"+1{_AREAS[area % len(_AREAS)]}{200 + exchange}{line:04d}"


@pytest.fixture
def numbers() -> Callable[..., list[str]]:
    def make(count: int, start: int = 0) -> list[str]:
        return [number(i) for i in range(start, start + count)]

    return make


@pytest.fixture
def number_stream() -> Callable[[int], Iterator[str]]:
    def make(count: int) -> Iterator[str]:
        return (number(i) for i in range(count))

    return make


@pytest.fixture
def journal_path(tmp_path: Path) -> Path:
    return tmp_path / "job.sqlite"
