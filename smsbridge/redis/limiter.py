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
  past the pause so the rate resumes without a burst. Every acquire honours it in the script;
  a slot reserved *before* the pause but due inside it is given up and reserved again, when
  this process hears of the pause: from its own :meth:`pause` at once, from other processes
  through a pub/sub message (normally within a millisecond; if the subscription is down, a
  slot reserved before the pause may still go, at most ``lookahead`` seconds into it);
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
import contextlib
import math
import time
from types import TracebackType
from typing import TYPE_CHECKING

import redis.asyncio as aioredis

from .. import _constants as C
from .._logging import logger
from ..errors import ConfigurationError
from ..limits.protocol import Permit
from ._connection import DEFAULT_TIMEOUT, RedisConnection, Script
from .errors import LimiterUnavailableError
from .keys import LimiterKeys, account_id

if TYPE_CHECKING:
    from ..limits.state import RateLimitState

__all__ = ["RedisLimiter"]

_ACQUIRE = Script("gcra_acquire.lua")
_PAUSE = Script("gcra_pause.lua")
_US = 1_000_000
_MIN_LOOKAHEAD = 1.0  # seconds; with a slow rate, at least a few slots ahead
_LOOKAHEAD_SLOTS = 8
_MIN_KEEP_MS = 86_400_000  # an idle schedule is kept a day (a lost one costs one look-ahead)
_LISTEN_POLL = 1.0  # seconds; get_message's wait, portable across redis-py versions
_RESUBSCRIBE_PAUSE = 1.0  # after the subscription failed (acquire reports a Redis outage)


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
        self._paused_until_us = 0  # the latest pause end heard of, Redis clock
        self._listener: asyncio.Task[None] | None = None
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
        burst: float | None = None,
        lookahead: float | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        client: aioredis.Redis | None = None,
    ) -> RedisLimiter:
        """The limiter every process using this provider account and token shares."""
        return cls(url, limiter_id=account_id(provider, account, token), max_rate=max_rate,
                   period=period, burst=burst, lookahead=lookahead, timeout=timeout,
                   client=client)

    @property
    def url(self) -> str:
        """The Redis URL, password masked."""
        return self._connection.url

    @property
    def rate(self) -> float:
        """Requests per second."""
        return self.max_rate / self.period

    async def acquire(self) -> Permit:
        if self._listener is None or self._listener.done():
            self._listener = asyncio.create_task(self._listen(), name="smsbridge-redis-pauses")
        while True:
            granted, wait, slot_us = await self._reserve()
            if wait > 0:
                await asyncio.sleep(wait)
            # A pause heard of while we slept, ending after our slot, overrides it.
            if granted and slot_us >= self._paused_until_us:
                return Permit(self)

    async def _reserve(self) -> tuple[bool, float, int]:
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
        granted, wait_us, slot_us = reply
        return bool(int(granted)), max(0, int(wait_us)) / _US, int(slot_us)

    async def pause(self, seconds: float) -> None:
        """Hold every process for ``seconds`` (the longest pause wins)."""
        length = round(max(seconds, 0.0) * _US)
        if length <= 0:
            return
        until = await self._connection.run(
            _PAUSE, self.keys.all,
            [length, self._tau_us, self._lookahead_us, self._keep_ms, self.keys.channel],
            "a rate-limit pause", LimiterUnavailableError)
        self.round_trips += 1
        self._heard_pause(int(until))

    def _heard_pause(self, until_us: int) -> None:
        self._paused_until_us = max(self._paused_until_us, until_us)

    async def _listen(self) -> None:
        """Follow pauses set by other processes, so slots this one reserved earlier yield."""
        while True:
            pubsub = self._connection.client.pubsub()
            try:
                await pubsub.subscribe(self.keys.channel)
                while True:
                    message = await pubsub.get_message(
                        ignore_subscribe_messages=True, timeout=_LISTEN_POLL)
                    if message is not None and message.get("type") == "message":
                        with contextlib.suppress(TypeError, ValueError):
                            self._heard_pause(int(message["data"]))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis away: every acquire still checks the pause key
                logger.debug("pause subscription at %s lost (%s); retrying",
                             self.url, type(exc).__name__)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
            await asyncio.sleep(_RESUBSCRIBE_PAUSE)

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
        """Stop following pauses and close the Redis client this limiter created."""
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None
        await self._connection.aclose()

    async def __aenter__(self) -> RedisLimiter:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"RedisLimiter({self.max_rate:g} per {self.period:g}s at {self.url})"


def _positive(value: object) -> bool:
    return (isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(value) and value > 0)
