"""The task-to-task FIFO behind the dispatcher's work queue and outcome stream."""

from __future__ import annotations

import asyncio

import pytest

from smsbridge.dispatch.channel import Channel


async def test_items_come_out_in_the_order_they_went_in():
    channel: Channel[int] = Channel(8)
    for i in range(5):
        await channel.put(i)
    assert [await channel.get() for _ in range(5)] == [0, 1, 2, 3, 4]
    assert len(channel) == 0


async def test_put_waits_while_the_channel_is_full_and_put_nowait_never_does():
    channel: Channel[str] = Channel(1)
    await channel.put("a")
    blocked = asyncio.create_task(channel.put("b"))
    await asyncio.sleep(0.01)
    assert not blocked.done()
    channel.put_nowait("sentinel")  # past capacity: for shutdown markers
    assert await channel.get() == "a"
    assert await channel.get() == "sentinel"
    await asyncio.wait_for(blocked, 1)
    assert await channel.get() == "b"


async def test_a_waiting_getter_is_woken_by_a_put():
    channel: Channel[int] = Channel(4)
    getters = [asyncio.create_task(channel.get()) for _ in range(3)]
    await asyncio.sleep(0)
    for i in range(3):
        channel.put_nowait(i)
    assert sorted(await asyncio.gather(*getters)) == [0, 1, 2]


async def test_a_getter_cancelled_after_being_woken_passes_the_item_on():
    channel: Channel[int] = Channel(4)
    first = asyncio.create_task(channel.get())
    second = asyncio.create_task(channel.get())
    await asyncio.sleep(0)
    channel.put_nowait(7)  # wakes the first getter ...
    first.cancel()  # ... which is cancelled before it runs
    with pytest.raises(asyncio.CancelledError):
        await first
    assert await asyncio.wait_for(second, 1) == 7


async def test_a_putter_cancelled_while_waiting_leaves_the_channel_usable():
    channel: Channel[int] = Channel(1)
    await channel.put(1)
    waiting = asyncio.create_task(channel.put(2))
    await asyncio.sleep(0)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert await channel.get() == 1
    await asyncio.wait_for(channel.put(3), 1)
    assert await channel.get() == 3


def test_a_channel_must_hold_something():
    with pytest.raises(ValueError, match="at least one"):
        Channel(0)
