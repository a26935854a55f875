"""A 3xx or an undocumented 2xx answer to a send is never reported SENT.

A real aiohttp server on loopback answers every send with the status under test; the providers,
pipeline and dispatcher are the real ones. Redirects are never followed: the server that moved
would otherwise receive the credentials and the message again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web

from smsbridge import Dispatcher, Message, MessagingProvider, OutcomeStatus, RetryPolicy
from smsbridge.providers.textus import TextUsProvider
from smsbridge.providers.trackdrive import TrackDriveProvider

RECIPIENTS = [f"+1303555{n:04d}" for n in range(2000, 2006)]
LEAKY_QUERY = "token=sk_live_in_the_location"
NEW_HOME = "https://moved.example/api/v2"


class Answering:
    """Answers every request with ``status`` (and a Location for a 3xx); counts requests."""

    def __init__(self, status: int, payload: Any = None) -> None:
        self.status = status
        self.payload = payload
        self.requests: list[str] = []

    async def handle(self, request: web.Request) -> web.StreamResponse:
        await request.read()
        self.requests.append(f"{request.method} {request.path}")
        headers = {}
        if 300 <= self.status < 400:
            headers["Location"] = f"{NEW_HOME}{request.path}?{LEAKY_QUERY}"
        if self.payload is None:
            return web.Response(status=self.status, headers=headers)
        return web.json_response(self.payload, status=self.status, headers=headers)


def textus(url: str) -> TextUsProvider:
    return TextUsProvider("token", "acct", base_url=url, rate_limiter=None)


def trackdrive(url: str) -> TrackDriveProvider:
    return TrackDriveProvider("public", "private", base_url=url, rate_limiter=None)


PROVIDERS: dict[str, Callable[[str], MessagingProvider]] = {
    "textus": textus, "trackdrive": trackdrive}


async def run_job(
    serve: Callable[..., Any], server: Answering, make: Callable[[str], MessagingProvider]
) -> Any:
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]] = server.handle
    async with serve(handler) as url:
        provider = make(url)
        try:
            async with Dispatcher(provider, concurrency=2, retry=RetryPolicy()) as dispatcher:
                return await dispatcher.send(Message(to=RECIPIENTS, body="hello"))
        finally:
            await provider.aclose()


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
@pytest.mark.parametrize("status", [301, 302, 307, 308])
async def test_a_redirected_send_is_failed_naming_the_location_and_nothing_is_sent(
    serve, provider, status
):
    server = Answering(status)
    report = await run_job(serve, server, PROVIDERS[provider])
    assert report.sent == 0
    assert [o.status for o in report.outcomes] == [OutcomeStatus.FAILED] * len(RECIPIENTS)
    for outcome in report.outcomes:
        assert outcome.reason == "redirected"
        assert f"HTTP {status}" in outcome.error and NEW_HOME in outcome.error
        assert "sk_live" not in outcome.error  # the Location's query string is never shown
    # One request per recipient: a redirect is neither followed nor retried.
    assert len(server.requests) == len(RECIPIENTS)
    assert all(not r.split(" ", 1)[1].startswith("/api/v2") for r in server.requests)


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
async def test_303_see_other_to_a_send_is_unknown_because_the_server_processed_it(
    serve, provider
):
    server = Answering(303)
    report = await run_job(serve, server, PROVIDERS[provider])
    assert [o.status for o in report.outcomes] == [OutcomeStatus.UNKNOWN] * len(RECIPIENTS)
    assert len(server.requests) == len(RECIPIENTS)  # an ambiguous send is never retried


async def test_an_undocumented_2xx_to_a_textus_send_is_unknown(serve):
    # TextUs documents 201 (one recipient) and 202 (several) for a send; 200 is neither.
    server = Answering(200, {"id": "/messages/x", "deliveryState": "queued"})
    report = await run_job(serve, server, textus)
    assert [o.status for o in report.outcomes] == [OutcomeStatus.UNKNOWN] * len(RECIPIENTS)
    assert all("expected 201 or 202" in (o.error or "") for o in report.outcomes)
    assert len(server.requests) == len(RECIPIENTS)


async def test_an_undocumented_2xx_to_a_trackdrive_send_is_unknown(serve):
    server = Answering(201, {"status": 201, "errors": {}, "text_message": {"id": 7}})
    report = await run_job(serve, server, trackdrive)
    assert [o.status for o in report.outcomes] == [OutcomeStatus.UNKNOWN] * len(RECIPIENTS)
    assert len(server.requests) == len(RECIPIENTS)
