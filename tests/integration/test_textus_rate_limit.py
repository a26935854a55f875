"""TextUs's per-token rate limit, served by the sandbox's limiter (fixed windows aligned on
multiples of the window length, ``X-RateLimit-*`` on every answer, 429 + ``Retry-After``)."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from typing import Any

import pytest

from smsbridge import Dispatcher, Message, Permit, RateLimiter, RetryPolicy
from smsbridge.errors import RateLimitError
from smsbridge.limits.state import RateLimitState
from smsbridge.providers.textus import TextUsProvider
from smsbridge.sandbox import Sandbox

NUMBERS = ["+13035551234", "+17205550123", "+13035559876"]


async def start_of_window(window: float, needed: float) -> None:
    """Wait, if need be, so that ``needed`` seconds are left in the current window."""
    left = window - time.time() % window
    if left < needed:
        await asyncio.sleep(left + 0.01)


async def test_a_429_is_retried_after_its_retry_after_and_sends_once(
    make_textus: Callable[..., TextUsProvider], wire: Any
) -> None:
    async with Sandbox(seed=1, textus_rate_limit=(2, 1.0)) as sb, \
            make_textus(sb, rate_limiter=None) as textus:
        await start_of_window(1.0, 0.3)
        for number in NUMBERS:
            await textus.send(Message(to=number, body="Hi"))
        assert wire.statuses() == [201, 201, 429, 201]
        assert sb.accepted_numbers() == NUMBERS  # the refused attempt stored nothing
        window_end = math.ceil(sb.records[0].accepted_at)
        assert sb.records[2].accepted_at >= window_end  # it waited for the next window
        state = textus.rate_limit_state
        assert state is not None and (state.limit, state.remaining) == (2, 1)


async def test_a_429_past_the_retry_budget_is_a_rate_limit_error_with_retry_after(
    make_textus: Callable[..., TextUsProvider], wire: Any
) -> None:
    async with Sandbox(seed=1, textus_rate_limit=(1, 30.0)) as sb, \
            make_textus(sb, rate_limiter=None, retry=RetryPolicy(max_retries=0)) as textus:
        await start_of_window(30.0, 1.0)
        await textus.send(Message(to=NUMBERS[0], body="Hi"))
        with pytest.raises(RateLimitError) as caught:
            await textus.send(Message(to=NUMBERS[1], body="Hi"))
    error = caught.value
    assert error.status == 429 and not error.may_have_been_sent
    assert error.retry_after is not None and 1 <= error.retry_after <= 30
    assert wire.statuses() == [201, 429]
    assert sb.accepted_numbers() == NUMBERS[:1]


async def test_the_default_limiter_follows_remaining_and_never_draws_a_429(
    make_textus: Callable[..., TextUsProvider], wire: Any
) -> None:
    async with Sandbox(seed=1, textus_rate_limit=(2, 1.0)) as sb, make_textus(sb) as textus:
        await start_of_window(1.0, 0.3)
        for number in NUMBERS:
            await textus.send(Message(to=number, body="Hi"))
        assert wire.statuses() == [201, 201, 201]
        assert textus.rate_limiter is not None and textus.rate_limiter.pauses >= 1
        assert sb.records[2].accepted_at >= math.ceil(sb.records[0].accepted_at)


class CountingLimiter(RateLimiter):
    """A real in-process limiter that records every pause asked of it, and ignores the
    advertised ``X-RateLimit-Remaining`` (so that it meets the server's 429)."""

    def __init__(self, rate: float) -> None:
        super().__init__(rate)
        self.pause_calls: list[float] = []

    async def pause(self, seconds: float) -> None:
        self.pause_calls.append(seconds)
        await super().pause(seconds)

    async def observe(self, state: RateLimitState) -> None:
        return None


async def test_a_429_in_a_bulk_send_pauses_the_provider_limiter_once(
    make_textus: Callable[..., TextUsProvider], wire: Any
) -> None:
    # The provider's own retries are off, so the 429 reaches the dispatcher too: the pipeline
    # that owns the limiter pauses it; the dispatcher only waits on it, it does not pause again.
    limiter = CountingLimiter(100.0)
    async with Sandbox(seed=1, textus_rate_limit=(2, 1.0)) as sb, make_textus(
            sb, rate_limiter=limiter, retry=RetryPolicy(max_retries=0)) as textus:
        await start_of_window(1.0, 0.5)
        report = await Dispatcher(textus, concurrency=1).send(
            Message(to=NUMBERS, body="Hi"))
    assert report.sent == 3
    assert wire.statuses().count(429) == 1
    assert len(limiter.pause_calls) == 1
    assert sb.records[2].accepted_at >= math.ceil(sb.records[0].accepted_at)


class AcquireCounter(RateLimiter):
    """A real in-process limiter that counts the permits it grants."""

    def __init__(self, rate: float) -> None:
        super().__init__(rate)
        self.granted = 0

    async def acquire(self) -> Permit:
        self.granted += 1
        return await super().acquire()


async def test_a_bulk_send_acquires_the_provider_limiter_once_per_request(
    make_textus: Callable[..., TextUsProvider], wire: Any
) -> None:
    # The dispatcher acquires before the in-flight mark and hands the permit down with the
    # send: the pipeline uses it instead of acquiring again.
    limiter = AcquireCounter(1000.0)
    numbers = [f"+1303555{i:04d}" for i in range(100, 130)]
    async with Sandbox(seed=1) as sb, make_textus(sb, rate_limiter=limiter) as textus:
        report = await Dispatcher(textus, concurrency=8).send(Message(to=numbers, body="Hi"))
    assert report.sent == 30
    assert len(wire.statuses()) == 30
    assert limiter.granted == 30
