"""Fault injection as a client sees it, and what the sandbox stored meanwhile."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import pytest

from smsbridge.errors import ConfigurationError
from smsbridge.sandbox import Fault, FaultKind, Sandbox

NUMBER = "+13035551234"
SEND = {"to": NUMBER, "body": "Hi"}


async def send(textus: Any, **kw: Any) -> Any:
    return await textus("POST", "/sandbox/messages", json_body=SEND, **kw)


async def test_latency_delays_then_answers_normally(sb: Sandbox, textus: Any) -> None:
    sb.faults.add("textus.send", "latency", delay=0.3)
    started = time.monotonic()
    reply = await send(textus)
    assert reply.status == 201 and time.monotonic() - started >= 0.3
    assert len(sb.records) == 1


async def test_5xx_before_stores_nothing(sb: Sandbox, textus: Any, trackdrive: Any) -> None:
    sb.faults.add("textus.send", "error_5xx_before", status=503)
    sb.faults.add("trackdrive.text_messages", FaultKind.ERROR_5XX_BEFORE)
    reply = await send(textus)
    assert reply.status == 503 and reply.data["@type"] == "hydra:Error"
    td = await trackdrive("POST", "/text_messages", params={"message": "x", "to": NUMBER})
    assert td.data == {"status": 500, "errors": {"base": ["Internal server error"]}}
    assert sb.records == [] and sb.textus.messages == {} and sb.trackdrive.text_messages == {}


async def test_5xx_after_stores_the_message_then_fails(sb: Sandbox, textus: Any,
                                                      trackdrive: Any) -> None:
    sb.faults.add("*", "error_5xx_after")
    assert (await send(textus)).status == 500
    call = await trackdrive("POST", "/schedules/make_call", json_body={
        "lead_id": sb.trackdrive.seed.lead_id})
    assert call.status == 500
    assert [r.route for r in sb.records] == ["textus.send", "trackdrive.make_call"]
    assert sb.accepted_numbers("textus") == [NUMBER]


async def test_injected_429_has_retry_after_and_stores_nothing(sb: Sandbox, textus: Any,
                                                               trackdrive: Any) -> None:
    sb.faults.add("textus.send", "rate_limit_429", delay=2)
    sb.faults.add("trackdrive.make_call", "rate_limit_429")
    reply = await send(textus)
    assert reply.status == 429 and reply.headers["Retry-After"] == "2"
    assert reply.data == {"@type": "hydra:Error", "hydra:title": "Too Many Requests"}
    td = await trackdrive("POST", "/schedules/make_call", json_body={"lead_id": 1})
    assert td.status == 429 and td.headers["Retry-After"] == "1"
    assert sb.records == []


async def test_reset_before_read_drops_the_connection_and_stores_nothing(
    sb: Sandbox, textus: Any
) -> None:
    sb.faults.add("textus.send", "reset_before_read")
    with pytest.raises(aiohttp.ClientError):
        await send(textus)
    assert sb.records == [] and sb.textus.messages == {}


async def test_reset_after_store_drops_the_connection_but_keeps_the_message(
    sb: Sandbox, trackdrive: Any
) -> None:
    sb.faults.add("trackdrive.text_messages", "reset_after_store")
    with pytest.raises((aiohttp.ServerDisconnectedError, aiohttp.ClientOSError)):
        await trackdrive("POST", "/text_messages", params={"message": "x", "to": NUMBER})
    assert sb.accepted_numbers("trackdrive") == [NUMBER]
    assert len(sb.trackdrive.text_messages) == 1


async def test_hang_outlasts_the_client_timeout_and_stores_nothing(
    sb: Sandbox, textus: Any
) -> None:
    sb.faults.add("textus.send", "hang")
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        await send(textus, timeout=0.3)
    assert 0.3 <= time.monotonic() - started < 2.0
    assert sb.records == []
    sb.faults.clear()
    assert (await send(textus)).status == 201  # the sandbox is still serving


async def test_a_hanging_request_does_not_block_shutdown(clients: Any) -> None:
    sandbox = Sandbox(faults=["textus.send:hang"])
    await sandbox.start()
    textus, _ = clients(sandbox)
    pending = asyncio.create_task(send(textus, timeout=30))
    await asyncio.sleep(0.2)
    started = time.monotonic()
    await sandbox.stop()
    assert time.monotonic() - started < 1.0
    with pytest.raises(aiohttp.ClientError):
        await pending


async def test_exclusive_ratios_are_disjoint_and_reproducible(clients: Any) -> None:
    async def run() -> tuple[list[int], dict[tuple[str, str], int]]:
        async with Sandbox(seed=42, faults=[("textus.send", "error_5xx_before", 0.2),
                                            ("*", "rate_limit_429", 0.2)]) as sandbox:
            textus, _ = clients(sandbox)
            statuses = [(await send(textus)).status for _ in range(150)]
            return statuses, dict(sandbox.faults.injected)

    statuses, injected = await run()
    fives, fours = statuses.count(500), statuses.count(429)
    assert injected == {("textus.send", "error_5xx_before"): fives,
                        ("textus.send", "rate_limit_429"): fours}
    assert 15 <= fives <= 50 and 15 <= fours <= 50
    assert statuses.count(201) == 150 - fives - fours
    assert (await run())[0] == statuses  # same seed, same faults


async def test_count_limits_a_rule_and_routes_are_separate(sb: Sandbox, textus: Any,
                                                           trackdrive: Any) -> None:
    rule = sb.faults.add("textus.send", "error_5xx_before", count=2)
    assert [(await send(textus)).status for _ in range(3)] == [500, 500, 201]
    assert rule.fired == 2 and sb.faults.rules == ()
    sb.faults.add("trackdrive.text_messages", "error_5xx_before")
    assert (await send(textus)).status == 201
    assert (await trackdrive("GET", "/schedules")).status == 200


@pytest.mark.parametrize(("args", "kwargs"), [
    (("textus.nope", "hang"), {}),
    (("textus.send", "explode"), {}),
    (("textus.send", "hang", 1.5), {}),
    (("textus.send", "latency"), {}),
    (("textus.send", "error_5xx_before"), {"status": 404}),
    (("textus.send", "hang"), {"count": 0}),
])
async def test_bad_fault_configuration_is_a_clear_error(sb: Sandbox, args: tuple[Any, ...],
                                                        kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        sb.faults.add(*args, **kwargs)


def test_fault_spec_strings_parse() -> None:
    fault = Fault.parse("trackdrive.make_call:latency:0.5:0.25")
    assert (fault.route, fault.kind, fault.ratio, fault.delay) == (
        "trackdrive.make_call", FaultKind.LATENCY, 0.5, 0.25)
    with pytest.raises(ConfigurationError):
        Fault.parse("textus.send")
    with pytest.raises(ConfigurationError):
        Sandbox(faults=["textus.send:hang:lots"])
