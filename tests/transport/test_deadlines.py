"""Read timeouts enforced by one periodic check per client (``_read_deadlines``).

Unit tests of ``ReadDeadlines`` against plain tasks, then the pipeline against a real server on
127.0.0.1 that never answers: the sent / not-sent / unknown rule holds as with aiohttp's timer.
"""

from __future__ import annotations

import asyncio
import builtins
import time
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from smsbridge import DeliveryUnknownError, RequestTimeoutError, RetryPolicy, Timeouts
from smsbridge.transport.deadlines import ReadDeadlines
from smsbridge.transport.http import HttpClient

FAST = RetryPolicy(max_retries=2, initial_backoff=0.001, max_backoff=0.002)
SHORT = Timeouts(connect=0.05, read=0.15, total=5.0)


async def wait_in(deadlines: ReadDeadlines, seconds: float) -> str:
    """An attempt as the pipeline makes one, the request being a sleep."""
    task = deadlines.start()
    try:
        await asyncio.sleep(seconds)
    except asyncio.CancelledError:
        if deadlines.timed_out(task):
            raise builtins.TimeoutError from None
        raise
    finally:
        deadlines.finish(task)
    return "answered"


async def test_an_attempt_past_its_deadline_raises_timeout_error_within_a_tick():
    deadlines = ReadDeadlines(0.1)
    started = time.monotonic()
    with pytest.raises(builtins.TimeoutError):  # the pipeline maps it to smsbridge's
        await wait_in(deadlines, 10)
    elapsed = time.monotonic() - started
    assert 0.1 <= elapsed < 0.1 + deadlines.tick + 0.2
    assert deadlines.in_flight == 0


async def test_an_attempt_that_finishes_in_time_returns_and_leaves_nothing_behind():
    deadlines = ReadDeadlines(0.3)
    results = await asyncio.gather(*(wait_in(deadlines, 0.01) for _ in range(20)))
    assert results == ["answered"] * 20
    assert deadlines.in_flight == 0
    await asyncio.sleep(deadlines.tick * 2)  # the sweep stops once nothing is in flight
    assert deadlines._sweep_handle is None


async def test_a_task_cancelled_by_its_owner_stays_cancelled():
    deadlines = ReadDeadlines(5.0)
    task = asyncio.create_task(wait_in(deadlines, 10))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert deadlines.in_flight == 0


async def test_a_cancel_that_coincides_with_the_timeout_is_not_swallowed():
    deadlines = ReadDeadlines(0.05)
    deadlines.tick = 60.0  # this test runs the sweeps itself
    task = asyncio.create_task(wait_in(deadlines, 10))
    await asyncio.sleep(0.01)
    deadlines._sweep(asyncio.get_running_loop())  # not yet due: nothing happens
    await asyncio.sleep(0.06)
    deadlines._sweep(asyncio.get_running_loop())  # due: the timeout cancels the task ...
    task.cancel()  # ... and its owner cancels it too, before it runs again
    with pytest.raises(asyncio.CancelledError):
        await task
    assert task.cancelling() == 1  # the owner's cancel stands; the timeout's was withdrawn


# --- through the pipeline ---------------------------------------------------------------------


class Silent:
    """A server that reads each request and answers only after ``delay`` seconds."""

    def __init__(self) -> None:
        self.delay = 10.0
        self.hits = 0
        self.url = ""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.hits += 1
        await request.read()
        await asyncio.sleep(self.delay)
        return web.json_response({"ok": True})


@pytest.fixture
async def silent(serve) -> AsyncIterator[Silent]:
    srv = Silent()
    async with serve(srv.handle) as url:
        srv.url = url
        yield srv


@pytest.fixture
async def client(silent: Silent) -> AsyncIterator[HttpClient]:
    http = HttpClient(provider="acme", base_url=silent.url, headers={}, retry=FAST,
                      timeouts=SHORT)
    assert http._read_deadlines is not None  # read > connect: the periodic check applies
    yield http
    await http.aclose()


async def test_a_get_without_an_answer_times_out_and_is_retried(silent, client):
    started = time.monotonic()
    with pytest.raises(RequestTimeoutError) as caught:
        await client.request("GET", "/slow")
    assert caught.value.may_have_been_sent is True
    assert silent.hits == 3
    assert time.monotonic() - started >= 3 * SHORT.read


async def test_a_post_without_an_answer_is_delivery_unknown_and_never_retried(silent, client):
    with pytest.raises(DeliveryUnknownError) as caught:
        await client.request("POST", "/send", json_body={"to": "+13035551234"})
    assert isinstance(caught.value.cause, RequestTimeoutError)
    assert silent.hits == 1


async def test_an_answer_within_the_read_timeout_is_returned(silent, client):
    silent.delay = 0.02
    responses = await asyncio.gather(*(client.request("GET", f"/x{i}") for i in range(10)))
    assert [r.json() for r in responses] == [{"ok": True}] * 10
    assert client._read_deadlines is not None and client._read_deadlines.in_flight == 0


def test_a_read_timeout_not_above_connect_stays_with_aiohttp():
    # Were it counted from the start of the attempt, a slow connect (surely not sent) could be
    # reported as a read timeout (may have sent): aiohttp's per-read timer keeps them apart.
    http = HttpClient(provider="acme", base_url="http://127.0.0.1:9", headers={},
                      timeouts=Timeouts(connect=1.0, read=0.5, total=5.0))
    assert http._read_deadlines is None
    assert http._client_timeout.sock_read == 0.5
