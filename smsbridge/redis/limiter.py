"""A rate limit shared by every process through Redis: GCRA in one Lua script.

Each :meth:`RedisLimiter.acquire` is one round trip: a script reads Redis's own clock
(``TIME``, so the workers' clocks do not matter), *reserves* the next send slot of the shared
schedule and returns how long to wait for it; the caller sleeps locally. Reserving rather than
asking "may I now?" in a loop keeps it at one round trip however many workers compete. Slots
are reserved at most ``lookahead`` seconds ahead (further out, the script reserves nothing and
says when to ask again), which bounds how much a lost Redis state can hide.

Shared state, all under one hash tag (one Redis Cluster slot):

- the schedule (GCRA's theoretical arrival time);
- a pause: :meth:`pause` (a 429's Retry-After) holds every process, and pushes the schedule
  past the pause so the rate resumes without a burst;
- the server's budget: :meth:`observe` (``X-RateLimit-Remaining`` / ``X-RateLimit-Reset``)
  travels with this process's next acquire (no extra round trip); once the lowest figure seen
  for the current window is spent, nobody's slot comes before its reset.

A Redis that comes back empty (restarted without persistence, flushed, failed over to a stale
replica) has no schedule: the script then takes the bucket as emptied just now, with every
slot up to ``lookahead`` already promised, so no burst above the limit follows. With AOF
(``appendfsync always``) a restart keeps the schedule and nothing changes.

When Redis is unreachable or slow the limiter never lets a request go: :meth:`acquire` waits at
most ``timeout`` seconds and raises :class:`~smsbridge.redis.errors.LimiterUnavailableError`
(the message names the Redis URL, password masked). There is no fall-back to a local limiter.
"""

from __future__ import annotations

import asyncio
import math
import time
from typing import TYPE_CHECKING

import redis.asyncio as aioredis

from .. import _constants as C
from ..errors import ConfigurationError
from ..limits.protocol import Permit
from ._connection import DEFAULT_TIMEOUT, RedisConnection, Script
from .errors import LimiterUnavailableError
from .keys import LimiterKeys, account_id

if TYPE_CHECKING:
    from ..ratelimit import RateLimitState

__all__ = ["RedisLimiter"]

_ACQUIRE = Script("gcra_acquire.lua")
_PAUSE = Script("gcra_pause.lua")
_US = 1_000_000
_MIN_LOOKAHEAD = 1.0  # seconds; with a slow rate, at least a few slots ahead
_LOOKAHEAD_SLOTS = 8
_MIN_KEEP_MS = 86_400_000  # an idle schedule is kept a day (a lost one costs one look-ahead)


class RedisLimiter:
    """``max_rate`` requests per ``period`` seconds across every process sharing ``limiter_id``.

    Use :meth:`for_account` to derive the id from the provider account and token (hashed; the
    token is never stored or sent). ``burst`` is how many requests may go back to back after an
    idle spell (default as the in-process limiter: 50 ms worth of the rate, at least one).
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        limiter_id: str,
        max_rate: float,
        period: float = 1.0,
        burst: float | None = None,
        lookahead: float | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        client: aioredis.Redis | None = None,
    ) -> None:
        if not (_positive(max_rate) and _positive(period)):
            raise ConfigurationError(
                f"a rate limit must be positive (got {max_rate!r} per {period!r}s)")
        interval = period / max_rate
        if burst is None:
            burst = max(1.0, max_rate / period * C.RATE_LIMIT_BURST_SECONDS)
        if not (_positive(burst) and burst >= 1):
            raise ConfigurationError(f"burst must be at least 1 request (got {burst!r})")
        if lookahead is None:
            lookahead = min(period, max(_MIN_LOOKAHEAD, _LOOKAHEAD_SLOTS * interval))
        if not _positive(lookahead):
            raise ConfigurationError(f"lookahead must be positive seconds (got {lookahead!r})")
        try:
            self.keys = LimiterKeys(limiter_id)
        except ValueError as exc:
            raise ConfigurationError(str(exc)) from None
        self.max_rate = float(max_rate)
        self.period = float(period)
        self.burst = float(burst)
        self.lookahead = float(lookahead)
        self._connection = RedisConnection(url, client=client, timeout=timeout)
        self._interval_us = round(interval * _US)
        self._tau_us = round((burst - 1) * interval * _US)
        self._lookahead_us = round(lookahead * _US)
        self._keep_ms = max(_MIN_KEEP_MS, round(2 * period * 1000))
        self._observed: tuple[int, int] | None = None  # (remaining, reset unix us), not yet sent
        self._pauses = 0  # bumped by pause(): a slot reserved before it is given up
        self.round_trips = 0

    @classmethod
    def for_account(
        cls,
        url: str | None = None,
        *,
        provider: str,
        account: str,
        token: str,
        max_rate: float,
        period: float = 1.0,
        **options: object,
    ) -> RedisLimiter:
        """The limiter every process using this provider account and token shares."""
        return cls(url, limiter_id=account_id(provider, account, token), max_rate=max_rate,
                   period=period, **options)  # type: ignore[arg-type]

    @property
    def url(self) -> str:
        """The Redis URL, password masked."""
        return self._connection.url

    @property
    def rate(self) -> float:
        """Requests per second."""
        return self.max_rate / self.period

    async def acquire(self) -> Permit:
        while True:
            pauses = self._pauses
            granted, wait = await self._reserve()
            if wait > 0:
                await asyncio.sleep(wait)
            # A pause this process learned of while we slept overrides our earlier slot.
            if granted and pauses == self._pauses:
                return Permit(self)

    async def _reserve(self) -> tuple[bool, float]:
        observed, self._observed = self._observed, None
        args: list[str | int] = [self._interval_us, self._tau_us, self._lookahead_us,
                                 self._keep_ms, "", ""]
        if observed is not None:
            args[4], args[5] = observed
        try:
            reply = await self._connection.run(
                _ACQUIRE, self.keys.all, args, "a rate-limit request", LimiterUnavailableError)
        except LimiterUnavailableError:
            if observed is not None:  # not applied: it goes with the next attempt
                self._merge(*observed)
            raise
        self.round_trips += 1
        granted, wait_us = reply
        return bool(int(granted)), max(0, int(wait_us)) / _US

    async def pause(self, seconds: float) -> None:
        """Hold every process for ``seconds`` (the longest pause wins)."""
        self._pauses += 1
        length = round(max(seconds, 0.0) * _US)
        if length <= 0:
            return
        await self._connection.run(
            _PAUSE, self.keys.all,
            [length, self._tau_us, self._lookahead_us, self._keep_ms, self.keys.channel],
            "a rate-limit pause", LimiterUnavailableError)
        self.round_trips += 1

    async def observe(self, state: RateLimitState) -> None:
        """Tighten the shared budget to the server's figure; sent with the next acquire."""
        if state.remaining is None or state.reset_at is None:
            return
        self._merge(max(0, state.remaining), round(state.reset_at * _US))

    def _merge(self, remaining: int, reset_us: int) -> None:
        if time.time() * _US >= reset_us:
            return
        current = self._observed
        if current is None or reset_us > current[1]:
            self._observed = (remaining, reset_us)
        elif reset_us == current[1]:
            self._observed = (min(remaining, current[0]), reset_us)

    async def aclose(self) -> None:
        await self._connection.aclose()

    def __repr__(self) -> str:
        return f"RedisLimiter({self.max_rate:g} per {self.period:g}s at {self.url})"


def _positive(value: object) -> bool:
    return (isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(value) and value > 0)
