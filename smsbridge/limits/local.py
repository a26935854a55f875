"""A shared rate limiter: aiolimiter's leaky bucket plus a pause every waiter honours.

One limiter is shared by every request of a provider (and every worker of a dispatcher), so a
429 with Retry-After pauses all of them, and server-advertised headroom
(``X-RateLimit-Remaining`` / ``X-RateLimit-Reset``) is followed before it runs out.
"""

from __future__ import annotations

import asyncio
import time

from aiolimiter import AsyncLimiter

from .. import _constants as C
from ..transport.retry import server_delay
from .protocol import Permit
from .state import RateLimitState


class RateLimiter:
    """``max_rate`` acquisitions per ``period`` seconds, pausable by the server: the in-process
    :class:`~smsbridge.limits.Limiter`.

    ``burst`` caps how many acquisitions may happen back to back (default: 50 ms worth of the
    rate, at least one). A larger burst on top of the continuous refill lets more than the limit
    out within one of the server's fixed windows, which draws 429s.

    ``max_pause`` is the longest a server can hold this limiter (a 429's Retry-After, a far
    X-RateLimit-Reset): default ``max(period, 60 s)``, one full window. A longer server-given
    delay is capped to it; one that is not a finite number >= 0 is ignored.
    """

    def __init__(
        self,
        max_rate: float,
        period: float = 1.0,
        *,
        burst: float | None = None,
        max_pause: float | None = None,
    ) -> None:
        if max_rate <= 0 or period <= 0:
            raise ValueError("rate limit must be positive (requests > 0 per period > 0 seconds)")
        if max_pause is not None and not (0 <= max_pause < float("inf")):
            raise ValueError("max_pause must be a finite number of seconds >= 0")
        self.max_rate = max_rate
        self.period = period
        self.max_pause: float = (
            max(period, C.MAX_RETRY_AFTER) if max_pause is None else float(max_pause))
        per_second = max_rate / period
        capacity = burst if burst is not None else max(
            1.0, per_second * C.RATE_LIMIT_BURST_SECONDS)
        self.burst = capacity
        # aiolimiter's capacity is max_rate over time_period; keep the rate, bound the burst.
        self._limiter = AsyncLimiter(capacity, capacity / per_second)
        self._paused_until = 0.0
        self._budget: int | None = None  # server-advertised requests left, minus ours since
        self._budget_reset_at = 0.0
        self.state: RateLimitState | None = None
        self.pauses = 0
        # A permit carries no per-acquisition state: one object serves every acquisition.
        self._permit = Permit(self)

    @property
    def rate(self) -> float:
        """Acquisitions per second."""
        return self.max_rate / self.period

    async def acquire(self) -> Permit:
        while True:
            wait = self._paused_until - time.monotonic()
            if wait <= 0:
                break
            await asyncio.sleep(wait)
            if self._budget is not None and time.time() >= self._budget_reset_at:
                self._budget = None
        await self._limiter.acquire()
        if self._budget is not None:
            if time.time() >= self._budget_reset_at:
                self._budget = None
            else:
                self._budget -= 1
                if self._budget <= 0:
                    self._hold(self._budget_reset_at - time.time())
        return self._permit

    async def pause(self, seconds: float) -> None:
        """Hold every waiter for ``seconds`` (a 429 with Retry-After), at most ``max_pause``."""
        self._hold(seconds)

    def _hold(self, seconds: float) -> None:
        delay = server_delay(seconds, self.max_pause)
        if delay is None:
            return
        until = time.monotonic() + delay
        if until > self._paused_until:
            self._paused_until = until
            self.pauses += 1

    async def observe(self, state: RateLimitState) -> None:
        """Follow the server's advertised headroom: when it is spent, wait for the reset."""
        self.state = state
        remaining = state.remaining
        if remaining is None or state.reset_at is None:
            return
        now = time.time()
        horizon = server_delay(state.reset_at - now, self.max_pause)
        if horizon is None or horizon == 0:
            return
        # A reset in 2100 must not hold the budget spent for decades: it counts as max_pause.
        reset_at = min(state.reset_at, now + self.max_pause)
        # The lowest figure wins: responses arrive out of order under concurrency.
        if self._budget is None or reset_at > self._budget_reset_at:
            self._budget = remaining
            self._budget_reset_at = reset_at
        else:
            self._budget = min(self._budget, remaining)
        if self._budget <= 0:
            self._hold(self._budget_reset_at - time.time())

    def __repr__(self) -> str:
        return f"RateLimiter({self.max_rate:g} per {self.period:g}s)"
