"""Fixtures for the TrackDrive provider's unit tests (aioresponses; no network).

Helpers reach the tests through the ``kit`` fixture (test modules cannot import a conftest
under ``--import-mode=importlib``).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from aioresponses import aioresponses
from yarl import URL

from smsbridge import RetryPolicy
from smsbridge.providers.trackdrive import TrackDriveProvider

PUBLIC_KEY = "tdpub_0123456789abcdef"
PRIVATE_KEY = "tdprv_fedcba9876543210"
BASIC = "Basic " + base64.b64encode(f"{PUBLIC_KEY}:{PRIVATE_KEY}".encode()).decode()
BASE = "https://acme.trackdrive.com/api/v1"
# Retries in tests are real but instant.
FAST_RETRY = RetryPolicy(max_retries=2, initial_backoff=0.001, max_backoff=0.002)


def envelope(
    root: str, record: Any, *, checksum: str | None = None, **extra: Any
) -> dict[str, Any]:
    """A TrackDrive single-record or list envelope."""
    body: dict[str, Any] = {"status": 200, "errors": {}, root: record, "metadata": {"root": root}}
    if checksum is not None:
        body["checksum"] = checksum
    body["metadata"].update(extra)
    return body


def calls(mock: aioresponses, method: str, url: str) -> list[Any]:
    """The requests aioresponses saw for ``method url`` (url includes the query string)."""
    return list(mock.requests.get((method, URL(url)), []))


def only_call(mock: aioresponses, method: str, url: str) -> Any:
    """The one request made, after checking it is the only request of the whole test."""
    seen = calls(mock, method, url)
    assert len(seen) == 1, f"expected exactly one {method} {url}, saw {list(mock.requests)}"
    assert sum(len(v) for v in mock.requests.values()) == 1
    return seen[0]


def json_sent(call: Any) -> Any:
    return json.loads(call.kwargs["data"])


def any_query(url: str) -> re.Pattern[str]:
    """A mock route for ``url`` whatever query string the request carries."""
    return re.compile(re.escape(url) + r"(\?.*)?$")


def query_sent(mock: aioresponses, method: str, url: str) -> dict[str, str]:
    """The query of the only request of the test (to ``url``), after checking it had no body."""
    assert sum(len(v) for v in mock.requests.values()) == 1, list(mock.requests)
    (seen_method, seen_url), (call,) = next(iter(mock.requests.items()))
    assert (seen_method, seen_url.with_query(None)) == (method, URL(url))
    assert call.kwargs.get("data") is None and call.kwargs.get("json") is None
    assert dict(call.kwargs["params"]) == dict(seen_url.query)
    return dict(seen_url.query)


class Kit:
    PUBLIC_KEY = PUBLIC_KEY
    PRIVATE_KEY = PRIVATE_KEY
    BASIC = BASIC
    BASE = BASE
    FAST_RETRY = FAST_RETRY
    envelope = staticmethod(envelope)
    calls = staticmethod(calls)
    only_call = staticmethod(only_call)
    json_sent = staticmethod(json_sent)
    any_query = staticmethod(any_query)
    query_sent = staticmethod(query_sent)


@pytest.fixture
def kit() -> type[Kit]:
    return Kit


@pytest.fixture
def mocked() -> Iterator[aioresponses]:
    with aioresponses() as mock:
        yield mock


@pytest.fixture
async def td() -> AsyncIterator[TrackDriveProvider]:
    async with TrackDriveProvider(PUBLIC_KEY, PRIVATE_KEY, "acme", retry=FAST_RETRY) as provider:
        yield provider
