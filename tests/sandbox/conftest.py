"""Fixtures for sandbox tests: a running sandbox, plain aiohttp clients for each API, and a tiny
webhook receiver. Everything talks over real loopback sockets."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from smsbridge.sandbox import Sandbox

JSONLD = "application/vnd.textus+jsonld"


@dataclass
class Reply:
    status: int
    headers: Mapping[str, str]
    raw: bytes

    @property
    def data(self) -> Any:
        return json.loads(self.raw) if self.raw.strip() else None


class Client:
    """One API's base URL and auth headers over a shared session."""

    def __init__(self, session: aiohttp.ClientSession, base: str, headers: dict[str, str]):
        self.session = session
        self.base = base
        self.headers = headers

    async def __call__(self, method: str, path: str, *, json_body: Any = None,
                       params: Any = None, headers: Mapping[str, str] | None = None,
                       data: Any = None, timeout: float = 10.0) -> Reply:  # noqa: ASYNC109
        merged = {**self.headers, **(headers or {})}
        payload = json.dumps(json_body) if json_body is not None else data
        async with self.session.request(
            method, self.base + path, data=payload, params=params, headers=merged,
            timeout=aiohttp.ClientTimeout(total=timeout),
        ) as resp:
            return Reply(resp.status, resp.headers, await resp.read())


def basic(public: str, private: str) -> str:
    return "Basic " + base64.b64encode(f"{public}:{private}".encode()).decode()


@pytest.fixture
async def sb() -> AsyncIterator[Sandbox]:
    async with Sandbox(seed=7, delivery_delay=0.05) as sandbox:
        yield sandbox


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


def textus_client(sandbox: Sandbox, session: aiohttp.ClientSession) -> Client:
    return Client(session, sandbox.textus_url, {
        "Authorization": f"Bearer {sandbox.textus_token}", "Accept": JSONLD,
        "Content-Type": JSONLD,
    })


def trackdrive_client(sandbox: Sandbox, session: aiohttp.ClientSession) -> Client:
    return Client(session, sandbox.trackdrive_url, {
        "Authorization": basic(sandbox.trackdrive_public_key, sandbox.trackdrive_private_key),
        "Content-Type": "application/json", "Accept": "application/json",
    })


@pytest.fixture
def clients(session: aiohttp.ClientSession) -> Any:
    """``clients(sandbox) -> (textus, trackdrive)`` for a sandbox a test builds itself."""
    return lambda sandbox: (textus_client(sandbox, session), trackdrive_client(sandbox, session))


@pytest.fixture
def textus(sb: Sandbox, session: aiohttp.ClientSession) -> Client:
    return textus_client(sb, session)


@pytest.fixture
def trackdrive(sb: Sandbox, session: aiohttp.ClientSession) -> Client:
    return trackdrive_client(sb, session)


@dataclass
class Receiver:
    """Collects webhook posts; ``fail_first`` answers the first N posts with a 500."""

    url: str = ""
    posts: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    fail_first: int = 0
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        if self.fail_first > 0:
            self.fail_first -= 1
            return web.Response(status=500)
        self.posts.append((request.path, dict(request.headers), body))
        self.arrived.set()
        return web.Response(status=204)

    async def wait_for(self, count: int, within: float = 5.0) -> None:
        async with asyncio.timeout(within):
            while len(self.posts) < count:
                self.arrived.clear()
                await self.arrived.wait()


@pytest.fixture
async def receiver(serve: Any) -> AsyncIterator[Receiver]:
    rec = Receiver()
    async with serve(rec.handle) as rec.url:
        yield rec
