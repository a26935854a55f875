"""The opt-out confirmation with the suppression list and event ledger in Redis."""

from __future__ import annotations

from redis_server import RedisServer

from smsbridge.models import InboundMessage, OptOutEvent
from smsbridge.redis import RedisEventLedger, RedisSuppressionList
from smsbridge.testing import FakeProvider
from smsbridge.webhooks import EventRouter, OptOutReply


async def test_two_receivers_sharing_redis_confirm_one_opt_out_once(
        redis_server: RedisServer) -> None:
    stores = [(RedisSuppressionList(redis_server.url), RedisEventLedger(redis_server.url))
              for _ in range(2)]
    fakes = [FakeProvider(), FakeProvider()]
    try:
        routers = [EventRouter(suppression=suppression, ledger=ledger,
                               opt_out_reply=OptOutReply(fake))
                   for (suppression, ledger), fake in zip(stores, fakes, strict=True)]
        keyword = InboundMessage(provider="fake", message_id="/m/1", sender="+13035550142",
                                 body="Revoke", event_id="in-1")
        # The same opt-out reaches each replica another way: the keyword here, the provider's
        # own opt-out event there.
        await routers[0].dispatch([keyword])
        await routers[1].dispatch([OptOutEvent(provider="fake", phone="+13035550142",
                                               event_id="opt-1")])
        assert await stores[1][0].is_suppressed("+13035550142")
        assert sum(fake.accepted_count() for fake in fakes) == 1

        # Back in on one replica, out again on the other: confirmed again, once.
        await routers[0].dispatch([InboundMessage(
            provider="fake", message_id="/m/2", sender="+13035550142", body="START",
            event_id="in-2")])
        await routers[1].dispatch([InboundMessage(
            provider="fake", message_id="/m/3", sender="+13035550142", body="opt out",
            event_id="in-3")])
        assert sum(fake.accepted_count() for fake in fakes) == 2
    finally:
        for suppression, ledger in stores:
            await suppression.aclose()
            await ledger.aclose()
