"""The dispatcher's throttle honours a 429's wait from any provider only through the same gate
as the HTTP pipeline: capped at the limiters' max_pause, ignored when not a finite number >= 0.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from smsbridge import Dispatcher, Message, OutcomeStatus, RateLimiter, RetryPolicy
from smsbridge.testing import FakeProvider, Fault


async def finished_within(seconds: float, dispatcher: Dispatcher, message: Message) -> Any:
    # Cancelled from a thread: the loop's timers are part of what is under test.
    loop = asyncio.get_running_loop()
    task = loop.create_task(dispatcher.send(message))
    timer = threading.Timer(seconds, lambda: loop.call_soon_threadsafe(task.cancel))
    timer.start()
    try:
        return await task
    except asyncio.CancelledError:
        pytest.fail(f"the job did not finish within {seconds:g}s: a 429's wait froze it")
    finally:
        timer.cancel()


@pytest.mark.parametrize("retry_after", [1e9, float("inf"), float("nan"), -5.0])
async def test_a_provider_429_with_an_absurd_wait_never_freezes_the_workers(
    numbers, loop_watchdog, retry_after
):
    fake = FakeProvider(script=[Fault("rate_limit", retry_after=retry_after)] * 2, seed=1)
    recipients = numbers(20)
    async with Dispatcher(fake, concurrency=4, rate_limit=RateLimiter(1000, 1.0, max_pause=0.2),
                          retry=RetryPolicy(max_retries=2, initial_backoff=0.01,
                                            max_backoff=0.02)) as dispatcher:
        report = await finished_within(20.0, dispatcher, Message(to=recipients, body="hi"))
    assert report.total == len(recipients)
    assert all(o.status in (OutcomeStatus.SENT, OutcomeStatus.FAILED) for o in report.outcomes)
    assert report.sent >= len(recipients) - 2
    assert max(fake.accepted_numbers().values()) == 1
    assert await loop_watchdog.alive(), "the loop stopped firing unrelated timers"
