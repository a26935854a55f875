"""RateLimiter: the leaky bucket, pause() for 429s, and observe() for X-RateLimit-* headers."""

from __future__ import annotations

import asyncio
import time

import pytest
from multidict import CIMultiDict

from smsbridge.limits.local import RateLimiter
from smsbridge.limits.state import RateLimitState


def test_state_is_read_from_headers():
    state = RateLimitState.from_headers(CIMultiDict({
        "X-RateLimit-Limit": "1000", "x-ratelimit-remaining": "998",
        "X-RateLimit-Reset": "1700000000"}))
    assert state == RateLimitState(limit=1000, remaining=998, reset_at=1700000000.0)


def test_state_tolerates_missing_and_odd_values():
    assert RateLimitState.from_headers(CIMultiDict({"X-RateLimit-Limit": "10"})) is None
    odd = RateLimitState.from_headers(CIMultiDict({
        "X-RateLimit-Remaining": "5.0", "X-RateLimit-Reset": "later", "X-RateLimit-Limit": "x"}))
    assert odd == RateLimitState(limit=None, remaining=5, reset_at=None)


@pytest.mark.parametrize(("rate", "period"), [(0, 1.0), (1, 0), (-1, 1.0)])
def test_non_positive_limits_are_rejected(rate, period):
    with pytest.raises(ValueError, match="positive"):
        RateLimiter(rate, period)


def test_rate_and_repr():
    limiter = RateLimiter(1000, 300.0)
    assert limiter.rate == pytest.approx(1000 / 300)
    assert repr(limiter) == "RateLimiter(1000 per 300s)"


async def test_acquire_spaces_requests_at_the_rate_after_the_burst():
    limiter = RateLimiter(50, 1.0, burst=1)  # one at a time, 20 ms apart
    started = time.monotonic()
    for _ in range(5):
        await limiter.acquire()
    assert time.monotonic() - started >= 0.06


async def test_pause_holds_every_waiter():
    limiter = RateLimiter(1000, 1.0)
    await limiter.pause(0.05)
    started = time.monotonic()
    await asyncio.gather(*(limiter.acquire() for _ in range(3)))
    assert time.monotonic() - started >= 0.045
    assert limiter.pauses == 1


async def test_a_shorter_pause_never_shortens_a_longer_one():
    limiter = RateLimiter(1000, 1.0)
    await limiter.pause(10)
    await limiter.pause(0.01)
    assert limiter.pauses == 1
    assert limiter._paused_until - time.monotonic() > 9


async def test_observe_pauses_when_the_server_budget_is_spent():
    limiter = RateLimiter(1000, 1.0)
    state = RateLimitState(limit=1000, remaining=0, reset_at=time.time() + 30)
    await limiter.observe(state)
    assert limiter.state is state
    assert limiter.pauses == 1
    assert 29 <= limiter._paused_until - time.monotonic() <= 30.5


async def test_observe_ignores_a_past_reset_and_incomplete_state():
    limiter = RateLimiter(1000, 1.0)
    await limiter.observe(RateLimitState(limit=10, remaining=0, reset_at=time.time() - 1))
    await limiter.observe(RateLimitState(limit=10, remaining=0, reset_at=None))
    assert limiter.pauses == 0


async def test_observe_keeps_the_lowest_remaining_figure_within_a_window():
    limiter = RateLimiter(1000, 1.0)
    reset = time.time() + 60
    await limiter.observe(RateLimitState(limit=10, remaining=3, reset_at=reset))
    await limiter.observe(RateLimitState(limit=10, remaining=7, reset_at=reset))  # arrived late
    assert limiter._budget == 3
    await limiter.observe(RateLimitState(limit=10, remaining=9, reset_at=reset + 300))  # new window
    assert limiter._budget == 9


async def test_our_own_requests_spend_the_advertised_budget():
    limiter = RateLimiter(1000, 1.0)
    await limiter.observe(RateLimitState(limit=10, remaining=2, reset_at=time.time() + 60))
    await limiter.acquire()
    assert limiter.pauses == 0
    await limiter.acquire()
    assert limiter.pauses == 1  # the second request used the last slot: wait for the reset


@pytest.mark.parametrize("seconds", [1e9, float("inf")])
async def test_a_huge_pause_is_capped_at_max_pause(seconds):
    limiter = RateLimiter(1000, 1.0, max_pause=0.05)
    await limiter.pause(seconds)
    started = time.monotonic()
    await asyncio.wait_for(limiter.acquire(), timeout=5.0)
    # inf is no delay at all (ignored); 1e9 is held for max_pause only.
    assert time.monotonic() - started < 2.0
    assert limiter.pauses == (1 if seconds == 1e9 else 0)


@pytest.mark.parametrize("seconds", [float("nan"), float("-inf"), -5.0])
async def test_a_nan_or_negative_pause_is_ignored(seconds):
    limiter = RateLimiter(1000, 1.0)
    await limiter.pause(seconds)
    await asyncio.wait_for(limiter.acquire(), timeout=5.0)
    assert limiter.pauses == 0


def test_max_pause_defaults_to_one_window_and_at_least_a_minute():
    assert RateLimiter(1000, 300.0).max_pause == 300.0
    assert RateLimiter(10, 1.0).max_pause == 60.0
    with pytest.raises(ValueError, match="max_pause"):
        RateLimiter(10, 1.0, max_pause=float("nan"))


@pytest.mark.parametrize("reset", ["inf", "nan", "1e400", "-inf"])
def test_state_ignores_a_non_finite_reset(reset):
    state = RateLimitState.from_headers(CIMultiDict({
        "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset}))
    assert state == RateLimitState(limit=None, remaining=0, reset_at=None)


async def test_a_reset_in_2100_holds_the_limiter_no_longer_than_max_pause():
    limiter = RateLimiter(1000, 1.0, max_pause=0.05)
    year_2100 = 4102444800.0
    await limiter.observe(RateLimitState(limit=1000, remaining=0, reset_at=year_2100))
    started = time.monotonic()
    for _ in range(3):  # the spent budget must not re-pause for decades after each request
        await asyncio.wait_for(limiter.acquire(), timeout=5.0)
    assert time.monotonic() - started < 3.0
