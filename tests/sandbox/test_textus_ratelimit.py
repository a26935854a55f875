"""TextUs's per-token rate limit: headers on every response, 429 + Retry-After past the limit."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from smsbridge.errors import ConfigurationError
from smsbridge.sandbox import Sandbox

SEND = {"to": "+13035551234", "body": "Hi"}


async def fresh_window(window: float) -> None:
    """Start a test at the beginning of a rate-limit window so it cannot roll over midway."""
    now = time.time()
    left = math.floor(now / window) * window + window - now
    if left < 0.5:
        await asyncio.sleep(left + 0.01)


@pytest.fixture
async def limited(clients: Any) -> AsyncIterator[tuple[Sandbox, Any]]:
    async with Sandbox(textus_rate_limit=(5, 1.0)) as sandbox:
        yield sandbox, clients(sandbox)[0]


async def test_every_response_carries_the_rate_limit_headers(limited: Any) -> None:
    _, textus = limited
    await fresh_window(1.0)
    replies = [
        await textus("POST", "/sandbox/messages", json_body=SEND),  # 201
        await textus("POST", "/sandbox/messages", json_body={"to": "x"}),  # 422
        await textus("GET", "/messages/unknown"),  # 404
        await textus("GET", "/accounts"),  # 200
    ]
    assert [r.status for r in replies] == [201, 422, 404, 200]
    assert [r.headers["X-RateLimit-Remaining"] for r in replies] == ["4", "3", "2", "1"]
    assert {r.headers["X-RateLimit-Limit"] for r in replies} == {"5"}
    resets = {r.headers["X-RateLimit-Reset"] for r in replies}
    assert len(resets) == 1
    reset = int(resets.pop())
    assert time.time() < reset <= time.time() + 1.0


async def test_past_the_limit_is_429_with_retry_after_until_the_window_resets(
    limited: Any,
) -> None:
    sandbox, textus = limited
    await fresh_window(1.0)
    statuses = [(await textus("POST", "/sandbox/messages", json_body=SEND)).status
                for _ in range(5)]
    over = await textus("POST", "/sandbox/messages", json_body=SEND)
    assert statuses == [201] * 5
    assert over.status == 429
    assert over.data == {"@type": "hydra:Error", "hydra:title": "Too Many Requests"}
    assert over.headers["Retry-After"] == "1"
    assert over.headers["X-RateLimit-Remaining"] == "0"
    assert len(sandbox.records) == 5  # the refused request stored nothing
    await asyncio.sleep(max(int(over.headers["X-RateLimit-Reset"]) - time.time(), 0) + 0.01)
    again = await textus("POST", "/sandbox/messages", json_body=SEND)
    assert again.status == 201 and again.headers["X-RateLimit-Remaining"] == "4"


async def test_requests_without_a_valid_token_count_against_the_ip_not_the_token(
    limited: Any,
) -> None:
    _, textus = limited
    await fresh_window(1.0)
    for _ in range(6):
        reply = await textus("GET", "/accounts", headers={"Authorization": "Bearer nope"})
    assert reply.status == 401 and reply.headers["X-RateLimit-Remaining"] == "0"
    ok = await textus("GET", "/accounts")
    assert ok.status == 200 and ok.headers["X-RateLimit-Remaining"] == "4"


async def test_the_limit_is_off_by_default_and_sends_no_headers(textus: Any) -> None:
    replies = [await textus("GET", "/accounts") for _ in range(3)]
    assert all(r.status == 200 and "X-RateLimit-Limit" not in r.headers for r in replies)


async def test_the_documented_limit_can_be_configured(clients: Any) -> None:
    async with Sandbox(textus_rate_limit=(1000, 300.0)) as sandbox:
        textus, _ = clients(sandbox)
        reply = await textus("GET", "/accounts")
        assert reply.headers["X-RateLimit-Limit"] == "1000"
        assert int(reply.headers["X-RateLimit-Reset"]) % 300 == 0


@pytest.mark.parametrize("limit", [(0, 1.0), (5, 0.0), (5, -1.0)])
def test_a_bad_rate_limit_is_a_configuration_error(limit: tuple[int, float]) -> None:
    with pytest.raises(ConfigurationError):
        Sandbox(textus_rate_limit=limit)
