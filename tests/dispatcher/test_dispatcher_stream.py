"""Dispatcher.stream: any (async) iterable, completion order, O(concurrency) memory."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from smsbridge import (
    ConfigurationError,
    Dispatcher,
    InvalidMessage,
    Message,
    OutcomeStatus,
    Receipt,
    Recipient,
)
from smsbridge.testing import FakeProvider


async def test_a_200k_async_generator_is_streamed_with_bounded_tasks_and_buffering(
    number_stream: Callable[[int], object],
) -> None:
    total, concurrency = 200_000, 16
    read = 0

    async def source() -> AsyncIterator[str]:
        nonlocal read
        for phone in number_stream(total):  # type: ignore[attr-defined]
            read += 1
            yield phone

    fake = FakeProvider(record=False)
    dispatcher = Dispatcher(fake, concurrency=concurrency, rate_limit=None)
    received = max_tasks = max_ahead = 0
    async for outcome in dispatcher.stream(source(), body="Hi"):
        received += 1
        assert outcome.status is OutcomeStatus.SENT
        max_ahead = max(max_ahead, read - received)
        if received % 500 == 0:
            max_tasks = max(max_tasks, len(asyncio.all_tasks()))

    assert received == total == fake.accepted_count()
    # This test's task, the job, its producer and the workers: never one task per recipient.
    assert max_tasks <= concurrency + 3
    # Read ahead of the consumer: the work queue, the workers and the outcome buffer only.
    assert max_ahead <= 2 * concurrency + concurrency + 2 * concurrency + 16 + 2


async def test_stream_takes_a_plain_list_and_yields_in_completion_order() -> None:
    slow = "+13035550100"

    class SlowForOne(FakeProvider):
        async def send(self, message: Message) -> Receipt:
            if message.recipient.phone == slow:
                await asyncio.sleep(0.05)
            return await super().send(message)

    to = [slow, "+13035550101", Recipient("+13035550102", {"x": 1})]
    stream = Dispatcher(SlowForOne(), concurrency=3).stream(to, body="Hi")
    phones = [outcome.phone async for outcome in stream]
    assert phones == ["+13035550101", "+13035550102", slow]


async def test_leaving_a_stream_early_stops_the_job(numbers: Callable[..., list[str]]) -> None:
    fake = FakeProvider(latency=0.01)
    async with Dispatcher(fake, concurrency=4).stream(numbers(1000), body="Hi") as outcomes:
        async for _ in outcomes:
            if fake.accepted_count() >= 10:
                break
    calls = fake.calls
    await asyncio.sleep(0.05)
    assert fake.calls == calls < 40  # nothing more was sent after the stream was closed
    assert fake.in_flight == 0


async def test_a_job_error_reaches_the_stream_consumer() -> None:
    stream = Dispatcher(FakeProvider()).stream(["+13035550100"], body="Hi {")
    with pytest.raises(InvalidMessage):
        async for _ in stream:
            pass


def test_a_single_number_is_not_a_list_of_recipients() -> None:
    with pytest.raises(ConfigurationError, match="iterable"):
        Dispatcher(FakeProvider()).stream("+13035550100", body="Hi")


async def test_stream_reports_progress_and_job_id(numbers: Callable[..., list[str]]) -> None:
    stream = Dispatcher(FakeProvider()).stream(numbers(5), body="Hi")
    assert stream.progress is None
    outcomes = [o async for o in stream]
    assert len(outcomes) == 5 and stream.job_id is not None
    assert stream.progress is not None and stream.progress.sent == 5
