"""Sandbox -> receiver over real sockets: signed TextUs webhooks and token-guarded TrackDrive
delivery webhooks resolve receipts, and opt-outs reach the journal's suppression list."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from smsbridge import Message
from smsbridge.models import DeliveryStatus, InboundMessage, OptOutEvent
from smsbridge.providers.textus import TextUsProvider
from smsbridge.providers.trackdrive import TrackDriveProvider

if TYPE_CHECKING:
    from conftest import Stack  # tests/webhooks/conftest.py

NUMBERS = [f"+1303555{n:04d}" for n in range(1200, 1212)]


def textus(stack: Stack) -> TextUsProvider:
    sb = stack.sandbox
    # The sandbox enforces no rate limit; the default client-side one would pace the test.
    return TextUsProvider(
        sb.textus_token, sb.textus_account, base_url=sb.textus_url, rate_limiter=None
    )


async def register(stack: Stack, provider: TextUsProvider) -> None:
    url = stack.receiver.textus_webhook_url(stack.url)
    integration = await provider.integrations.create_webhook(url)
    assert integration.webhook_secret
    stack.receiver.add_textus_secret(integration.webhook_secret)


async def test_textus_receipts_resolve_to_the_sandboxes_final_states(stack: Stack) -> None:
    async with textus(stack) as provider:
        await register(stack, provider)
        receipts = [await provider.send(Message(to=n, body="Hi")) for n in NUMBERS]
    events = [await stack.receiver.tracker.wait(r, timeout=10) for r in receipts]
    truth = {m.iri: m.state for m in stack.sandbox.textus.messages.values()}
    assert {e.message_id: e.status.value for e in events} == truth
    assert {e.status for e in events} == {DeliveryStatus.DELIVERED, DeliveryStatus.FAILED}
    assert [e.to for e in events] == NUMBERS


async def test_unsigned_or_wrongly_signed_textus_webhooks_are_refused(stack: Stack) -> None:
    stack.receiver.add_textus_secret("textus-not-the-integration-secret")
    async with textus(stack) as provider:
        await provider.integrations.create_webhook(stack.receiver.textus_webhook_url(stack.url))
        receipt = await provider.send(Message(to=NUMBERS[0], body="Hi"))
    await stack.settle()
    assert stack.sandbox.webhooks.failed >= 1  # 401 is final: the sandbox gives up
    assert stack.receiver.tracker.latest("textus", receipt.message_id or "") is None


async def test_trackdrive_delivery_webhooks_resolve_receipts(stack: Stack) -> None:
    sb = stack.sandbox
    async with TrackDriveProvider(
        sb.trackdrive_public_key,
        sb.trackdrive_private_key,
        sb.trackdrive_subdomain,
        base_url=sb.trackdrive_url,
        delivery_webhook_url=stack.receiver.trackdrive_webhook_url(stack.url),
    ) as provider:
        receipts = [await provider.send(Message(to=n, body="Hi")) for n in NUMBERS]
    events = [await stack.receiver.tracker.wait(r, timeout=10) for r in receipts]
    truth = {str(m.id): (m.status, m.error_code) for m in sb.trackdrive.text_messages.values()}
    assert {e.message_id: (e.raw_status, e.error_code) for e in events} == truth
    assert {e.status for e in events} == {DeliveryStatus.DELIVERED, DeliveryStatus.FAILED}


async def test_trackdrive_webhooks_to_a_wrong_token_are_not_applied(stack: Stack) -> None:
    sb = stack.sandbox
    other = "x" * 43
    async with TrackDriveProvider(
        sb.trackdrive_public_key,
        sb.trackdrive_private_key,
        sb.trackdrive_subdomain,
        base_url=sb.trackdrive_url,
        delivery_webhook_url=f"{stack.url}/trackdrive/{other}",
    ) as provider:
        receipt = await provider.send(Message(to=NUMBERS[0], body="Hi"))
    await stack.settle()
    assert stack.sandbox.webhooks.failed == 1  # a 404 is final
    assert stack.receiver.tracker.latest("trackdrive", receipt.message_id or "") is None


@pytest.mark.parametrize("keyword", ["STOP", "unsubscribe"])
async def test_inbound_stop_suppresses_and_start_lifts_it(stack: Stack, keyword: str) -> None:
    inbound: list[InboundMessage] = []
    opt_events: list[OptOutEvent] = []
    stack.receiver.router.on_inbound = inbound.append
    stack.receiver.router.on_opt_out = opt_events.append
    async with textus(stack) as provider:
        await register(stack, provider)
    stack.sandbox.textus.receive(NUMBERS[3], keyword)
    await stack.settle()
    assert stack.journal.suppressed() == {NUMBERS[3]}
    assert [(m.sender, m.body) for m in inbound] == [(NUMBERS[3], keyword)]
    # Both the keyword and TextUs's own contact.opted_out event report it.
    assert sorted(e.source for e in opt_events) == ["keyword", "webhook"]
    stack.sandbox.textus.receive(NUMBERS[3], "START")
    await stack.settle()
    assert stack.journal.suppressed() == set()
