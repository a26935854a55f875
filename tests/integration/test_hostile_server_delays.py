"""A server giving absurd delays (Retry-After, retry-after-ms, X-RateLimit-Reset) cannot freeze a
job or the event loop: every recipient still gets an outcome and unrelated timers keep firing.

The server is a real aiohttp app on loopback answering TextUs sends; the provider, its limiter,
the pipeline and the dispatcher are the real ones.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import pytest
from aiohttp import web

from smsbridge import Dispatcher, Message, OutcomeStatus, RateLimiter, RetryPolicy
from smsbridge.providers.textus import TextUsProvider

T = TypeVar("T")
ACCOUNT = "acct"
RECIPIENTS = [f"+1303555{n:04d}" for n in range(30)]
HOSTILE_RETRY_AFTER = [
    {"Retry-After": "1000000000"},
    {"Retry-After": "inf"},
    {"Retry-After": "nan"},
    {"Retry-After": "-5"},
    {"Retry-After": "Fri, 01 Jan 2100 00:00:00 GMT"},
    {"retry-after-ms": "nan"},
    {"retry-after-ms": "inf", "Retry-After": "nan"},
]
HOSTILE_RESET = ["4102444800", "inf", "nan", "1e400"]  # 2100-01-01, and no figure at all


def send_handler(
    hostile_429s: int, headers_429: dict[str, str], ok_headers: dict[str, str] | None = None
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """The first ``hostile_429s`` sends get a 429 with ``headers_429``; the rest are accepted."""
    counter = itertools.count(1)

    async def handle(request: web.Request) -> web.StreamResponse:
        n = next(counter)
        await request.read()
        if n <= hostile_429s:
            return web.json_response({"hydra:description": "slow down"}, status=429,
                                     headers=headers_429)
        return web.json_response({"id": f"/messages/m{n}", "deliveryState": "queued"},
                                 status=201, headers=ok_headers)

    return handle


async def within(seconds: float, coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro``, cancelling it from a thread after ``seconds``: loop timers are not trusted,
    since ``asyncio.sleep(nan)`` breaks their ordering and a ``wait_for`` may never fire."""
    loop = asyncio.get_running_loop()
    task = loop.create_task(coro)
    timer = threading.Timer(seconds, lambda: loop.call_soon_threadsafe(task.cancel))
    timer.start()
    try:
        return await task
    except asyncio.CancelledError:
        pytest.fail(f"the job did not finish within {seconds:g}s: a server delay froze it")
    finally:
        timer.cancel()


def provider(url: str) -> TextUsProvider:
    # A short max_pause keeps the test fast; the default (one window, >= 60 s) caps the same way.
    return TextUsProvider(
        "token", ACCOUNT, base_url=url,
        rate_limiter=RateLimiter(1000, 1.0, max_pause=0.2),
        retry=RetryPolicy(max_retries=2, initial_backoff=0.01, max_backoff=0.02,
                          max_retry_after=0.5),
    )


async def run_job(url: str) -> Any:
    textus = provider(url)
    try:
        async with Dispatcher(textus, concurrency=4,
                              retry=RetryPolicy(max_retries=1, initial_backoff=0.01,
                                                max_backoff=0.02)) as dispatcher:
            return await dispatcher.send(Message(to=RECIPIENTS, body="hello"))
    finally:
        await textus.aclose()


@pytest.mark.parametrize("headers", HOSTILE_RETRY_AFTER, ids=lambda h: repr(h))
async def test_a_hostile_retry_after_never_freezes_the_job_or_the_loop(
    serve, loop_watchdog, headers
):
    async with serve(send_handler(3, headers)) as url:
        report = await within(20.0, run_job(url))
    assert report.total == len(RECIPIENTS)
    assert all(o.status in (OutcomeStatus.SENT, OutcomeStatus.FAILED) for o in report.outcomes)
    assert report.sent >= len(RECIPIENTS) - 3  # at most the recipients that met a 429 failed
    assert await loop_watchdog.alive(), "the loop stopped firing unrelated timers"


@pytest.mark.parametrize("reset", HOSTILE_RESET)
async def test_a_hostile_rate_limit_reset_never_freezes_the_job_or_the_loop(
    serve, loop_watchdog, reset
):
    ok_headers = {"X-RateLimit-Limit": "1000", "X-RateLimit-Remaining": "0",
                  "X-RateLimit-Reset": reset}
    async with serve(send_handler(0, {}, ok_headers)) as url:
        report = await within(20.0, run_job(url))
    assert report.counts[OutcomeStatus.SENT] == len(RECIPIENTS)
    assert await loop_watchdog.alive(), "the loop stopped firing unrelated timers"
