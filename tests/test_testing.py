"""The test kit: FakeProvider records, injects faults reproducibly, and measures concurrency."""

from __future__ import annotations

import asyncio

import pytest

from smsbridge import (
    AuthenticationError,
    ConnectError,
    DeliveryUnknownError,
    InvalidMessage,
    Message,
    RateLimitError,
    UnprocessableError,
)
from smsbridge.protocol import BatchSendingProvider, MessagingProvider
from smsbridge.testing import FakeProvider, Fault


def msg(to: str = "+13035550100") -> Message:
    return Message(to=to, body="Hi")


async def test_the_fake_records_every_accepted_message() -> None:
    fake = FakeProvider()
    receipt = await fake.send(msg())
    batch = await fake.send_batch(Message(to=["+13035550101", "+13035550102"], body="All"))

    assert receipt.message_id == "fake-1" and receipt.provider == "fake"
    assert batch.to == ("+13035550101", "+13035550102") and batch.message_ids is None
    assert fake.accepted_count() == 3 and fake.accepted_count("+13035550101") == 1
    assert [a.batch for a in fake.accepted] == [False, True, True]
    assert fake.sent_to("+13035550100")[0].body == "Hi"
    assert isinstance(fake, MessagingProvider) and isinstance(fake, BatchSendingProvider)
    fake.clear()
    assert fake.accepted == [] and fake.accepted_count() == 0 and fake.calls == 0


async def test_each_fault_raises_what_the_real_pipeline_would() -> None:
    fake = FakeProvider(script=[Fault("reject", status=422), Fault("reject", status=401),
                                Fault("rate_limit", retry_after=2.5), "connect_error",
                                "server_error", "timeout", "accepted_then_timeout",
                                Fault("latency", delay=0.01), None])
    with pytest.raises(UnprocessableError):
        await fake.send(msg())
    with pytest.raises(AuthenticationError):
        await fake.send(msg())
    with pytest.raises(RateLimitError) as limited:
        await fake.send(msg())
    assert limited.value.retry_after == 2.5
    with pytest.raises(ConnectError) as refused:
        await fake.send(msg())
    assert not refused.value.may_have_been_sent
    for _ in range(2):  # server_error, timeout: nothing stored, outcome unknown
        with pytest.raises(DeliveryUnknownError):
            await fake.send(msg())
    assert fake.accepted_count() == 0
    with pytest.raises(DeliveryUnknownError) as unknown:
        await fake.send(msg())
    assert unknown.value.may_have_been_sent and fake.accepted_count() == 1  # stored first
    await fake.send(msg())
    await fake.send(msg())
    assert fake.accepted_count() == 3 and fake.injected["latency"] == 1


async def test_random_faults_are_reproducible_with_a_seed() -> None:
    async def run(seed: int) -> list[str]:
        fake = FakeProvider(seed=seed, faults={"reject": 0.3, "connect_error": 0.3})
        kinds = []
        for _ in range(50):
            try:
                await fake.send(msg())
                kinds.append("ok")
            except Exception as exc:
                kinds.append(type(exc).__name__)
        return kinds

    first, again, other = await run(1), await run(1), await run(2)
    assert first == again and first != other and "ok" in first


async def test_per_number_scripts_and_rules_pick_the_fault() -> None:
    fake = FakeProvider(per_number={"+13035550101": ["connect_error", None]},
                        rule=lambda m, n: "reject" if m.recipient.phone == "+13035550109" else None)
    await fake.send(msg())
    with pytest.raises(ConnectError):
        await fake.send(msg("+13035550101"))
    await fake.send(msg("+13035550101"))
    with pytest.raises(UnprocessableError):
        await fake.send(msg("+13035550109"))
    assert fake.calls_per_number["+13035550101"] == 2


async def test_the_fake_measures_the_highest_concurrency_it_saw() -> None:
    fake = FakeProvider(latency=0.02)
    await asyncio.gather(*(fake.send(msg(f"+1303555010{i}")) for i in range(5)))
    assert fake.max_concurrency == 5 and fake.in_flight == 0


async def test_without_recording_only_counts_are_kept() -> None:
    fake = FakeProvider(record=False)
    await fake.send(msg())
    assert fake.accepted_count() == 1 and fake.accepted == [] and fake.call_times == []


async def test_bad_fake_settings_and_bad_messages_are_rejected() -> None:
    with pytest.raises(ValueError, match="unknown fault"):
        FakeProvider(faults={"explode": 0.1})
    with pytest.raises(ValueError, match="probability"):
        FakeProvider(faults={"reject": 2.0})
    with pytest.raises(InvalidMessage):
        await FakeProvider().send(Message(to=["+13035550100", "+13035550101"], body="Hi"))
