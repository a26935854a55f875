"""The request pipeline over real sockets (an aiohttp server on 127.0.0.1, port 0).

Proves the sent / not-sent / unknown rule end to end: what is retried, what never is, what the
caller gets, and that logs show the request but never the credentials.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from smsbridge import (
    BadRequestError,
    ConfigurationError,
    ConnectError,
    DeliveryUnknownError,
    RateLimiter,
    RedirectError,
    RequestTimeoutError,
    RetryPolicy,
    ServerError,
    Timeouts,
    TransportError,
    UnexpectedStatusError,
)
from smsbridge.transport.http import HttpClient, Response

SECRET = "Bearer sk_live_do_not_log"
FAST = RetryPolicy(max_retries=2, initial_backoff=0.001, max_backoff=0.002)
Action = Callable[[web.Request], Awaitable[web.StreamResponse]]


def reply(status: int = 200, payload: Any = None, body: bytes = b"",
          headers: dict[str, str] | None = None) -> Action:
    async def action(request: web.Request) -> web.StreamResponse:
        data = json.dumps(payload).encode() if payload is not None else body
        return web.Response(status=status, body=data, headers=headers,
                            content_type="application/json")

    return action


def hang(seconds: float) -> Action:
    async def action(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(seconds)
        return web.Response(status=200)

    return action


async def reset(request: web.Request) -> web.StreamResponse:
    assert request.transport is not None
    request.transport.close()  # read the request, then drop the connection without answering
    return web.Response(status=200)


class Server:
    """Answers each request with the next scripted action (the last one repeats)."""

    def __init__(self) -> None:
        self.script: list[Action] = [reply(200, {"ok": True})]
        self.hits: list[dict[str, Any]] = []
        self.url = ""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.hits.append({"method": request.method, "path": request.path_qs,
                          "headers": dict(request.headers), "body": await request.text()})
        action = self.script[min(len(self.hits), len(self.script)) - 1]
        return await action(request)


@pytest.fixture
async def server(serve) -> AsyncIterator[Server]:
    srv = Server()
    async with serve(srv.handle) as url:
        srv.url = url + "/api"
        yield srv


@pytest.fixture
async def client(server: Server) -> AsyncIterator[HttpClient]:
    http = HttpClient(provider="acme", base_url=server.url + "/", retry=FAST,
                      headers={"Authorization": SECRET, "Accept": "application/json",
                               "Content-Type": "application/json"})
    yield http
    await http.aclose()


async def test_a_get_returns_the_response_and_sends_the_default_headers(server, client):
    server.script = [reply(200, {"a": 1}, headers={"X-Request-Id": "req-7"})]
    response = await client.request("GET", "/things", params={"q": "x y"})
    assert isinstance(response, Response)
    assert (response.status, response.request_id, response.attempts) == (200, "req-7", 1)
    assert response.json() == {"a": 1} and response.json() is response.json()
    assert response.elapsed > 0 and not response.is_empty
    hit = server.hits[0]
    assert hit["path"] == "/api/things?q=x+y"
    assert hit["headers"]["Authorization"] == SECRET
    assert hit["headers"]["User-Agent"].startswith("smsbridge-python/")


async def test_a_post_sends_compact_json_and_per_request_headers_override_or_drop(server, client):
    server.script = [reply(201)]
    response = await client.request("POST", "things", json_body={"a": 1, "b": [1, 2]},
                                    headers={"Accept": "text/plain", "Authorization": None})
    assert response.status == 201 and response.is_empty and response.json() is None
    hit = server.hits[0]
    assert hit["body"] == '{"a":1,"b":[1,2]}'
    assert hit["headers"]["Accept"] == "text/plain"
    assert "Authorization" not in hit["headers"]


def test_url_for_and_base_url_validation():
    http = HttpClient(provider="p", base_url="https://h.example/v1/", headers={})
    assert http.url_for("/x") == "https://h.example/v1/x"
    assert http.url_for("x?y=1") == "https://h.example/v1/x?y=1"
    assert http.url_for("https://other/x") == "https://other/x"
    with pytest.raises(ConfigurationError, match="http"):
        HttpClient(provider="p", base_url="h.example", headers={})
    assert "Authorization" not in repr(HttpClient(provider="p", base_url="http://h",
                                                  headers={"Authorization": SECRET}))


async def test_get_5xx_is_retried_until_success(server, client):
    server.script = [reply(503), reply(500), reply(200, {"ok": 1})]
    response = await client.request("GET", "/x")
    assert response.attempts == 3 and len(server.hits) == 3


async def test_get_5xx_gives_up_after_max_retries(server, client):
    server.script = [reply(502)]
    with pytest.raises(ServerError):
        await client.request("GET", "/x")
    assert len(server.hits) == 3


async def test_post_5xx_is_delivery_unknown_and_never_retried(server, client):
    server.script = [reply(500, {"message": "boom"})]
    with pytest.raises(DeliveryUnknownError) as caught:
        await client.request("POST", "/send", json_body={"to": "x"})
    assert isinstance(caught.value.cause, ServerError)
    assert caught.value.cause.may_have_been_sent is True
    assert len(server.hits) == 1


async def test_a_post_declared_idempotent_is_retried_on_5xx(server, client):
    server.script = [reply(503), reply(200, {})]
    await client.request("POST", "/search", json_body={}, idempotent=True)
    assert len(server.hits) == 2


async def test_post_4xx_is_raised_at_once(server, client):
    server.script = [reply(400, {"error": "bad to"})]
    with pytest.raises(BadRequestError, match="bad to"):
        await client.request("POST", "/send", json_body={})
    assert len(server.hits) == 1


async def test_429_waits_retry_after_pauses_the_limiter_then_succeeds(server):
    limiter = RateLimiter(1000, 1.0)
    server.script = [reply(429, headers={"Retry-After": "0.05"}), reply(200, {})]
    http = HttpClient(provider="acme", base_url=server.url, headers={}, retry=FAST,
                      rate_limiter=limiter)
    started = time.monotonic()
    await http.request("POST", "/send", json_body={})
    await http.aclose()
    assert time.monotonic() - started >= 0.05
    assert limiter.pauses == 1 and len(server.hits) == 2


async def test_rate_limit_headers_are_observed(server, client):
    reset_at = int(time.time()) + 60
    server.script = [reply(200, {}, headers={"X-RateLimit-Limit": "10",
                                             "X-RateLimit-Remaining": "9",
                                             "X-RateLimit-Reset": str(reset_at)})]
    await client.request("GET", "/x")
    assert client.last_rate_limit is not None
    assert (client.last_rate_limit.remaining, client.last_rate_limit.reset_at) == (9, reset_at)


@pytest.fixture
async def slow_client(server) -> AsyncIterator[HttpClient]:
    server.script = [hang(0.5)]
    http = HttpClient(provider="acme", base_url=server.url, headers={}, retry=FAST,
                      timeouts=Timeouts(connect=1.0, read=0.05, total=2.0))
    yield http
    await http.aclose()


async def test_a_read_timeout_is_retried_for_a_get(server, slow_client):
    with pytest.raises(RequestTimeoutError) as caught:
        await slow_client.request("GET", "/slow")
    assert caught.value.may_have_been_sent is True
    assert len(server.hits) == 3


async def test_a_read_timeout_on_a_post_is_delivery_unknown_and_never_retried(server, slow_client):
    with pytest.raises(DeliveryUnknownError) as caught:
        await slow_client.request("POST", "/send", json_body={})
    assert isinstance(caught.value.cause, RequestTimeoutError)
    assert len(server.hits) == 1


async def test_a_connection_dropped_after_the_request_is_unknown_for_a_post(server, client):
    server.script = [reset]
    with pytest.raises(DeliveryUnknownError) as caught:
        await client.request("POST", "/send", json_body={})
    assert isinstance(caught.value.cause, TransportError)
    assert len(server.hits) == 1
    with pytest.raises(TransportError):
        await client.request("GET", "/x")
    # A GET is retried (aiohttp may also resend an idempotent request once on a dropped
    # keep-alive connection, so the server can see more than our three attempts).
    assert len(server.hits) - 1 >= 3


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_connection_refused_is_retried_then_reported_not_sent(caplog, method):
    caplog.set_level(logging.INFO, logger="smsbridge")
    http = HttpClient(provider="acme", base_url=f"http://127.0.0.1:{closed_port()}",
                      headers={}, retry=FAST)
    with pytest.raises(ConnectError) as caught:
        await http.request(method, "/x", json_body={} if method == "POST" else None)
    await http.aclose()
    assert caught.value.may_have_been_sent is False
    assert "the request was not sent" in str(caught.value)
    assert caplog.text.count("retrying after ConnectError") == 2


async def test_debug_logs_show_method_path_status_attempt_but_no_secret(server, client, caplog):
    caplog.set_level(logging.DEBUG, logger="smsbridge")
    server.script = [reply(500), reply(200, {})]
    await client.request("GET", "/people/+13035551234")
    text = caplog.text
    assert "acme GET /people/" in text
    assert "-> 500 attempt=1" in text and "-> 200 attempt=2" in text
    assert "elapsed=" in text
    assert "sk_live" not in text and "3035551234" not in text


async def test_the_session_is_lazy_owned_sessions_close_and_user_sessions_do_not(server):
    http = HttpClient(provider="acme", base_url=server.url, headers={})
    assert http.closed
    await http.request("GET", "/x")
    assert not http.closed
    await http.aclose()
    assert http.closed
    async with aiohttp.ClientSession() as session:
        shared = HttpClient(provider="acme", base_url=server.url, headers={}, session=session)
        await shared.request("GET", "/x")
        await shared.aclose()
        assert not session.closed
    assert len(server.hits) == 2


async def test_a_custom_error_hook_decides_what_is_an_error(server):
    class Wrong(ServerError):
        pass

    def hook(response: Response) -> Wrong | None:
        if response.json() == {"status": "error"}:
            return Wrong("acme: error in a 200", provider="acme", status=200)
        return None

    server.script = [reply(200, {"status": "error"})]
    http = HttpClient(provider="acme", base_url=server.url, headers={}, error_hook=hook)
    with pytest.raises(Wrong):
        await http.request("GET", "/x")
    await http.aclose()


SENDS = frozenset({201, 202})


@pytest.mark.parametrize("method", ["GET", "DELETE", "HEAD", "POST", "PUT"])
async def test_a_request_without_a_body_carries_no_content_type(server, client, method):
    server.script = [reply(200, {"ok": 1})]
    await client.request(method, "/things")
    await client.request(method, "/things", headers={"Accept": "application/json"})
    for hit in server.hits:
        assert "Content-Type" not in hit["headers"]


async def test_a_request_with_a_body_keeps_the_client_content_type(server, client):
    server.script = [reply(201)]
    await client.request("POST", "/things", json_body={"a": 1})
    await client.request("PUT", "/things", json_body={"a": 1}, headers={"Accept": "text/plain"})
    assert [h["headers"]["Content-Type"] for h in server.hits] == ["application/json"] * 2


@pytest.mark.parametrize("status", [301, 302, 307, 308])
async def test_a_redirected_post_is_a_not_sent_redirect_error_naming_the_location(
    server, client, status
):
    server.script = [reply(status, headers={
        "Location": "https://new.example:8443/v2/messages?token=sk_live_leak#frag"})]
    with pytest.raises(RedirectError) as caught:
        await client.request("POST", "/messages", json_body={"to": "+13035551234"},
                             expect=SENDS)
    error = caught.value
    assert error.status == status and not error.may_have_been_sent and not error.retryable
    assert error.location == "https://new.example:8443/v2/messages"
    assert "https://new.example:8443/v2/messages" in str(error)
    assert "sk_live_leak" not in str(error) and "frag" not in str(error)
    assert "base_url" in str(error)
    assert len(server.hits) == 1  # never followed, never retried


async def test_a_relative_location_is_resolved_against_the_request(server, client):
    server.script = [reply(302, headers={"Location": "/elsewhere/x?secret=1"})]
    with pytest.raises(RedirectError) as caught:
        await client.request("GET", "/things")
    assert caught.value.location == server.url.rsplit("/api", 1)[0] + "/elsewhere/x"
    assert len(server.hits) == 1  # a GET redirect is not retried either


async def test_a_redirect_without_location_says_so(server, client):
    server.script = [reply(307)]
    with pytest.raises(RedirectError, match="without a Location") as caught:
        await client.request("POST", "/messages", json_body={}, expect=SENDS)
    assert caught.value.location is None


async def test_303_see_other_to_a_post_means_it_was_processed_so_the_outcome_is_unknown(
    server, client
):
    server.script = [reply(303, headers={"Location": "/api/messages/abc"})]
    with pytest.raises(DeliveryUnknownError) as caught:
        await client.request("POST", "/messages", json_body={}, expect=SENDS)
    assert isinstance(caught.value.cause, RedirectError)
    assert caught.value.cause.may_have_been_sent
    assert len(server.hits) == 1


async def test_an_undocumented_2xx_to_a_post_is_unknown_and_never_retried(server, client):
    server.script = [reply(200, {"ok": True})]
    with pytest.raises(DeliveryUnknownError) as caught:
        await client.request("POST", "/messages", json_body={}, expect=SENDS)
    cause = caught.value.cause
    assert isinstance(cause, UnexpectedStatusError)
    assert cause.status == 200 and cause.expected == SENDS
    assert "201 or 202" in str(cause)
    assert len(server.hits) == 1


async def test_an_undocumented_2xx_to_a_get_is_an_unexpected_status_error(server, client):
    server.script = [reply(204)]
    with pytest.raises(UnexpectedStatusError):
        await client.request("GET", "/things", expect=frozenset({200}))


async def test_a_documented_status_is_returned(server, client):
    server.script = [reply(202)]
    response = await client.request("POST", "/messages", json_body={}, expect=SENDS)
    assert response.status == 202
