"""The delivery lifecycle and the webhooks it fires, caught by a tiny receiver."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from typing import Any

from smsbridge.sandbox import Sandbox

NUMBER = "+13035551234"


async def register(textus: Any, url: str, actions: list[str]) -> dict[str, Any]:
    reply = await textus("POST", "/sandbox/integrations", json_body={
        "@type": "Integration", "provider": "webhook", "active": True,
        "config": {"baseUrl": url}, "settings": {"actions": {a: True for a in actions}}})
    assert reply.status == 201
    data: dict[str, Any] = reply.data
    return data


def signed_by(secret: str, headers: dict[str, str], body: bytes) -> bool:
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(headers["X-TextUs-Signature"], expected)


async def test_textus_delivery_webhooks_are_signed_and_state_is_updated(
    sb: Sandbox, textus: Any, receiver: Any
) -> None:
    integration = await register(textus, receiver.url + "/hooks/textus",
                                 ["message.delivered", "message.failed"])
    secret = integration["config"]["webhookSecret"]
    sent = [(await textus("POST", "/sandbox/messages", json_body={"to": n, "body": "Hi"})).data
            for n in (NUMBER, "+13035555678")]
    assert {m["deliveryState"] for m in sent} == {"queued"}
    await receiver.wait_for(2)
    for path, headers, body in receiver.posts:
        assert path == "/hooks/textus"
        assert headers["Content-Type"] == "application/json"
        assert signed_by(secret, headers, body)
        event = json.loads(body)
        assert event["@type"] == "WebhookDelivery"
        assert event["@context"] == "/contexts/WebhookDelivery.jsonld"
        assert event["action"] == "message.delivered"
        assert event["webHook"] == integration["id"]
        assert event["id"].startswith(integration["id"] + "/deliveries/")
        assert event["message"]["deliveryState"] == "delivered"
        assert event["conversation"]["phoneNumber"] in (NUMBER, "+13035555678")
    assert {json.loads(b)["message"]["id"] for _, _, b in receiver.posts} == {
        m["id"] for m in sent}
    assert (await textus("GET", sent[0]["id"])).data["deliveryState"] == "delivered"


async def test_failed_deliveries_and_unsubscribed_actions(clients: Any, receiver: Any) -> None:
    async with Sandbox(seed=5, delivery_delay=0.0, delivery_failure_ratio=1.0) as sandbox:
        textus, trackdrive = clients(sandbox)
        await register(textus, receiver.url + "/delivered-only", ["message.delivered"])
        await register(textus, receiver.url + "/failed", ["message.failed"])
        sent = await textus("POST", "/sandbox/messages", json_body={"to": NUMBER, "body": "Hi"})
        td = await trackdrive("POST", "/text_messages", params={
            "message": "Hi", "to": NUMBER, "delivery_webhook_url": receiver.url + "/td"})
        await receiver.wait_for(2)
        assert await sandbox.settle(2.0)
        assert sorted(p for p, _, _ in receiver.posts) == ["/failed", "/td"]
        failed = (await textus("GET", sent.data["id"])).data
        assert failed["deliveryState"] == "failed" and failed["retryAllowed"] is True
        td_now = await trackdrive("GET", f"/text_messages/{td.data['text_message']['id']}")
        assert td_now.data["text_message"]["status"] == "failed"
        assert td_now.data["text_message"]["error_code"] == "30003"


async def test_trackdrive_posts_the_flat_text_message_to_its_webhook_url(
    sb: Sandbox, trackdrive: Any, receiver: Any
) -> None:
    reply = await trackdrive("POST", "/text_messages", params={
        "message": "Hi", "to": NUMBER, "delivery_webhook_url": receiver.url + "/td/secret"})
    message = reply.data["text_message"]
    await receiver.wait_for(1)
    [(path, headers, body)] = receiver.posts
    assert path == "/td/secret" and headers["Content-Type"] == "application/json"
    event = json.loads(body)
    assert set(event) == {"id", "message_uuid", "from", "to", "message", "lead_id",
                          "schedule_id", "status", "error_code", "created_at", "updated_at"}
    assert (event["id"], event["message_uuid"], event["status"]) == (
        message["id"], message["message_uuid"], "delivered")
    current = await trackdrive("GET", f"/text_messages/{message['id']}")
    assert current.data["text_message"]["status"] == "delivered"


async def test_a_receiver_5xx_is_retried_and_a_dead_receiver_is_given_up(
    sb: Sandbox, trackdrive: Any, receiver: Any
) -> None:
    sb.webhooks.backoff = 0.01
    receiver.fail_first = 1
    await trackdrive("POST", "/text_messages", params={
        "message": "Hi", "to": NUMBER, "delivery_webhook_url": receiver.url + "/flaky"})
    await trackdrive("POST", "/text_messages", params={
        "message": "Hi", "to": NUMBER, "delivery_webhook_url": "http://127.0.0.1:9/closed"})
    assert await sb.settle(3.0)
    assert [p for p, _, _ in receiver.posts] == ["/flaky"]
    assert (sb.webhooks.delivered, sb.webhooks.failed) == (1, 1)
    assert sb.webhooks.attempts == 2 + sb.webhooks.max_attempts


async def test_opt_outs_and_inbound_messages_fire_their_webhooks(
    sb: Sandbox, textus: Any, receiver: Any
) -> None:
    integration = await register(textus, receiver.url + "/in", [
        "message.received", "contact.opted_out", "contact.opted_in", "message.failed"])
    secret = integration["config"]["webhookSecret"]
    await textus("PUT", "/sandbox/opt_outs/%2B13035555678")
    sb.textus.receive(NUMBER, "STOP")
    await receiver.wait_for(3)
    events = [json.loads(b) for _, _, b in receiver.posts]
    assert all(signed_by(secret, h, b) for _, h, b in receiver.posts)
    assert [e["action"] for e in events] == [
        "contact.opted_out", "message.received", "contact.opted_out"]
    opt = events[0]
    assert opt["@type"] == "OptOutWebhookDelivery"
    assert opt["optOut"]["type"] == "opt-out" and opt["optOut"]["phoneNumber"] == "+13035555678"
    assert opt["optOut"]["account"] == "/accounts/sandbox"
    assert events[1]["message"]["direction"] == "in" and events[1]["message"]["body"] == "STOP"
    sent = await textus("POST", "/sandbox/messages", json_body={"to": NUMBER, "body": "Hi"})
    await receiver.wait_for(4)
    assert json.loads(receiver.posts[3][2])["message"]["id"] == sent.data["id"]
    assert (await textus("GET", sent.data["id"])).data["deliveryState"] == "failed"
    assert sb.textus.opt_in(NUMBER)
    await receiver.wait_for(5)
    assert json.loads(receiver.posts[4][2])["optOut"]["type"] == "opt-in"


async def test_stop_drops_pending_deliveries_and_sends_nothing_after(
    clients: Any, receiver: Any
) -> None:
    sandbox = Sandbox(delivery_delay=0.3)
    await sandbox.start()
    _, trackdrive = clients(sandbox)
    for _ in range(20):
        await trackdrive("POST", "/text_messages", params={
            "message": "Hi", "to": NUMBER, "delivery_webhook_url": receiver.url + "/late"})
    started = time.monotonic()
    await sandbox.stop()
    assert time.monotonic() - started < 1.0
    await asyncio.sleep(0.4)
    assert receiver.posts == []
    assert {m.status for m in sandbox.trackdrive.text_messages.values()} == {"queued"}
