"""The Redis backends satisfy the engine's protocols: they plug in without engine changes."""

from __future__ import annotations

from redis_server import RedisServer

from smsbridge.journal.protocol import EventLedger, SuppressionList
from smsbridge.limits import Limiter
from smsbridge.redis import RedisEventLedger, RedisLimiter, RedisSuppressionList


async def test_the_redis_backends_implement_the_limiter_suppression_and_ledger_protocols(
        redis_server: RedisServer) -> None:
    suppression = RedisSuppressionList(redis_server.url)
    ledger = RedisEventLedger(redis_server.url)
    limiter = RedisLimiter(redis_server.url, limiter_id="protocols", max_rate=10.0)
    try:
        assert isinstance(suppression, SuppressionList)
        assert isinstance(ledger, EventLedger)
        assert isinstance(limiter, Limiter)
    finally:
        await suppression.aclose()
        await ledger.aclose()
        await limiter.aclose()
