"""Providers register their own webhook route; the webhook core and receiver know none."""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import aiohttp
import pytest

from smsbridge.models import InboundMessage
from smsbridge.registry import WebhookRoute, register_webhook_route, unregister_webhook_route
from smsbridge.webhooks.core import Event, parse_webhook
from smsbridge.webhooks.server import WebhookReceiver

WEBHOOKS = Path(__file__).resolve().parents[2] / "smsbridge" / "webhooks"


def parse_acme(body: bytes, headers: Mapping[str, str], *,
               secrets: Sequence[str] = ()) -> list[Event]:
    data = json.loads(body)
    return [InboundMessage(provider="acme", message_id=data["id"], sender=data["from"],
                           to="+13035550100", body=data["text"], event_id=f"acme:{data['id']}")]


@pytest.fixture
def acme_route() -> Iterator[WebhookRoute]:
    route = WebhookRoute("acme", "/acme/{token}", parse_acme)
    register_webhook_route(route)
    yield route
    unregister_webhook_route("acme")


def test_the_webhook_package_imports_no_provider() -> None:
    imported = []
    for path in WEBHOOKS.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and "providers" in (node.module or ""):
                imported.append(f"{path.name}: {node.module}")
    assert imported == []


async def test_a_third_party_route_is_parsed_and_served_without_engine_changes(
    acme_route: WebhookRoute,
) -> None:
    body = json.dumps({"id": "m1", "from": "+13035550123", "text": "hello"}).encode()
    [event] = parse_webhook("acme", body)
    assert isinstance(event, InboundMessage) and event.body == "hello"

    seen: list[InboundMessage] = []
    receiver = WebhookReceiver(on_inbound=seen.append)
    async with receiver.serve() as base, aiohttp.ClientSession() as http:
        url = acme_route.url(base, receiver.trackdrive_token)
        async with http.post(url, data=body) as ok:
            assert ok.status == 200
        async with http.post(acme_route.url(base, "x" * 30), data=body) as wrong_token:
            assert wrong_token.status == 404
    assert [e.message_id for e in seen] == ["m1"]
