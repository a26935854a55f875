"""What every benchmark sends: recipients, the two endpoint shapes, the bounded-concurrency loops.

The endpoint shapes mirror what the providers put on the wire (path, headers, and the parameters
as a JSON body for TextUs, in the query string for TrackDrive), so the raw aiohttp baseline does
exactly the same HTTP work as the SDK and the ratio measures the SDK.
"""

from __future__ import annotations

import asyncio
import base64
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from typing import Any, TypeVar

import attrs

T = TypeVar("T")

BODY = "Hello from the benchmark"
CONCURRENCY = 64

TEXTUS_TOKEN = "bench-textus-token"
TEXTUS_ACCOUNT = "bench"
TRACKDRIVE_PUBLIC = "tdpub_bench"
TRACKDRIVE_PRIVATE = "tdprv_bench"
USER_AGENT = "smsbridge-python/0.1.0"


def number(i: int) -> str:
    """The ``i``-th distinct valid US number (+1 303 2XX XXXX): one million of them."""
    return f"+1303{200 + (i // 10_000) % 100:03d}{i % 10_000:04d}"


def numbers(count: int, start: int = 0) -> list[str]:
    return [number(i) for i in range(start, start + count)]


async def agen_numbers(count: int) -> AsyncIterator[str]:
    """An async generator of ``count`` distinct numbers (the memory benchmark's input)."""
    for i in range(count):
        yield number(i)


@attrs.frozen
class Endpoint:
    """One provider's send request, as the raw baseline sends it."""

    name: str
    prefix: str  # appended to the server's URL to make the provider's base_url
    path: str
    headers: dict[str, str]
    body_key: str  # "body" for TextUs, "message" for TrackDrive
    body_first: bool = False  # key order as the provider writes it (same bytes on the wire)
    # TrackDrive's documented send carries every parameter in the query string and no body.
    in_query: bool = False

    def base_url(self, server_url: str) -> str:
        return server_url + self.prefix

    def url(self, server_url: str) -> str:
        return self.base_url(server_url) + self.path

    def payload(self, to: str, body: str = BODY) -> dict[str, Any]:
        if self.body_first:
            return {self.body_key: body, "to": to}
        return {"to": to, self.body_key: body}


TEXTUS = Endpoint(
    name="textus",
    prefix="/textus",
    path=f"/{TEXTUS_ACCOUNT}/messages",
    headers={
        "User-Agent": USER_AGENT,
        "Authorization": f"Bearer {TEXTUS_TOKEN}",
        "Accept": "application/vnd.textus+jsonld",
        "Content-Type": "application/vnd.textus+jsonld",
    },
    body_key="body",
)
TRACKDRIVE = Endpoint(
    name="trackdrive",
    prefix="/trackdrive/api/v1",
    path="/text_messages",
    headers={
        "User-Agent": USER_AGENT,
        "Authorization": "Basic "
        + base64.b64encode(f"{TRACKDRIVE_PUBLIC}:{TRACKDRIVE_PRIVATE}".encode()).decode(),
        "Accept": "application/json",
    },
    body_key="message",
    body_first=True,
    in_query=True,
)
ENDPOINTS = (TEXTUS, TRACKDRIVE)


@attrs.frozen
class RunResult:
    """One timed client run."""

    endpoint: str
    client: str
    messages: int
    ok: int
    seconds: float
    cpu_seconds: float  # this process's CPU time during the run
    server_cpu_seconds: float | None = None

    @property
    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds > 0 else 0.0

    @property
    def client_cpu_share(self) -> float:
        """Near 1.0 when the client had a core to itself; lower means it was preempted."""
        return self.cpu_seconds / self.seconds if self.seconds > 0 else 0.0

    @property
    def server_busy(self) -> float | None:
        if self.server_cpu_seconds is None or self.seconds <= 0:
            return None
        return self.server_cpu_seconds / self.seconds

    def to_json(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "client": self.client,
            "messages": self.messages,
            "ok": self.ok,
            "seconds": round(self.seconds, 4),
            "rate": round(self.rate, 1),
            "client_cpu_share": round(self.client_cpu_share, 3),
            "server_busy": None if self.server_busy is None else round(self.server_busy, 3),
        }


class Stopwatch:
    """Wall and process CPU time of a block."""

    def __enter__(self) -> Stopwatch:
        self.wall = self.cpu = 0.0
        self._wall = time.perf_counter()
        self._cpu = time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self._wall
        self.cpu = time.process_time() - self._cpu


async def run_bounded(
    items: Iterable[T], concurrency: int, send: Callable[[T], Awaitable[object]]
) -> int:
    """Send every item, at most ``concurrency`` at once (one task each, gated by a semaphore).

    Returns how many sends returned without raising; exceptions are counted, not propagated.
    """
    semaphore = asyncio.Semaphore(concurrency)
    ok = 0
    running: set[asyncio.Task[None]] = set()

    async def one(item: T) -> None:
        nonlocal ok
        try:
            await send(item)
            ok += 1
        except Exception:  # a failed send is counted as not ok; the run goes on
            pass
        finally:
            semaphore.release()

    for item in items:
        await semaphore.acquire()
        task = asyncio.create_task(one(item))
        running.add(task)
        task.add_done_callback(running.discard)
    for _ in range(concurrency):
        await semaphore.acquire()
    return ok


async def run_workers(
    items: Iterable[T], concurrency: int, send: Callable[[T], Awaitable[object]]
) -> int:
    """Send every item from ``concurrency`` long-lived worker tasks sharing one iterator."""
    iterator: Iterator[T] = iter(items)
    ok = 0

    async def worker() -> None:
        nonlocal ok
        for item in iterator:
            try:
                await send(item)
                ok += 1
            except Exception:  # counted as not ok
                pass

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return ok


def load_average() -> tuple[float, float, float]:
    return os.getloadavg()
