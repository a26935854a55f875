"""The Redis job store against a real redis-server: claims, takeovers, the coordinator's
re-run, the durability check, and two dispatchers sharing one job (in one process here; the
multi-process trials are in test_jobstore_processes.py)."""

from __future__ import annotations

import asyncio
import json
from collections import Counter

import pytest
import redis.asyncio as aioredis
from redis_server import RedisServer

from smsbridge import Dispatcher, OutcomeStatus
from smsbridge.dispatch.spec import JobSpec
from smsbridge.journal.protocol import ClaimEntry, JobStore
from smsbridge.models import Outcome, Recipient
from smsbridge.providers.textus import TextUsProvider
from smsbridge.redis import RedisJobStore, StoreDurabilityError
from smsbridge.redis.jobstore import JobKeys
from smsbridge.sandbox import Sandbox

SPEC = JobSpec(body="Hi {name}")
NUMBERS = [f"+1303555{i:04d}" for i in range(2000, 2300)]


def entries(keys: list[str]) -> list[ClaimEntry]:
    return [ClaimEntry(key, n, {}) for n, key in enumerate(keys)]


def sent(phone: str) -> Outcome:
    return Outcome(Recipient(phone), OutcomeStatus.SENT, provider="textus")


async def test_the_redis_job_store_implements_the_job_store_protocol(
        redis_server: RedisServer) -> None:
    async with RedisJobStore(redis_server.url) as store:
        assert isinstance(store, JobStore)
        assert store.location == redis_server.url


async def test_a_recipient_claimed_by_two_workers_at_once_is_held_by_exactly_one(
        redis_server: RedisServer) -> None:
    async with RedisJobStore(redis_server.url) as setup:
        await setup.enqueue(NUMBERS, spec=SPEC, job_id="J")
    stores = [RedisJobStore(redis_server.url) for _ in range(4)]
    try:
        sessions = [s.open_session("J", f"run-{n}", resend_unknown=False)
                    for n, s in enumerate(stores)]
        results = await asyncio.gather(*(s.claim(entries(NUMBERS)) for s in sessions))
        for n, phone in enumerate(NUMBERS):
            holders = [r[n] is None for r in results]
            assert holders.count(True) == 1, phone
        # The losers see the winner's in-flight record: owned by someone else, not pending.
        priors = [r[0] for r in results if r[0] is not None]
        assert {p.state for p in priors} == {"in_flight"}
        for session in sessions:
            await session.close()
        report = await stores[0].report("J")
        assert report.count("in_flight") == len(NUMBERS)
    finally:
        for store in stores:
            await store.aclose()


async def test_a_stalled_workers_recipient_taken_over_becomes_unknown_is_never_claimed_again_and_its_owner_still_finishes_it(  # noqa: E501
        redis_server: RedisServer) -> None:
    phone = NUMBERS[0]
    async with RedisJobStore(redis_server.url) as store:
        await store.enqueue([phone], spec=SPEC, job_id="J")
        stalled = store.open_session("J", "stalled", resend_unknown=False)
        assert await stalled.claim(entries([phone])) == [None]
        other = RedisJobStore(redis_server.url)
        try:
            taker = other.open_session("J", "taker", resend_unknown=False)
            [prior] = await taker.claim(entries([phone]))
            assert prior is not None and prior.state == "in_flight"
            assert prior.run_id == "stalled"
            taker.resolve_interrupted(phone, "its worker stopped beating")
            # Once UNKNOWN, no later claim sends it (only resend_unknown would).
            [again] = await taker.claim(entries([phone]))
            assert again is not None and again.state == "unknown"
            await taker.close()
        finally:
            await other.aclose()
        # The stalled owner wakes: it knows it sent, and records it over the UNKNOWN.
        stalled.done(phone, sent(phone), 1)
        await stalled.close()
        records = await store.records("J")
        assert records[phone]["s"] == "sent"
        report = await store.report("J")
        assert (report.sent, report.unknown, report.open) == (1, 0, 0)


async def test_a_release_only_hands_back_a_claim_this_run_holds(
        redis_server: RedisServer) -> None:
    a, b = NUMBERS[:2]
    async with RedisJobStore(redis_server.url) as store:
        await store.enqueue([a, b], spec=SPEC, job_id="J")
        one = store.open_session("J", "one", resend_unknown=False)
        await one.claim(entries([a]))
        one.release(a, 1)
        one.release(b, 1)  # never claimed by this run: nothing happens
        two_store = RedisJobStore(redis_server.url)
        try:
            two = two_store.open_session("J", "two", resend_unknown=False)
            assert await two.claim(entries([a, b])) == [None, None]
            one.release(b, 1)  # held by another run now: nothing happens
            await one.close()
            records = await store.records("J")
            assert records[b]["s"] == "in_flight" and records[b]["o"] == "two"
            await two.close()
        finally:
            await two_store.aclose()


async def test_a_rerun_coordinator_adds_no_chunk_and_no_recipient_twice(
        redis_server: RedisServer, redis_client: aioredis.Redis) -> None:
    raw = [*NUMBERS, NUMBERS[3], "303-555-2001", "not a number"]
    async with RedisJobStore(redis_server.url, chunk_size=40) as store:
        first = await store.enqueue(raw, spec=SPEC, job_id="J", region="US")
        again = await store.enqueue(raw, spec=SPEC, job_id="J", region="US")
        report = await store.report("J")
    # Even a re-run that chunks and orders the input differently adds no recipient twice
    # (its invalid and duplicate entries are other positions: their skip records are new).
    async with RedisJobStore(redis_server.url, chunk_size=7) as store:
        other = await store.enqueue(list(reversed(raw)), spec=SPEC, job_id="J", region="US")
        assert (await store.report("J")).count("pending") == 300
    assert (first.recipients, first.duplicates, first.invalid) == (300, 2, 1)
    assert first.chunks_added == first.chunks == 8 and again.chunks_added == 0
    assert other.chunks > 8
    stream = await redis_client.xrange(JobKeys("J").stream)
    assert len(stream) == 8
    phones = [item[0] for _, fields in stream for item in json.loads(fields[b"items"])]
    assert len(phones) == len(set(phones)) == 300
    assert report.count("pending") == 300 and report.skipped == 3 and report.total == 303


async def test_a_job_id_reused_with_another_message_is_refused(
        redis_server: RedisServer) -> None:
    async with RedisJobStore(redis_server.url) as store:
        await store.enqueue(NUMBERS[:3], spec=SPEC, job_id="J")
        with pytest.raises(Exception, match="different message"):
            await store.enqueue(NUMBERS[:3], spec=JobSpec(body="Other"), job_id="J")


async def test_a_redis_without_appendfsync_always_is_refused_with_what_to_set(
        redis_server: RedisServer, redis_client: aioredis.Redis) -> None:
    await redis_client.config_set("appendfsync", "everysec")
    async with RedisJobStore(redis_server.url) as store:
        with pytest.raises(StoreDurabilityError) as caught:
            await store.enqueue(NUMBERS[:3], spec=SPEC, job_id="J")
    assert caught.value.setting == "appendfsync always"
    assert "appendfsync always" in str(caught.value)
    assert "relaxed_durability=True" in str(caught.value)
    assert await redis_client.exists(JobKeys("J").meta) == 0  # refused before any write
    await redis_client.config_set("appendonly", "no")
    async with RedisJobStore(redis_server.url) as store:
        with pytest.raises(StoreDurabilityError, match="appendonly yes"):
            await store.check_durability()


async def test_relaxed_durability_proceeds_and_the_report_says_so(
        redis_server: RedisServer, redis_client: aioredis.Redis) -> None:
    await redis_client.config_set("appendfsync", "everysec")
    async with RedisJobStore(redis_server.url, relaxed_durability=True) as store:
        assert await store.check_durability() == "appendonly yes, appendfsync everysec"
        await store.enqueue(NUMBERS[:3], spec=SPEC, job_id="J")
        report = await store.report("J")
    assert report.relaxed_durability


async def test_two_dispatchers_sharing_a_redis_job_text_each_number_once(
        redis_server: RedisServer) -> None:
    recipients = [Recipient(p, {"name": f"n{i}"}) for i, p in enumerate(NUMBERS)]
    async with RedisJobStore(redis_server.url, chunk_size=25) as coordinator:
        await coordinator.enqueue(recipients, spec=SPEC, job_id="J", provider="textus")
        async with Sandbox(seed=3, faults=["textus.send:error_5xx_before:0.1"]) as sb:

            async def work() -> Counter[str]:
                async with RedisJobStore(redis_server.url) as store, TextUsProvider(
                        sb.textus_token, sb.textus_account, base_url=sb.textus_url) as textus:
                    report = await Dispatcher(textus, concurrency=6, journal=store).resume("J")
                return Counter(o.status.value for o in report.outcomes)

            counts = await asyncio.gather(work(), work())
            accepted = sb.accepted_numbers()
        report = await coordinator.report("J")
        records = await coordinator.records("J")
    assert sorted(accepted) == sorted(set(accepted))
    assert report.open == 0 and report.complete
    assert counts[0]["sent"] > 0 and counts[1]["sent"] > 0  # both did part of the job
    assert counts[0]["sent"] + counts[1]["sent"] == report.sent == len(accepted)
    assert {records[p]["s"] for p in accepted} == {"sent"}
    assert records[NUMBERS[7]].get("i") == 7  # the coordinator's position is kept
