"""What the providers put on the wire: a Content-Type only when there is a body to describe.

A recording proxy (a real aiohttp server) sits between the real providers and the real sandbox,
so the headers asserted are the ones a provider's server would receive.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import attrs
import pytest
from aiohttp import web

from smsbridge.providers.textus import TextUsProvider
from smsbridge.providers.trackdrive import TrackDriveProvider
from smsbridge.sandbox import Sandbox

_FORWARDED = ("Authorization", "Accept", "Content-Type", "User-Agent")


@attrs.frozen
class Seen:
    method: str
    path: str
    content_type: str | None
    has_body: bool


class RecordingProxy:
    def __init__(self, target: str) -> None:
        self.target = target
        self.seen: list[Seen] = []
        self.session = aiohttp.ClientSession()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.seen.append(Seen(request.method, request.path, request.headers.get("Content-Type"),
                              bool(body)))
        headers = {k: v for k, v in request.headers.items() if k in _FORWARDED}
        async with self.session.request(request.method, self.target + request.path_qs,
                                        headers=headers, data=body or None,
                                        allow_redirects=False) as answer:
            content = await answer.read()
            kept = {k: v for k, v in answer.headers.items() if k == "Content-Type"}
            return web.Response(status=answer.status, body=content, headers=kept)


@pytest.fixture
async def proxied(serve: Any) -> AsyncIterator[tuple[Sandbox, RecordingProxy, str]]:
    async with Sandbox(seed=3) as sb:
        proxy = RecordingProxy(sb.base_url)
        try:
            async with serve(proxy.handle) as url:
                yield sb, proxy, url
        finally:
            await proxy.session.close()


async def test_textus_bodyless_requests_carry_no_content_type_and_bodies_do(proxied):
    sb, proxy, url = proxied
    async with TextUsProvider(sb.textus_token, sb.textus_account,
                              base_url=url + sb.textus_url[len(sb.base_url):]) as textus:
        await textus.messages.send("+13035550101", "hello")  # POST with a body
        await textus.opt_outs.create("+13035550102")  # PUT without a body
        assert await textus.opt_outs.check("+13035550102")  # GET
    by_method = {(s.method, s.has_body): s.content_type for s in proxy.seen}
    assert by_method[("POST", True)] == "application/vnd.textus+jsonld"
    assert by_method[("PUT", False)] is None
    assert by_method[("GET", False)] is None


async def test_trackdrive_get_and_delete_carry_no_content_type(proxied):
    sb, proxy, url = proxied
    async with TrackDriveProvider(sb.trackdrive_public_key, sb.trackdrive_private_key,
                                  base_url=url + sb.trackdrive_url[len(sb.base_url):]) as td:
        schedule = await td.schedules.create(name="Evening")  # POST with a body
        await td.schedules.get(schedule.id)  # GET
        await td.schedules.delete(schedule.id)  # DELETE
    by_method = {s.method: s.content_type for s in proxy.seen}
    assert by_method["POST"] == "application/json"
    assert by_method["GET"] is None
    assert by_method["DELETE"] is None
