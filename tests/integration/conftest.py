"""Fixtures for the integration tests: a sandbox, the real providers wired to it over loopback
sockets, a trace of every HTTP exchange they make, and a webhook receiver.

The providers get a caller-owned ``aiohttp.ClientSession`` carrying a trace config, so tests can
prove how many requests an operation made (a retry, or none at all before a validation error)
and which query string went out, while the sandbox's ``records`` prove what it stored.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Mapping
from types import SimpleNamespace
from typing import Any

import aiohttp
import attrs
import pytest
from aiohttp import web
from yarl import URL

from smsbridge.providers.textus import TextUsProvider
from smsbridge.providers.trackdrive import TrackDriveProvider
from smsbridge.sandbox import Sandbox


@attrs.frozen
class Exchange:
    method: str
    url: URL
    headers: Mapping[str, str]  # what was sent
    status: int | None  # None: no response (reset, timeout)


class Wire:
    """Every request a session made, with the status it got (None when there was no answer)."""

    def __init__(self) -> None:
        self.exchanges: list[Exchange] = []
        trace = aiohttp.TraceConfig()
        trace.on_request_end.append(self._ended)
        trace.on_request_exception.append(self._failed)
        self.session = aiohttp.ClientSession(trace_configs=[trace])

    async def _ended(self, _s: Any, _c: SimpleNamespace, p: aiohttp.TraceRequestEndParams) -> None:
        self.exchanges.append(Exchange(p.method, p.url, dict(p.headers), p.response.status))

    async def _failed(
        self, _s: Any, _c: SimpleNamespace, p: aiohttp.TraceRequestExceptionParams
    ) -> None:
        self.exchanges.append(Exchange(p.method, p.url, dict(p.headers), None))

    def statuses(self) -> list[int | None]:
        return [e.status for e in self.exchanges]

    def clear(self) -> None:
        self.exchanges.clear()


@pytest.fixture
async def sb() -> AsyncIterator[Sandbox]:
    async with Sandbox(seed=5, delivery_delay=0.05) as sandbox:
        yield sandbox


@pytest.fixture
async def wire() -> AsyncIterator[Wire]:
    tracer = Wire()
    yield tracer
    await tracer.session.close()


@pytest.fixture
def make_textus(wire: Wire) -> Callable[..., TextUsProvider]:
    """``make_textus(sandbox, token=..., account=..., **provider_kwargs)`` on the traced wire."""

    def make(sandbox: Sandbox, **overrides: Any) -> TextUsProvider:
        token = overrides.pop("token", sandbox.textus_token)
        account = overrides.pop("account", sandbox.textus_account)
        kwargs = {"base_url": sandbox.textus_url, "session": wire.session, **overrides}
        return TextUsProvider(token, account, **kwargs)

    return make


@pytest.fixture
def make_trackdrive(wire: Wire) -> Callable[..., TrackDriveProvider]:
    """``make_trackdrive(sandbox, public_key=..., private_key=..., **provider_kwargs)``."""

    def make(sandbox: Sandbox, **overrides: Any) -> TrackDriveProvider:
        public = overrides.pop("public_key", sandbox.trackdrive_public_key)
        private = overrides.pop("private_key", sandbox.trackdrive_private_key)
        kwargs = {"base_url": sandbox.trackdrive_url, "session": wire.session, **overrides}
        return TrackDriveProvider(public, private, **kwargs)

    return make


@pytest.fixture
async def textus(sb: Sandbox, make_textus: Callable[..., TextUsProvider]
                 ) -> AsyncIterator[TextUsProvider]:
    async with make_textus(sb) as provider:
        yield provider


@pytest.fixture
async def trackdrive(sb: Sandbox, make_trackdrive: Callable[..., TrackDriveProvider]
                     ) -> AsyncIterator[TrackDriveProvider]:
    async with make_trackdrive(sb) as provider:
        yield provider


@attrs.frozen
class Post:
    path: str
    headers: dict[str, str]
    raw: bytes

    def json(self) -> Any:
        return json.loads(self.raw)


class Inbox:
    """A webhook receiver on loopback: ``url``, and ``await next_post()`` for each post."""

    def __init__(self) -> None:
        self.url = ""
        self.posts: asyncio.Queue[Post] = asyncio.Queue()

    async def handle(self, request: web.Request) -> web.Response:
        self.posts.put_nowait(Post(request.path, dict(request.headers), await request.read()))
        return web.Response(status=204)

    async def next_post(self, within: float = 5.0) -> Post:
        return await asyncio.wait_for(self.posts.get(), within)


@pytest.fixture
async def inbox(serve: Any) -> AsyncIterator[Inbox]:
    box = Inbox()
    async with serve(box.handle) as box.url:
        yield box
