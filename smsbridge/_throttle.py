"""The dispatcher's throttle: its own rate limiter (if any) and a pause all workers honour.

How it combines with the provider's limiter: a built-in provider throttles every request it
makes (``provider.rate_limiter``, retries included), pauses that limiter on a 429 and follows
``X-RateLimit-Remaining``. The dispatcher adds no second bucket on top of it: before each send
it *reserves* the provider's next token (``RateLimiter.reserve``), so the request leaves right
after its in-flight mark is journaled and the provider's own ``acquire`` does not wait again.
A provider with no ``rate_limiter`` attribute at all gets a limiter from
``capabilities.rate_limit``, applied by the dispatcher (a built-in provider created with
``rate_limiter=None`` is left unlimited, as asked). An explicit ``rate_limit`` is a second
bucket the dispatcher applies first (per request; per batch in batch mode), so the stricter of
the two wins. A 429 that reaches the dispatcher pauses both.
"""

from __future__ import annotations

import asyncio
import time

from . import _constants as C
from ._retry import server_delay
from .errors import ConfigurationError
from .protocol import MessagingProvider, RateLimit
from .ratelimit import RateLimiter

RateLimitSetting = float | int | RateLimit | RateLimiter | None


class Throttle:
    """``acquire()`` before each send; ``pause(s)`` holds every worker (a 429)."""

    def __init__(self, limiter: RateLimiter | None, shared: RateLimiter | None) -> None:
        self.limiter = limiter  # applied by the dispatcher
        self.shared = shared  # the provider's own, applied by the provider
        self._paused_until = 0.0
        # Nothing to wait for or take (no limiter, never paused): a worker then skips
        # acquire()/release() altogether, the common case of an unlimited provider.
        self.idle = limiter is None and shared is None

    async def acquire(self) -> None:
        if self.limiter is not None:
            await self.limiter.acquire()  # it honours its own pause
        if self.shared is not None:
            await self.shared.reserve()  # honours the provider's pause and headroom too
            return
        if self.limiter is not None:
            return
        while True:
            wait = self._paused_until - time.monotonic()
            if wait <= 0:
                return
            await asyncio.sleep(wait)

    def release(self) -> None:
        """After the provider call: drop a reservation the provider did not use."""
        if self.shared is not None:
            RateLimiter.release_reservation()

    @property
    def max_pause(self) -> float:
        """The longest a server-given delay holds the workers: the limiters' longest cap."""
        caps = [lim.max_pause for lim in (self.limiter, self.shared) if lim is not None]
        return max(caps) if caps else C.MAX_RETRY_AFTER

    def pause(self, seconds: float) -> None:
        delay = server_delay(seconds, self.max_pause)
        if delay is None:
            return
        self.idle = False
        for limiter in (self.limiter, self.shared):
            if limiter is not None:
                limiter.pause(delay)
        self._paused_until = max(self._paused_until, time.monotonic() + delay)


def _limiter(requests: float, period: float) -> RateLimiter:
    if requests <= 0 or period <= 0:
        raise ConfigurationError(
            f"a rate limit must be positive (got {requests:g} per {period:g}s)")
    return RateLimiter(requests, period)


def resolve_throttle(provider: MessagingProvider, setting: RateLimitSetting) -> Throttle:
    # A provider with a ``rate_limiter`` attribute manages its own rate, even when the user
    # turned it off (``rate_limiter=None``): the dispatcher then adds none by default.
    manages_rate = hasattr(provider, "rate_limiter")
    shared = getattr(provider, "rate_limiter", None)
    if not isinstance(shared, RateLimiter):
        shared = None
    if setting is None:
        if manages_rate:
            return Throttle(None, shared)
        limit = provider.capabilities.rate_limit
        return Throttle(_limiter(limit.requests, limit.period) if limit else None, None)
    if isinstance(setting, RateLimiter):
        return Throttle(None if setting is shared else setting, shared)
    if isinstance(setting, RateLimit):
        return Throttle(_limiter(setting.requests, setting.period), shared)
    if isinstance(setting, int | float) and not isinstance(setting, bool):
        return Throttle(_limiter(float(setting), 1.0), shared)
    raise ConfigurationError(
        "rate_limit must be messages per second (a number), a RateLimit, a RateLimiter or None "
        f"(got {type(setting).__name__})")
