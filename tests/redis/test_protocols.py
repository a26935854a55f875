"""The Redis backends satisfy the engine's protocols: they plug in without engine changes."""

from __future__ import annotations

from redis_server import RedisServer

from smsbridge import Dispatcher, Message, OutcomeStatus
from smsbridge.journal.protocol import EventLedger, SuppressionList
from smsbridge.limits import Limiter
from smsbridge.models import OptOutEvent
from smsbridge.providers.textus import TextUsProvider
from smsbridge.redis import RedisEventLedger, RedisLimiter, RedisSuppressionList
from smsbridge.sandbox import Sandbox
from smsbridge.webhooks import EventRouter


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


async def test_a_redis_limiter_and_suppression_list_plug_into_a_bulk_send_unchanged(
        redis_server: RedisServer) -> None:
    # The engine knows only the protocols: the provider takes the RedisLimiter as its limiter
    # (the dispatcher hands its permit down), the dispatcher checks the Redis list at claim time.
    numbers = [f"+1303555{i:04d}" for i in range(100, 120)]
    limiter = RedisLimiter(redis_server.url, limiter_id="bulk", max_rate=200.0)
    suppression = RedisSuppressionList(redis_server.url)
    try:
        await suppression.suppress(numbers[5], source="textus:webhook")
        async with Sandbox(seed=1) as sb, TextUsProvider(
                sb.textus_token, sb.textus_account, base_url=sb.textus_url,
                rate_limiter=limiter) as textus:
            report = await Dispatcher(textus, concurrency=4, suppression=suppression).send(
                Message(to=numbers, body="Hi"))
            accepted = sb.accepted_numbers()
    finally:
        await suppression.aclose()
        await limiter.aclose()
    assert report.sent == 19
    assert report.outcomes[5].status is OutcomeStatus.SKIPPED
    assert report.outcomes[5].reason == "opted_out"
    assert numbers[5] not in accepted and len(accepted) == 19


async def test_two_receivers_sharing_redis_apply_a_redelivered_stop_once_and_suppress_it(
        redis_server: RedisServer) -> None:
    stores = [(RedisSuppressionList(redis_server.url), RedisEventLedger(redis_server.url))
              for _ in range(2)]
    seen: list[OptOutEvent] = []
    try:
        routers = [EventRouter(on_opt_out=seen.append, suppression=suppression, ledger=ledger)
                   for suppression, ledger in stores]
        stop = OptOutEvent(provider="textus", phone="+13035550142", event_id="textus:opt-1")
        # The provider redelivers the event to the other replica.
        applied = [await router.dispatch([stop]) for router in routers]
        assert applied == [1, 0]
        assert len(seen) == 1
        assert await stores[1][0].is_suppressed("+13035550142")
    finally:
        for suppression, ledger in stores:
            await suppression.aclose()
            await ledger.aclose()
