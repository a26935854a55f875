"""Retry counts per classification, 429 handling and rate-limit headers, through the provider."""

from __future__ import annotations

import time
from types import SimpleNamespace

import aiohttp
import pytest

from smsbridge import (
    ConnectError,
    DeliveryUnknownError,
    Message,
    RateLimiter,
    RateLimitError,
    RequestTimeoutError,
    ServerError,
    TransportError,
)
from smsbridge.providers.textus import TextUsProvider


def refused() -> aiohttp.ClientConnectorError:
    key = SimpleNamespace(host="api.test", port=443, ssl=True)
    return aiohttp.ClientConnectorError(key, OSError(111, "Connection refused"))  # type: ignore[arg-type]


HI = Message(to="+13035551234", body="hi")


async def test_get_is_retried_on_5xx_until_it_succeeds(api, textus):
    api.add("GET", "/messages/QNDkpL", status=503)
    api.add("GET", "/messages/QNDkpL", status=500)
    api.add("GET", "/messages/QNDkpL", payload=api.message_json())
    message = await textus.messages.get("QNDkpL")
    assert message.id == "/messages/QNDkpL"
    assert len(api.calls("GET", "/messages/QNDkpL")) == 3


async def test_get_gives_up_after_max_retries_with_the_server_error(api, textus):
    api.add("GET", "/messages/QNDkpL", status=500, repeat=True)
    with pytest.raises(ServerError):
        await textus.messages.get("QNDkpL")
    assert len(api.calls("GET", "/messages/QNDkpL")) == 3  # 1 + max_retries (2)


async def test_get_is_retried_after_a_read_timeout(api, textus):
    api.add("GET", "/messages/QNDkpL", exception=aiohttp.SocketTimeoutError())
    api.add("GET", "/messages/QNDkpL", payload=api.message_json())
    await textus.messages.get("QNDkpL")
    assert len(api.calls("GET", "/messages/QNDkpL")) == 2


async def test_post_send_is_never_retried_after_a_read_timeout(api, textus):
    api.add("POST", "/acct/messages", exception=aiohttp.SocketTimeoutError(), repeat=True)
    with pytest.raises(DeliveryUnknownError) as caught:
        await textus.send(HI)
    assert isinstance(caught.value.cause, RequestTimeoutError)
    assert "not retried" in str(caught.value)
    assert len(api.calls("POST", "/acct/messages")) == 1


async def test_post_send_is_never_retried_after_the_connection_drops(api, textus):
    api.add("POST", "/acct/messages", exception=aiohttp.ServerDisconnectedError(), repeat=True)
    with pytest.raises(DeliveryUnknownError) as caught:
        await textus.send(HI)
    assert isinstance(caught.value.cause, TransportError)
    assert len(api.calls("POST", "/acct/messages")) == 1


async def test_connect_errors_are_retried_for_a_post_send(api, textus):
    api.add("POST", "/acct/messages", exception=refused())
    api.add("POST", "/acct/messages", exception=aiohttp.ConnectionTimeoutError())
    api.add("POST", "/acct/messages", status=201, payload=api.message_json())
    receipt = await textus.send(HI)
    assert receipt.message_id == "/messages/QNDkpL"
    assert len(api.calls("POST", "/acct/messages")) == 3


async def test_connect_errors_are_retried_for_a_get_then_reported_as_not_sent(api, textus):
    api.add("GET", "/messages/QNDkpL", exception=refused(), repeat=True)
    with pytest.raises(ConnectError) as caught:
        await textus.messages.get("QNDkpL")
    assert caught.value.may_have_been_sent is False
    assert "Connection refused" in str(caught.value)
    assert len(api.calls("GET", "/messages/QNDkpL")) == 3


async def test_post_send_429_honours_retry_after_and_pauses_the_shared_limiter(api):
    limiter = RateLimiter(1000, 1.0)
    api.add("POST", "/acct/messages", status=429, headers={"Retry-After": "0.05"},
            payload={"@type": "hydra:Error", "hydra:title": "Too Many Requests"})
    api.add("POST", "/acct/messages", status=201, payload=api.message_json())
    async with TextUsProvider(api.TOKEN, "acct", base_url=api.BASE, rate_limiter=limiter,
                              retry=api.FAST_RETRY) as textus:
        started = time.monotonic()
        receipt = await textus.send(HI)
        elapsed = time.monotonic() - started
    assert receipt.message_id == "/messages/QNDkpL"
    assert len(api.calls("POST", "/acct/messages")) == 2  # a 429 surely was not processed
    assert limiter.pauses == 1
    assert elapsed >= 0.05


async def test_429_after_the_allowed_retries_raises_rate_limit_error(api, textus):
    api.add("POST", "/acct/messages", status=429, headers={"Retry-After": "0"}, repeat=True)
    with pytest.raises(RateLimitError) as caught:
        await textus.send(HI)
    assert caught.value.retry_after == 0.0
    assert caught.value.may_have_been_sent is False
    assert len(api.calls("POST", "/acct/messages")) == 3


async def test_rate_limit_headers_are_exposed_and_fed_to_the_limiter(api):
    reset = int(time.time()) + 120
    headers = {"X-RateLimit-Limit": "1000", "X-RateLimit-Remaining": "0",
               "X-RateLimit-Reset": str(reset)}
    api.add("GET", "/messages/QNDkpL", payload=api.message_json(), headers=headers)
    limiter = RateLimiter(1000, 1.0)
    async with TextUsProvider(api.TOKEN, "acct", base_url=api.BASE, rate_limiter=limiter) as t:
        assert t.rate_limit_state is None
        await t.messages.get("QNDkpL")
        state = t.rate_limit_state
    assert (state.limit, state.remaining, state.reset_at) == (1000, 0, float(reset))
    assert limiter.state == state
    assert limiter.pauses == 1  # the budget is spent: the next request waits for the reset


async def test_auto_rate_limiter_follows_the_documented_server_limit():
    async with TextUsProvider("t", "acct") as textus:
        limiter = textus.rate_limiter
        assert limiter is not None
        assert (limiter.max_rate, limiter.period) == (1000, 300.0)
    async with TextUsProvider("t", "acct", rate_limiter=None) as textus:
        assert textus.rate_limiter is None
