"""The suppression (opt-out) list in Redis, shared by every receiver and dispatcher.

A STOP that reaches any webhook receiver is visible to every dispatcher's next check. Events
are applied in event-time order in one Lua script (atomic): the later of an opt-out and an
opt-in wins whichever arrives first, and on a tie the number stays suppressed. Numbers are
normalised to E.164 first, as in the SQLite journal. It offers the suppression part of the
webhook sink's journal interface (``suppress``/``unsuppress``) plus the dispatcher's checks.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import redis.asyncio as aioredis

from ..phone import mask, normalize
from ._connection import DEFAULT_TIMEOUT, RedisConnection, Script
from .keys import suppression_key

__all__ = ["RedisSuppressionList"]

_SCRIPT = Script("suppression.lua")
_US = 1_000_000


class RedisSuppressionList:
    """Numbers that must not be texted, in Redis under ``namespace``.

    Every call is bounded by ``timeout``; an unreachable Redis raises
    :class:`~smsbridge.redis.errors.StoreUnavailableError` (never "not suppressed").
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        namespace: str = "default",
        timeout: float = DEFAULT_TIMEOUT,
        client: aioredis.Redis | None = None,
    ) -> None:
        self.namespace = namespace
        self._connection = RedisConnection(url, client=client, timeout=timeout)

    @property
    def url(self) -> str:
        return self._connection.url

    async def suppress(self, phone: str, *, reason: str = "opted_out", source: str | None = None,
                       occurred_at: datetime | float | None = None) -> bool:
        """Suppress ``phone`` as of event time ``occurred_at`` (default: now, Redis's clock).

        False when a later opt-in for this number was already recorded (it stays texted).
        """
        return await self._apply(phone, True, occurred_at, reason, source)

    async def unsuppress(
        self, phone: str, *, occurred_at: datetime | float | None = None
    ) -> bool:
        """Lift a suppression as of ``occurred_at``; False when an opt-out at or after it
        stands."""
        return await self._apply(phone, False, occurred_at, "opted_in", None)

    async def is_suppressed(self, phone: str) -> bool:
        key = suppression_key(self.namespace, normalize(phone))
        value = await self._connection.call(
            "a suppression check", lambda: self._connection.client.hget(key, "suppressed"))
        return value in (b"1", "1")

    async def suppressed_among(self, phones: Iterable[str]) -> set[str]:
        """Which of ``phones`` (E.164 already) are suppressed: one pipelined round trip."""
        numbers = list(dict.fromkeys(phones))
        if not numbers:
            return set()

        async def check() -> list[object]:
            pipe = self._connection.client.pipeline(transaction=False)
            for number in numbers:
                pipe.hget(suppression_key(self.namespace, number), "suppressed")
            return await pipe.execute()

        values = await self._connection.call("a suppression check", check)
        return {n for n, v in zip(numbers, values, strict=True) if v in (b"1", "1")}

    async def _apply(self, phone: str, suppressed: bool, at: datetime | float | None,
                     reason: str, source: str | None) -> bool:
        number = normalize(phone)
        if isinstance(at, datetime):
            at = at.timestamp()
        when = "" if at is None else str(round(at * _US))
        reply = await self._connection.run(
            _SCRIPT, [suppression_key(self.namespace, number)],
            ["1" if suppressed else "0", when, reason, source or ""],
            f"{'an opt-out' if suppressed else 'an opt-in'} for {mask(number)}")
        return bool(int(reply))

    async def aclose(self) -> None:
        await self._connection.aclose()

    def __repr__(self) -> str:
        return f"RedisSuppressionList({self.namespace!r} at {self.url})"
