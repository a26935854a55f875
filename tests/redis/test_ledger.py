"""RedisEventLedger against a real redis-server: one first sighting across receivers."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis
from redis_server import RedisServer

from smsbridge.errors import ConfigurationError
from smsbridge.redis import RedisEventLedger, StoreUnavailableError
from smsbridge.redis.ledger import DEFAULT_CLAIM_TTL, DEFAULT_EVENT_TTL


async def test_an_event_redelivered_to_two_receivers_is_first_seen_exactly_once(
        redis_server: RedisServer) -> None:
    a, b = RedisEventLedger(redis_server.url), RedisEventLedger(redis_server.url)
    try:
        results = await asyncio.gather(*(
            ledger.mark_event_seen("evt-42") for ledger in [a, b] * 10))
        assert results.count(True) == 1
        assert await a.mark_event_seen("evt-43")
        assert not await b.mark_event_seen("evt-43")
    finally:
        await a.aclose()
        await b.aclose()


async def test_a_forgotten_event_is_applied_again_on_the_providers_retry(
        redis_server: RedisServer) -> None:
    a, b = RedisEventLedger(redis_server.url), RedisEventLedger(redis_server.url)
    try:
        assert await a.mark_event_seen("evt-1")
        await a.forget_event("evt-1")  # a's handler failed
        assert await b.mark_event_seen("evt-1")
    finally:
        await a.aclose()
        await b.aclose()


async def test_a_claimed_event_lapses_in_a_minute_and_an_applied_one_after_seven_days(
        redis_server: RedisServer, redis_client: aioredis.Redis) -> None:
    ledger = RedisEventLedger(redis_server.url)
    try:
        await ledger.mark_event_seen("evt-ttl")
        keys = [k async for k in redis_client.scan_iter("smsbridge:default:event:*")]
        assert len(keys) == 1 and b"evt-ttl" not in keys[0]
        claimed_ms = await redis_client.pttl(keys[0])
        assert DEFAULT_CLAIM_TTL * 1000 - 5_000 < claimed_ms <= DEFAULT_CLAIM_TTL * 1000
        await ledger.confirm_event("evt-ttl")
        ttl_ms = await redis_client.pttl(keys[0])
        assert DEFAULT_EVENT_TTL * 1000 - 60_000 < ttl_ms <= DEFAULT_EVENT_TTL * 1000
        assert not await ledger.mark_event_seen("evt-ttl")  # still a replay
    finally:
        await ledger.aclose()


async def test_a_hung_redis_is_a_typed_error_not_a_first_sighting(
        redis_server: RedisServer) -> None:
    ledger = RedisEventLedger(redis_server.url, timeout=0.4)
    try:
        redis_server.freeze()
        with pytest.raises(StoreUnavailableError, match="de-dup"):
            await ledger.mark_event_seen("evt-9")
    finally:
        redis_server.thaw()
        await ledger.aclose()


def test_a_ttl_under_one_second_is_rejected() -> None:
    with pytest.raises(ConfigurationError, match="ttl"):
        RedisEventLedger("redis://localhost", ttl=0)
