"""The Redis backends wired into the providers, ``connect()``, the Dispatcher and the receiver:
one-line set-up, and what an unreachable Redis does (never a send without permission)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp
import pytest
import redis.asyncio as aioredis
from redis_server import RedisServer
from textus_webhooks import SECRET, stop_webhook

import smsbridge
from smsbridge import Dispatcher, Message, RateLimit, RetryPolicy, WebhookReceiver
from smsbridge.errors import ConfigurationError, StoreUnavailableError
from smsbridge.journal import Journal
from smsbridge.providers.textus import TextUsProvider
from smsbridge.providers.trackdrive import TrackDriveProvider
from smsbridge.redis import (
    LimiterUnavailableError,
    RedisEventLedger,
    RedisLimiter,
    RedisSuppressionList,
)
from smsbridge.sandbox import Sandbox

NUMBERS = [f"+1303555{n:04d}" for n in range(2000, 2006)]
PASSWORD = "redis-pass-0123456789"


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with Sandbox(seed=3) as sb:
        yield sb


def textus(sb: Sandbox, **kwargs: object) -> TextUsProvider:
    return TextUsProvider(sb.textus_token, sb.textus_account, base_url=sb.textus_url,
                          **kwargs)  # type: ignore[arg-type]


async def test_connect_with_a_redis_limiter_shares_the_accounts_limit_keyed_on_a_hash(
    redis_server: RedisServer,
) -> None:
    token = "tok-secret-0123456789"
    one = smsbridge.connect(f"textus://{token}@acme?limiter={redis_server.url}")
    two = smsbridge.connect(f"textus://{token}@acme?limiter={redis_server.url}")
    other = smsbridge.connect(f"textus://another-token-987654@acme?limiter={redis_server.url}")
    try:
        limiters = [p.rate_limiter for p in (one, two, other)]  # type: ignore[attr-defined]
        assert all(isinstance(limiter, RedisLimiter) for limiter in limiters)
        first, second, third = limiters
        assert isinstance(first, RedisLimiter) and isinstance(second, RedisLimiter)
        assert isinstance(third, RedisLimiter)
        assert (first.max_rate, first.period) == (1000, 300)  # TextUs's documented limit
        assert first.keys.all == second.keys.all  # same account and token: one budget
        assert first.keys.all != third.keys.all  # another token: another budget
        assert all(token not in key for key in first.keys.all)
        assert token not in repr(first) and token not in repr(one)
        await first.acquire()
        client = aioredis.Redis.from_url(redis_server.url)
        stored = [key.decode() for key in await client.keys("*")]
        await client.aclose()
        assert stored and all(token not in key for key in stored)
    finally:
        for provider in (one, two, other):
            await provider.aclose()
    assert first._listener is None  # the provider closed the limiter it built


def test_a_provider_without_a_documented_limit_asks_for_one_with_a_redis_url() -> None:
    with pytest.raises(ConfigurationError, match="documents no rate limit"):
        TrackDriveProvider("pub-key-01234567", "priv-key-01234567", "acme",
                           rate_limiter="redis://127.0.0.1:1/0")


def test_a_string_that_is_not_a_redis_url_is_refused_as_a_suppression_list() -> None:
    provider = TextUsProvider("tok-secret-0123456789", "acme", rate_limiter=None)
    with pytest.raises(ConfigurationError, match="must be a Redis URL"):
        Dispatcher(provider, suppression="+13035551234")  # a str is a Container[str] too
    with pytest.raises(ConfigurationError, match="must be a Redis URL"):
        WebhookReceiver(suppression="opt-outs.sqlite")


async def test_a_hung_redis_limiter_fails_every_recipient_as_not_sent_naming_the_masked_url(
    sandbox: Sandbox, redis_factory: Callable[..., RedisServer],
) -> None:
    server = redis_factory(password=PASSWORD)
    async with textus(sandbox, retry=RetryPolicy(max_retries=0)) as provider:
        provider.use_shared_rate_limiter(server.url, RateLimit(50, 1.0), timeout=0.5)
        server.freeze()  # SIGSTOP: connections are accepted, nothing answers
        try:
            started = time.monotonic()
            async with Dispatcher(provider, concurrency=3,
                                  retry=RetryPolicy(max_retries=0)) as dispatcher:
                report = await dispatcher.send(Message(to=NUMBERS, body="Hi"))
            elapsed = time.monotonic() - started
        finally:
            server.thaw()
    assert [o.status.value for o in report.outcomes] == ["failed"] * len(NUMBERS)
    assert {o.reason for o in report.outcomes} == {"store_unavailable"}
    error = report.outcomes[0].exception
    assert isinstance(error, LimiterUnavailableError) and not error.may_have_been_sent
    masked = f"redis://:***@127.0.0.1:{server.port}/0"
    assert error.url == masked and masked in (report.outcomes[0].error or "")
    assert all(PASSWORD not in (o.error or "") for o in report.outcomes)
    assert sandbox.accepted_numbers() == []  # nothing was sent without permission
    assert elapsed < 0.5 * len(NUMBERS) / 3 + 3  # bounded: one timeout per recipient round


async def test_recipients_a_dead_redis_kept_from_sending_are_failed_in_the_journal_not_unknown(
    sandbox: Sandbox, redis_server: RedisServer, tmp_path: Path,
) -> None:
    url = redis_server.url
    redis_server.kill()
    async with textus(sandbox, retry=RetryPolicy(max_retries=1)) as provider:
        provider.use_shared_rate_limiter(url, RateLimit(50, 1.0), timeout=0.3)
        async with Dispatcher(provider, concurrency=2, retry=RetryPolicy(max_retries=1),
                              journal=tmp_path / "job.sqlite") as dispatcher:
            report = await dispatcher.send(Message(to=NUMBERS[:4], body="Hi"))
    with Journal(tmp_path / "job.sqlite") as journal:
        stored = journal.report(report.job_id)
    assert (stored.failed, stored.unknown, stored.sent, stored.pending) == (4, 0, 0, 0)
    assert stored.in_flight == 0  # nothing was claimed: nothing a crash could make UNKNOWN
    assert sandbox.accepted_numbers() == []


async def test_a_suppression_list_that_cannot_be_asked_never_counts_as_not_suppressed(
    sandbox: Sandbox, redis_server: RedisServer,
) -> None:
    url = redis_server.url
    redis_server.kill()
    async with textus(sandbox, rate_limiter=None) as provider:
        dispatcher = Dispatcher(provider, retry=RetryPolicy(max_retries=0),
                                suppression=RedisSuppressionList(url, timeout=0.3))
        report = await dispatcher.send(Message(to=NUMBERS[:3], body="Hi"))
    assert [o.status.value for o in report.outcomes] == ["failed"] * 3
    assert {o.reason for o in report.outcomes} == {"store_unavailable"}
    assert all(isinstance(o.exception, StoreUnavailableError) for o in report.outcomes)
    assert sandbox.accepted_numbers() == []


async def test_a_dispatcher_given_a_redis_url_skips_a_number_opted_out_in_redis(
    sandbox: Sandbox, redis_server: RedisServer,
) -> None:
    shared = RedisSuppressionList(redis_server.url)
    await shared.suppress(NUMBERS[1], reason="opted_out", source="test")
    await shared.aclose()
    async with textus(sandbox, rate_limiter=None) as provider, \
            Dispatcher(provider, suppression=redis_server.url) as dispatcher:
        report = await dispatcher.send(Message(to=NUMBERS[:3], body="Hi"))
    assert [(o.status.value, o.reason) for o in report.outcomes] == [
        ("sent", None), ("skipped", "opted_out"), ("sent", None)]
    assert sorted(sandbox.accepted_numbers()) == [NUMBERS[0], NUMBERS[2]]


async def test_a_receiver_whose_redis_is_away_answers_500_so_the_stop_is_redelivered(
    redis_server: RedisServer,
) -> None:
    receiver = WebhookReceiver(textus_secrets=[SECRET],
                               suppression=redis_server.url, ledger=redis_server.url)
    body, headers = stop_webhook(NUMBERS[0], "/integrations/i1/deliveries/stop-away")
    async with receiver.serve() as url, aiohttp.ClientSession() as http:
        redis_server.kill()
        async with http.post(url + receiver.textus_path, data=body, headers=headers) as answer:
            assert answer.status == 500
        redis_server.start()
        async with http.post(url + receiver.textus_path, data=body, headers=headers) as answer:
            assert answer.status == 200
    shared = RedisSuppressionList(redis_server.url)
    assert await shared.is_suppressed(NUMBERS[0])
    await shared.aclose()


async def test_a_stop_whose_applying_failed_with_redis_is_applied_on_a_later_redelivery(
    redis_server: RedisServer,
) -> None:
    url = redis_server.url
    kills: list[float] = []

    async def redis_dies_mid_event(_event: object) -> None:
        if not kills:  # after the event was claimed in Redis, before the opt-out is written
            redis_server.kill()
            kills.append(time.monotonic())

    ledger = RedisEventLedger(url, claim_ttl=1.0, timeout=0.5)
    receiver = WebhookReceiver(textus_secrets=[SECRET], on_inbound=redis_dies_mid_event,
                               suppression=RedisSuppressionList(url, timeout=0.5), ledger=ledger)
    body, headers = stop_webhook(NUMBERS[3], "/integrations/i1/deliveries/stop-mid")
    async with receiver.serve() as base, aiohttp.ClientSession() as http:
        target = base + receiver.textus_path
        async with http.post(target, data=body, headers=headers) as answer:
            assert answer.status == 500  # neither applied nor forgotten: Redis was gone
        redis_server.start()
        async with http.post(target, data=body, headers=headers) as answer:
            assert answer.status == 200  # within the claim: taken as being applied elsewhere
        await asyncio.sleep(1.2)  # the claim lapses; a week-long mark would drop the STOP
        async with http.post(target, data=body, headers=headers) as answer:
            assert answer.status == 200
        client = aioredis.Redis.from_url(url)
        keys = await client.keys("smsbridge:default:event:*")
        ttls = [await client.pttl(key) for key in keys]
        await client.aclose()
    shared = RedisSuppressionList(url)
    assert await shared.is_suppressed(NUMBERS[3])
    await shared.aclose()
    await ledger.aclose()
    assert len(ttls) == 1 and ttls[0] > 6 * 24 * 3600 * 1000  # applied: kept for the week
