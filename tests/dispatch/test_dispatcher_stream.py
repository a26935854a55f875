"""Dispatcher.stream: any (async) iterable, completion order, O(concurrency) memory."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

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
from smsbridge.journal.store import Journal
from smsbridge.providers.textus import TextUsProvider
from smsbridge.sandbox import Sandbox
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


async def _until_the_job_tasks_end() -> None:
    """Wait (up to 30 s) for the tasks a dropped stream left behind (the job, its workers)."""
    await asyncio.sleep(0.05)  # the loop's async-generator finalizer schedules the close
    job = [t for t in asyncio.all_tasks() if t.get_name().startswith("smsbridge-")]
    if job:
        async with asyncio.timeout(30):
            await asyncio.wait(job)


async def test_break_out_of_a_stream_stops_sending_and_leaves_the_rest_pending_for_resume(
    tmp_path: Path, numbers: Callable[..., list[str]], caplog: pytest.LogCaptureFixture,
) -> None:
    total, consumed_before_break, concurrency = 1000, 100, 8
    to = numbers(total)
    journal = tmp_path / "job.sqlite"
    caplog.set_level(logging.WARNING, logger="asyncio")
    async with Sandbox(seed=6, delivery_delay=0.05) as sb:
        provider = TextUsProvider(sb.textus_token, sb.textus_account, base_url=sb.textus_url)
        async with provider:
            dispatcher = Dispatcher(provider, concurrency=concurrency, journal=journal,
                                    job_id="break-job")
            consumed = 0
            async for outcome in dispatcher.stream(to, body="Hi"):
                assert outcome.status is OutcomeStatus.SENT
                consumed += 1
                if consumed == consumed_before_break:
                    break
            # Nothing refers to the stream any more: the loop closes its generator, which
            # stops the job. Wait for that, with no aclose() of our own.
            await _until_the_job_tasks_end()
            sent_by_break = len(sb.accepted_numbers())
            await asyncio.sleep(0.3)  # a job still running would send on meanwhile
            assert len(sb.accepted_numbers()) == sent_by_break
            with Journal(journal) as opened:
                report = opened.report("break-job")
            # Sent: what was consumed, what sat unread in the stream's buffer (2 x
            # concurrency, at least 16) and the sends in flight at the break; not 700.
            assert consumed_before_break <= sent_by_break <= (
                consumed_before_break + max(2 * concurrency, 16) + concurrency)
            assert report.sent == sent_by_break and report.in_flight == 0
            assert report.failed == report.unknown == 0
            assert report.job.status == "cancelled"

            resumed = await dispatcher.resume("break-job", recipients=to)
            await dispatcher.aclose()
        accepted = sb.accepted_numbers()

    assert resumed.sent == total - sent_by_break
    assert resumed.reasons()["already_sent"] == sent_by_break
    assert sorted(accepted) == sorted(to)  # everyone once, nobody twice
    assert not [r for r in caplog.records if r.name == "asyncio"], caplog.text


async def test_aclose_while_the_consumer_is_cancelled_still_waits_for_the_job(
    numbers: Callable[..., list[str]], tmp_path: Path,
) -> None:
    started = asyncio.Event()

    class Slow(FakeProvider):
        async def send(self, message: Message) -> Receipt:
            started.set()
            await asyncio.sleep(0.2)
            return await super().send(message)

    fake = Slow()
    stream = Dispatcher(fake, concurrency=4, journal=tmp_path / "j.sqlite", job_id="j",
                        cancel_grace=5.0).stream(numbers(50), body="Hi")

    async def consume() -> None:
        async for _ in stream:
            pass

    consumer = asyncio.create_task(consume())
    await started.wait()
    consumer.cancel()
    await asyncio.sleep(0)
    consumer.cancel()  # a second cancel while the job is stopping
    with pytest.raises(asyncio.CancelledError):
        await consumer
    # The consumer returned only after the job stopped: the journal is closed and consistent.
    with Journal(tmp_path / "j.sqlite") as opened:
        report = opened.report("j")
    assert report.in_flight == 0
    assert report.sent + report.unknown == fake.accepted_count() + report.unknown


async def test_a_source_that_swallows_the_cancellation_does_not_hang_the_stopping_job() -> None:
    import asyncio as aio

    from smsbridge import Dispatcher
    from smsbridge.testing import FakeProvider

    async def stubborn() -> Any:
        # a client library that eats the cancellation it receives mid-read, then reads on
        for i in range(100_000):
            with contextlib.suppress(aio.CancelledError):
                await aio.sleep(0.005)
            yield f"+1303555{1000 + i % 9000:04d}"

    async def consume() -> int:
        seen = 0
        async with Dispatcher(FakeProvider(), concurrency=2).stream(stubborn(), body="Hi") as s:
            async for _ in s:
                seen += 1
        return seen

    job = aio.create_task(consume())
    await aio.sleep(0.3)
    job.cancel()
    done, _ = await aio.wait([job], timeout=15)
    assert done, "the job hung after a cancellation its source swallowed"
