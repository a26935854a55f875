"""Suite-wide test set-up."""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aioresponses.core as _aioresponses_core
import pytest
from aiohttp import ClientResponse, web
from yarl import URL


class _SentStream:
    output_size = 0


class _CompatClientResponse(ClientResponse):
    """aioresponses 0.7.9 builds ClientResponse without aiohttp>=3.12's ``stream_writer``."""

    def __init__(self, method: str, url: URL, **kwargs: Any) -> None:
        kwargs.setdefault("stream_writer", _SentStream())
        super().__init__(method, url, **kwargs)


if "stream_writer" in inspect.signature(ClientResponse.__init__).parameters:
    _aioresponses_core.ClientResponse = _CompatClientResponse  # type: ignore[misc]


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@contextlib.asynccontextmanager
async def _serve(handle: Handler) -> AsyncIterator[str]:
    """An aiohttp server on 127.0.0.1 (port 0) sending every request to ``handle``; its URL."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@pytest.fixture
def serve() -> Callable[[Handler], contextlib.AbstractAsyncContextManager[str]]:
    """``async with serve(handler) as url:`` — a real local server for pipeline tests."""
    return _serve
