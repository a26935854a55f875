"""The dispatcher's throttle: its own rate limiter (if any) and a pause all workers honour.

How it combines with the provider's limiter: a pipelined provider (a built-in one, see
:class:`~smsbridge.protocol.PipelinedProvider`) throttles every request it makes
(``provider.rate_limiter``, retries included), pauses that limiter on a 429 and follows
``X-RateLimit-Remaining``. The dispatcher adds no second bucket on top of it: before each send
it acquires the provider's limiter itself and hands the :class:`~smsbridge.limits.Permit` down
with the send, so the request leaves right after its in-flight mark is journaled and the
pipeline does not wait again. Any :class:`~smsbridge.limits.Limiter` works the same way (an
in-process ``RateLimiter`` or a shared one): nothing here knows the concrete class.

A provider that is not pipelined but has a ``rate_limiter`` attribute throttles itself: the
dispatcher adds none by default (a built-in provider created with ``rate_limiter=None`` is left
unlimited, as asked). A provider with no ``rate_limiter`` attribute at all gets a limiter from
``capabilities.rate_limit``, applied by the dispatcher. An explicit ``rate_limit`` is a second
bucket the dispatcher applies first (per request; per batch in batch mode), so the stricter of
the two wins.

A 429 pauses exactly one limiter, once: the provider's, by the pipeline that owns it. The
dispatcher pauses (its own limiter and every worker) only when no provider limiter saw it.
"""

from __future__ import annotations

import asyncio
import time

from .. import _constants as C
from ..errors import ConfigurationError
from ..protocol import MessagingProvider, PipelinedProvider, RateLimit
from ..transport.retry import server_delay
from .local import RateLimiter
from .protocol import Limiter, Permit

RateLimitSetting = float | int | RateLimit | Limiter | None


class Throttle:
    """``acquire()`` before each send; ``pause(s)`` holds every worker (a 429)."""

    def __init__(self, limiter: Limiter | None, shared: Limiter | None) -> None:
        self.limiter = limiter  # applied by the dispatcher
        self.shared = shared  # the provider's own: acquired here, its permit handed down
        self._paused_until = 0.0
        # Nothing to wait for or take (no limiter, never paused): a worker then skips
        # acquire() altogether, the common case of an unlimited provider.
        self.idle = limiter is None and shared is None

    async def acquire(self) -> Permit | None:
        """Wait for permission to send; the provider's permit, if it has a limiter."""
        if self.limiter is not None:
            await self.limiter.acquire()  # it honours its own pause
        if self.shared is not None:
            return await self.shared.acquire()  # honours the provider's pause and headroom
        if self.limiter is not None:
            return None
        while True:
            wait = self._paused_until - time.monotonic()
            if wait <= 0:
                return None
            await asyncio.sleep(wait)

    async def pause(self, seconds: float) -> None:
        """A 429 reached the dispatcher: hold every worker ``seconds``.

        The provider's own limiter is not paused here: the pipeline that owns it already did,
        and every worker waits on it at its next acquire.
        """
        if self.shared is not None:
            return
        delay = server_delay(seconds, C.MAX_RETRY_AFTER)
        if delay is None:
            return
        self.idle = False
        if self.limiter is not None:
            await self.limiter.pause(delay)
        self._paused_until = max(self._paused_until, time.monotonic() + delay)


def _limiter(requests: float, period: float) -> RateLimiter:
    if requests <= 0 or period <= 0:
        raise ConfigurationError(
            f"a rate limit must be positive (got {requests:g} per {period:g}s)")
    return RateLimiter(requests, period)


def pipelined(provider: MessagingProvider) -> bool:
    """Whether ``send`` takes ``context=`` (checked once per job)."""
    return isinstance(provider, PipelinedProvider) and provider.accepts_send_context is True


def resolve_throttle(provider: MessagingProvider, setting: RateLimitSetting) -> Throttle:
    # A provider with a ``rate_limiter`` attribute manages its own rate, even when the user
    # turned it off (``rate_limiter=None``): the dispatcher then adds none by default.
    manages_rate = hasattr(provider, "rate_limiter")
    shared = getattr(provider, "rate_limiter", None) if pipelined(provider) else None
    if not isinstance(shared, Limiter):
        shared = None
    if setting is None:
        if manages_rate:
            return Throttle(None, shared)
        limit = provider.capabilities.rate_limit
        return Throttle(_limiter(limit.requests, limit.period) if limit else None, None)
    if isinstance(setting, RateLimit):
        return Throttle(_limiter(setting.requests, setting.period), shared)
    if isinstance(setting, int | float) and not isinstance(setting, bool):
        return Throttle(_limiter(float(setting), 1.0), shared)
    if isinstance(setting, Limiter):
        return Throttle(None if setting is shared else setting, shared)
    raise ConfigurationError(
        "rate_limit must be messages per second (a number), a RateLimit, a Limiter (e.g. a "
        f"RateLimiter) or None (got {type(setting).__name__})")
