"""RedisSuppressionList against a real redis-server: event-time order, ties, sharing, failures."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import pytest
from redis_server import RedisServer

from smsbridge.errors import InvalidPhoneNumber
from smsbridge.redis import RedisSuppressionList, StoreUnavailableError

NUMBER = "+14155550123"
T0 = 1_800_000_000.0


async def test_a_stop_recorded_by_one_receiver_is_seen_by_every_other_instance(
        redis_server: RedisServer) -> None:
    receiver, dispatcher = (RedisSuppressionList(redis_server.url) for _ in range(2))
    try:
        assert not await dispatcher.is_suppressed(NUMBER)
        assert await receiver.suppress("(415) 555-0123", source="textus:webhook")
        assert await dispatcher.is_suppressed(NUMBER)
        assert await dispatcher.suppressed_among([NUMBER, "+14155550199"]) == {NUMBER}
    finally:
        await receiver.aclose()
        await dispatcher.aclose()


async def test_a_later_opt_out_wins_whichever_event_arrives_first(
        redis_server: RedisServer) -> None:
    store = RedisSuppressionList(redis_server.url)
    try:
        # The opt-out (later) reaches us before the opt-in (earlier): it must stand.
        assert await store.suppress(NUMBER, occurred_at=T0 + 10)
        assert not await store.unsuppress(NUMBER, occurred_at=T0 + 5)
        assert await store.is_suppressed(NUMBER)
        # A later opt-in lifts it; an older opt-out arriving after that changes nothing.
        assert await store.unsuppress(NUMBER, occurred_at=T0 + 20)
        assert not await store.suppress(NUMBER, occurred_at=T0 + 15)
        assert not await store.is_suppressed(NUMBER)
        # Datetimes work too.
        assert await store.suppress(NUMBER, occurred_at=datetime.fromtimestamp(T0 + 30, UTC))
        assert await store.is_suppressed(NUMBER)
    finally:
        await store.aclose()


async def test_an_opt_in_and_an_opt_out_at_the_same_instant_leave_the_number_suppressed(
        redis_server: RedisServer) -> None:
    store = RedisSuppressionList(redis_server.url)
    try:
        await store.suppress(NUMBER, occurred_at=T0)
        assert not await store.unsuppress(NUMBER, occurred_at=T0)
        assert await store.is_suppressed(NUMBER)
        other = "+14155550124"
        await store.unsuppress(other, occurred_at=T0)
        assert await store.suppress(other, occurred_at=T0)
        assert await store.is_suppressed(other)
    finally:
        await store.aclose()


async def test_concurrent_out_of_order_events_settle_on_the_latest(
        redis_server: RedisServer) -> None:
    stores = [RedisSuppressionList(redis_server.url) for _ in range(4)]
    try:
        events = [(i % 2 == 0, T0 + i) for i in range(40)]  # the latest (i=39) is an opt-in
        events.reverse()
        await asyncio.gather(*(
            (s.suppress(NUMBER, occurred_at=at) if out else s.unsuppress(NUMBER, occurred_at=at))
            for (out, at), s in zip(events, stores * 10, strict=True)))
        assert not await stores[0].is_suppressed(NUMBER)
    finally:
        for store in stores:
            await store.aclose()


async def test_an_event_without_a_time_takes_redis_time(redis_server: RedisServer) -> None:
    store = RedisSuppressionList(redis_server.url)
    try:
        await store.suppress(NUMBER)  # now, by Redis's clock
        assert not await store.unsuppress(NUMBER, occurred_at=time.time() - 60)
        assert await store.unsuppress(NUMBER, occurred_at=time.time() + 60)
        assert not await store.is_suppressed(NUMBER)
    finally:
        await store.aclose()


async def test_namespaces_keep_separate_lists(redis_server: RedisServer) -> None:
    a = RedisSuppressionList(redis_server.url, namespace="brand-a")
    b = RedisSuppressionList(redis_server.url, namespace="brand-b")
    try:
        await a.suppress(NUMBER)
        assert await a.is_suppressed(NUMBER) and not await b.is_suppressed(NUMBER)
    finally:
        await a.aclose()
        await b.aclose()


async def test_an_invalid_number_is_rejected_before_redis_is_asked(
        redis_server: RedisServer) -> None:
    store = RedisSuppressionList(redis_server.url)
    try:
        with pytest.raises(InvalidPhoneNumber):
            await store.suppress("not a number")
    finally:
        await store.aclose()


async def test_an_unreachable_redis_is_an_error_never_not_suppressed(
        redis_server: RedisServer) -> None:
    store = RedisSuppressionList(redis_server.url, timeout=0.4)
    try:
        await store.suppress(NUMBER)
        redis_server.freeze()
        with pytest.raises(StoreUnavailableError, match="suppression check"):
            await store.is_suppressed(NUMBER)
        with pytest.raises(StoreUnavailableError):
            await store.suppressed_among([NUMBER])
    finally:
        redis_server.thaw()
        await store.aclose()


async def test_an_opt_out_survives_a_kill_minus_9(redis_server: RedisServer) -> None:
    store = RedisSuppressionList(redis_server.url)
    try:
        await store.suppress(NUMBER)
        redis_server.restart()
        assert await store.is_suppressed(NUMBER)
    finally:
        await store.aclose()
