"""Fixtures for the TextUs provider's unit tests (aioresponses; no network).

Helpers reach the tests through the ``api`` fixture (test modules cannot import a conftest under
``--import-mode=importlib``).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from aioresponses import aioresponses
from aioresponses.compat import normalize_url

from smsbridge import RetryPolicy
from smsbridge.providers.textus import TextUsProvider

TOKEN = "tu_live_S3CR3T0123456789abcdef"
ACCOUNT = "acct"
BASE = "https://api.test/textus"
MEDIA_TYPE = "application/vnd.textus+jsonld"
NUMBER = "+13035551234"
OTHER = "+17205550123"
# Retries in tests are real but instant.
FAST_RETRY = RetryPolicy(max_retries=2, initial_backoff=0.001, max_backoff=0.002)


def message_json(**overrides: Any) -> dict[str, Any]:
    """The send page's example Message."""
    body: dict[str, Any] = {
        "@type": "Message",
        "id": "/messages/QNDkpL",
        "@context": "/contexts/Message.jsonld",
        "direction": "out",
        "body": "New phone who dis?",
        "formattedBody": "<div>New phone who dis?</div>",
        "displayTimestamp": "2018-07-24T20:59:32.156Z",
        "timelinePosition": "2018-07-24T20:59:32.156Z",
        "deliveryState": "queued",
        "conversation": "/conversations/kY1QwY",
        "sender": "/users/hikvlD",
        "attachments": {
            "@context": "/contexts/hydra:Collection.jsonld",
            "@type": "hydra:Collection",
            "id": "/messages/QNDkpL/attachments",
            "members": [],
            "totalItems": 0,
        },
        "friendlyStateDescription": "Message Queued",
        "retryAllowed": False,
        "retry": None,
        "latestEventAt": "2018-07-24T20:59:32.156Z",
        "flags": [],
        "source": "textus",
    }
    body.update(overrides)
    return body


def collection(members: list[Any], next_link: str | None = None, total: int | None = None) -> Any:
    return {
        "@type": "hydra:Collection",
        "id": "/page",
        "members": members,
        "totalItems": len(members) if total is None else total,
        "view": {"@type": "hydra:PartialCollectionView", "id": "/page", "next": next_link},
    }


class Api:
    """aioresponses plus the assertions every TextUs test needs."""

    TOKEN = TOKEN
    ACCOUNT = ACCOUNT
    BASE = BASE
    MEDIA_TYPE = MEDIA_TYPE
    NUMBER = NUMBER
    OTHER = OTHER
    FAST_RETRY = FAST_RETRY
    message_json = staticmethod(message_json)
    collection = staticmethod(collection)

    def __init__(self, mock: aioresponses) -> None:
        self.mock = mock

    def url(self, path: str) -> str:
        return path if path.startswith("http") else BASE + path

    def add(self, method: str, path: str, **kwargs: Any) -> None:
        self.mock.add(self.url(path), method=method, **kwargs)

    def calls(self, method: str, path: str) -> list[Any]:
        """The requests seen for ``method path`` (path includes the query string)."""
        return list(self.mock.requests.get((method, normalize_url(self.url(path))), []))

    @property
    def total_calls(self) -> int:
        return sum(len(v) for v in self.mock.requests.values())

    def only_call(self, method: str, path: str) -> Any:
        """The one request of the whole test, after checking that it is the only one."""
        seen = self.calls(method, path)
        assert len(seen) == 1, f"expected one {method} {path}, saw {list(self.mock.requests)}"
        assert self.total_calls == 1, f"unexpected extra requests: {list(self.mock.requests)}"
        return seen[0]

    @staticmethod
    def json_sent(call: Any) -> Any:
        return json.loads(call.kwargs["data"])

    @staticmethod
    def assert_textus_headers(call: Any, *, body: bool = True) -> None:
        headers = call.kwargs["headers"]
        assert headers["Authorization"] == f"Bearer {TOKEN}"
        assert headers["Accept"] == MEDIA_TYPE
        if body:
            assert headers["Content-Type"] == MEDIA_TYPE
        else:  # no body, nothing for a Content-Type to describe
            assert "Content-Type" not in headers


@pytest.fixture
def api() -> Iterator[Api]:
    with aioresponses() as mock:
        yield Api(mock)


@pytest.fixture
async def textus() -> AsyncIterator[TextUsProvider]:
    """A provider on the test base URL; no client-side limiter so tests run at full speed."""
    provider = TextUsProvider(
        TOKEN, ACCOUNT, base_url=BASE, retry=FAST_RETRY, rate_limiter=None
    )
    async with provider:
        yield provider
