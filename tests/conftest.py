"""Suite-wide test set-up."""

from __future__ import annotations

import inspect
from typing import Any

import aioresponses.core as _aioresponses_core
from aiohttp import ClientResponse
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
