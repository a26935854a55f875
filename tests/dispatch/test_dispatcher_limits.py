"""Dispatcher limits: concurrency, rate, 429 pauses, batch mode, cancellation."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from smsbridge import (
    ConfigurationError,
    Dispatcher,
    Message,
    OutcomeStatus,
    RateLimit,
    RateLimiter,
    Recipient,
    RetryPolicy,
)
from smsbridge.journal.store import Journal
from smsbridge.limits import Limiter
from smsbridge.models import BatchReceipt, Receipt
from smsbridge.protocol import Capabilities, SendContext
from smsbridge.testing import FakeProvider, Fault


async def test_concurrency_never_exceeds_the_limit(numbers: Callable[..., list[str]]) -> None:
    fake = FakeProvider(latency=(0.001, 0.006), seed=3)
    report = await Dispatcher(fake, concurrency=7).send(Message(to=numbers(300), body="Hi"))

    assert report.sent == 300
    assert fake.max_concurrency == 7  # reached, never exceeded


async def test_a_429_pauses_every_worker_not_only_the_one_that_got_it(
    numbers: Callable[..., list[str]],
) -> None:
    pause = 0.3
    fake = FakeProvider(latency=0.01, script=[Fault("rate_limit", retry_after=pause)])
    dispatcher = Dispatcher(fake, concurrency=16,
                            retry=RetryPolicy(max_retries=2, initial_backoff=0.0))
    report = await dispatcher.send(Message(to=numbers(200), body="Hi"))

    assert report.sent == 200 and report.counts[OutcomeStatus.FAILED] == 0
    first = fake.call_times[0]
    answered_429 = first + 0.01
    # Requests already in flight finish, but nobody starts one until the pause is over.
    started_during_pause = [t for t in fake.call_times
                            if answered_429 + 0.005 < t < answered_429 + pause - 0.02]
    assert started_during_pause == []
    assert max(fake.call_times) - first >= pause
    retried = [o for o in report if o.attempts == 2]
    assert len(retried) == 1


async def test_the_rate_limit_is_held_within_five_percent(
    numbers: Callable[..., list[str]],
) -> None:
    fake = FakeProvider(latency=0.002)
    report = await Dispatcher(fake, concurrency=16, rate_limit=100.0).send(
        Message(to=numbers(300), body="Hi"))

    times = sorted(fake.call_times)
    achieved = (len(times) - 1) / (times[-1] - times[0])
    assert report.sent == 300
    assert achieved == pytest.approx(100.0, rel=0.05)
    busiest_second = max(
        sum(1 for t in times if start <= t < start + 1.0) for start in times)
    assert busiest_second <= 105


class PipelinedFake(FakeProvider):
    """Like a built-in provider: ``send`` takes the dispatcher's permit for its own limiter."""

    accepts_send_context = True
    rate_limiter: Limiter | None = None

    async def send(self, message: Message, *, context: SendContext | None = None) -> Receipt:
        permit = context.permit if context is not None else None
        if self.rate_limiter is not None and (
                permit is None or permit.limiter is not self.rate_limiter):
            await self.rate_limiter.acquire()
        return await super().send(message)


def test_rate_limit_settings_resolve_to_one_throttle_without_double_limiting() -> None:
    fake = FakeProvider(capabilities=Capabilities(rate_limit=RateLimit(50, 1.0)))
    assert Dispatcher(fake).throttle.limiter is not None
    assert Dispatcher(fake).throttle.limiter.rate == 50  # type: ignore[union-attr]
    assert Dispatcher(fake, rate_limit=RateLimit(600, 60)).throttle.limiter.rate == 10  # type: ignore[union-attr]

    own = RateLimiter(20)
    fake = PipelinedFake(capabilities=Capabilities(rate_limit=RateLimit(50, 1.0)))
    fake.rate_limiter = own  # like a built-in provider's limiter
    throttle = Dispatcher(fake).throttle
    assert throttle.limiter is None and throttle.shared is own  # the provider throttles itself
    throttle = Dispatcher(fake, rate_limit=own).throttle
    assert throttle.limiter is None  # the same limiter is never acquired twice per send
    throttle = Dispatcher(fake, rate_limit=5).throttle
    assert throttle.limiter is not None and throttle.shared is own  # both apply
    fake.rate_limiter = None  # the user turned it off
    throttle = Dispatcher(fake).throttle
    assert throttle.limiter is None and throttle.shared is None


def test_a_provider_without_send_context_keeps_its_limiter_to_itself() -> None:
    # Its send() takes no permit: acquiring its limiter here would make each send wait twice.
    provider = SelfThrottled(20.0)
    throttle = Dispatcher(provider).throttle
    assert throttle.limiter is None and throttle.shared is None


async def test_batch_mode_groups_identical_bodies_and_reports_each_batch() -> None:
    fake = FakeProvider()
    to = [Recipient(f"+1303555010{i}", {"team": "red" if i % 2 else "blue"}) for i in range(8)]
    report = await Dispatcher(fake, batch_size=3).send(Message(to=to, body="Go {team}"))

    assert report.sent == 8 and fake.calls == 4  # blue 3+1, red 3+1
    assert sorted(len(v) for v in report.batches.values()) == [3, 3]
    for outcome in report:
        assert outcome.receipt is not None
        if outcome.batch_id is not None:
            assert outcome.phone in report.batches[outcome.batch_id]
            assert outcome.receipt.message_id is None
        else:  # the last of each team shares its body with nobody: a plain send, with an id
            assert outcome.phone in ("+13035550106", "+13035550107")
            assert outcome.receipt.message_id is not None
    bodies = {a.body for a in fake.accepted if a.to in report.batches[report.outcomes[0].batch_id]}
    assert bodies == {"Go blue"}  # a batch never mixes bodies


async def test_a_batch_that_may_have_been_sent_makes_all_its_recipients_unknown() -> None:
    fake = FakeProvider(script=["accepted_then_timeout", Fault("reject", status=422)])
    to = [f"+1303555010{i}" for i in range(4)]
    report = await Dispatcher(fake, batch_size=2, concurrency=1).send(Message(to=to, body="Hi"))

    assert [o.status.value for o in report] == ["unknown"] * 2 + ["failed"] * 2
    assert report.batches == {}  # only accepted batches are listed
    assert fake.calls == 2


async def test_a_dry_run_in_batch_mode_shows_the_batch_plan() -> None:
    fake = FakeProvider()
    to = [f"+1303555010{i}" for i in range(5)]
    report = await Dispatcher(fake, batch_size=2, dry_run=True).send(Message(to=to, body="Hi"))

    assert fake.calls == 0 and report.would_send == 5
    assert sorted(len(v) for v in report.batches.values()) == [2, 2]  # and one plain send
    assert sum(o.batch_id is None for o in report) == 1
    preview = report.outcomes[0].message
    assert preview is not None and len(preview.to) == 2  # the batch's message, as it would go


def test_batch_mode_needs_a_provider_with_native_multi_recipient_sends() -> None:
    single = FakeProvider(capabilities=Capabilities(native_multi_recipient=False))
    with pytest.raises(ConfigurationError, match="native multi-recipient"):
        Dispatcher(single, batch_size=10)


async def test_a_provider_batch_id_is_kept() -> None:
    class WithIds(FakeProvider):
        async def send_batch(self, message: Message) -> BatchReceipt:
            receipt = await super().send_batch(message)
            return BatchReceipt(receipt.provider, receipt.to, 202, batch_id="provider-7")

    report = await Dispatcher(WithIds(), batch_size=5).send(
        Message(to=["+13035550100", "+13035550101"], body="Hi"))
    assert report.batches == {"provider-7": ("+13035550100", "+13035550101")}


async def test_cancelling_a_job_lets_in_flight_sends_finish_and_takes_no_new_ones(
    numbers: Callable[..., list[str]],
) -> None:
    fake = FakeProvider(latency=0.3)
    dispatcher = Dispatcher(fake, concurrency=4, cancel_grace=5.0)
    job = asyncio.create_task(dispatcher.send(Message(to=numbers(50), body="Hi")))
    await asyncio.sleep(0.1)
    job.cancel()
    with pytest.raises(asyncio.CancelledError):
        await job

    assert fake.calls == 4 and fake.accepted_count() == 4  # the four in flight finished
    await asyncio.sleep(0.1)
    assert fake.calls == 4  # and nothing started afterwards


async def test_in_flight_sends_still_running_after_the_grace_period_are_cancelled(
    numbers: Callable[..., list[str]],
) -> None:
    fake = FakeProvider(latency=10.0)
    dispatcher = Dispatcher(fake, concurrency=3, cancel_grace=0.05)
    job = asyncio.create_task(dispatcher.send(Message(to=numbers(10), body="Hi")))
    await asyncio.sleep(0.05)
    job.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(job, timeout=2.0)
    assert fake.in_flight == 0 and fake.calls == 3


class SelfThrottled(FakeProvider):
    """A third-party provider with its own limiter, acquired for every request it makes; its
    ``send`` takes no context."""

    def __init__(self, rate: float, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.rate_limiter = RateLimiter(rate)

    async def send(self, message: Message) -> Receipt:
        await self.rate_limiter.acquire()
        return await super().send(message)


async def test_the_provider_limiter_is_used_once_per_send_not_twice(
    numbers: Callable[..., list[str]],
) -> None:
    provider = SelfThrottled(200.0)
    report = await Dispatcher(provider, concurrency=16).send(Message(to=numbers(100), body="Hi"))

    times = sorted(provider.call_times)
    assert report.sent == 100
    assert (len(times) - 1) / (times[-1] - times[0]) == pytest.approx(200.0, rel=0.1)


async def test_recipients_are_marked_in_flight_only_when_their_turn_to_send_comes(
    numbers: Callable[..., list[str]], journal_path: Path,
) -> None:
    provider = PipelinedFake()
    provider.rate_limiter = RateLimiter(20.0)
    job = asyncio.create_task(Dispatcher(provider, concurrency=16, journal=journal_path).send(
        Message(to=numbers(40), body="Hi")))
    in_flight = []
    for _ in range(8):
        await asyncio.sleep(0.1)
        with Journal(journal_path) as journal:
            in_flight.append(journal.report().in_flight)
    job.cancel()
    with pytest.raises(asyncio.CancelledError):
        await job
    # Waiting for the rate happens before the mark: a crash now would leave at most the
    # request being sent "in flight", not every worker's next recipient.
    assert max(in_flight) <= 2


async def test_a_pipelined_provider_gets_the_permit_and_its_limiter_is_used_once_per_send(
    numbers: Callable[..., list[str]],
) -> None:
    provider = PipelinedFake()
    provider.rate_limiter = RateLimiter(200.0)
    report = await Dispatcher(provider, concurrency=16).send(Message(to=numbers(100), body="Hi"))

    times = sorted(provider.call_times)
    assert report.sent == 100
    # Acquired twice per send, the rate would be halved to ~100/s.
    assert (len(times) - 1) / (times[-1] - times[0]) == pytest.approx(200.0, rel=0.1)
