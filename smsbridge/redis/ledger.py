"""Webhook event de-duplication in Redis: an event redelivered to two receivers applies once.

``mark_event_seen`` is ``SET key 1 NX PX <claim_ttl>``: true for exactly one caller across
every process. The claim is short (default 60 s) until :meth:`RedisEventLedger.confirm_event`
(called once the event was applied) keeps it for ``ttl`` (default 7 days, longer than any
provider retries a webhook). So an event whose applying failed while Redis was away — when
``forget_event`` cannot reach Redis either — is not remembered as applied for a week: its
claim lapses and the provider's redelivery (a STOP) is applied.
It is the event part of the webhook sink's journal interface.
"""

from __future__ import annotations

import math

import redis.asyncio as aioredis

from ..errors import ConfigurationError
from ._connection import DEFAULT_TIMEOUT, RedisConnection
from .keys import event_key

__all__ = ["DEFAULT_EVENT_TTL", "RedisEventLedger"]

DEFAULT_EVENT_TTL = 7 * 24 * 3600.0
DEFAULT_CLAIM_TTL = 60.0  # seconds: far longer than applying an event takes


class RedisEventLedger:
    """Seen webhook event ids under ``namespace``, each remembered for ``ttl`` seconds."""

    def __init__(
        self,
        url: str | None = None,
        *,
        namespace: str = "default",
        ttl: float = DEFAULT_EVENT_TTL,
        timeout: float = DEFAULT_TIMEOUT,
        client: aioredis.Redis | None = None,
        claim_ttl: float = DEFAULT_CLAIM_TTL,
    ) -> None:
        if not (isinstance(ttl, int | float) and math.isfinite(ttl) and ttl >= 1):
            raise ConfigurationError(f"the event ttl must be at least 1 second (got {ttl!r})")
        if not (isinstance(claim_ttl, int | float) and math.isfinite(claim_ttl)
                and 0 < claim_ttl <= ttl):
            raise ConfigurationError(
                f"the event claim_ttl must be positive seconds, at most ttl (got {claim_ttl!r})")
        self.namespace = namespace
        self.ttl = ttl
        self.claim_ttl = claim_ttl
        self._connection = RedisConnection(url, client=client, timeout=timeout)

    @property
    def url(self) -> str:
        return self._connection.url

    async def mark_event_seen(self, event_id: str) -> bool:
        """True for the first caller to see ``event_id`` (in any process), False for replays."""
        key = event_key(self.namespace, event_id)
        created = await self._connection.call(
            "a webhook de-dup check",
            lambda: self._connection.client.set(key, b"1", nx=True,
                                                px=round(self.claim_ttl * 1000)))
        return bool(created)

    async def confirm_event(self, event_id: str) -> None:
        """``event_id`` was applied: remember it for ``ttl`` (its claim lapses otherwise)."""
        key = event_key(self.namespace, event_id)
        await self._connection.call(
            "a webhook de-dup record",
            lambda: self._connection.client.set(key, b"1", px=round(self.ttl * 1000)))

    async def forget_event(self, event_id: str) -> None:
        """Undo :meth:`mark_event_seen` (the handler failed; the provider's retry must apply)."""
        key = event_key(self.namespace, event_id)
        await self._connection.call(
            "a webhook de-dup undo", lambda: self._connection.client.delete(key))

    async def aclose(self) -> None:
        await self._connection.aclose()

    def __repr__(self) -> str:
        return f"RedisEventLedger({self.namespace!r} at {self.url})"
