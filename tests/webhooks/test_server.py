"""WebhookReceiver over a real socket: status codes, caps, signatures, tokens, handlers."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from smsbridge.errors import ConfigurationError
from smsbridge.models import DeliveryEvent, DeliveryStatus, InboundMessage
from smsbridge.providers.textus.webhooks import SIGNATURE_HEADER, sign
from smsbridge.providers.trackdrive.webhooks import new_token
from smsbridge.webhooks.server import WebhookReceiver

SECRET = "textus-new-0123456789abcdef"
OLD_SECRET = "textus-old-fedcba9876543210"
TOKEN = new_token()


def textus_body(event_id: str = "/integrations/i1/deliveries/d1", **extra: Any) -> bytes:
    payload = {
        "@type": "WebhookDelivery",
        "id": event_id,
        "timestamp": "2024-05-01T10:00:00Z",
        "action": "message.delivered",
        "conversation": {"phoneNumber": "+13035551234"},
        "message": {"id": "/messages/m1", "deliveryState": "delivered"},
        **extra,
    }
    return json.dumps(payload).encode()


class Recorder:
    def __init__(self) -> None:
        self.deliveries: list[DeliveryEvent] = []
        self.inbound: list[InboundMessage] = []
        self.fail = False

    async def on_delivery(self, event: DeliveryEvent) -> None:
        if self.fail:
            raise RuntimeError("secret-internal-detail for +13035551234")
        self.deliveries.append(event)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
async def served(recorder: Recorder) -> AsyncIterator[tuple[WebhookReceiver, str]]:
    receiver = WebhookReceiver(
        on_delivery=recorder.on_delivery,
        on_inbound=recorder.inbound.append,
        textus_secrets=[SECRET, OLD_SECRET],
        trackdrive_token=TOKEN,
        max_body_bytes=4096,
    )
    async with receiver.serve() as url:
        yield receiver, url


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def post(
    http: aiohttp.ClientSession, url: str, body: bytes, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    async with http.post(url, data=body, headers=headers or {}) as response:
        return response.status, await response.json(content_type=None)


def signed(body: bytes, secret: str = SECRET) -> dict[str, str]:
    return {SIGNATURE_HEADER: sign(body, secret), "Content-Type": "application/json"}


async def test_signed_textus_delivery_is_accepted_and_handled(
    served: tuple[WebhookReceiver, str], http: aiohttp.ClientSession, recorder: Recorder
) -> None:
    receiver, url = served
    body = textus_body()
    status, answer = await post(http, url + receiver.textus_path, body, signed(body))
    assert (status, answer) == (200, {"ok": True})
    [event] = recorder.deliveries
    assert (event.message_id, event.status) == ("/messages/m1", DeliveryStatus.DELIVERED)


async def test_rotated_secret_still_accepted(
    served: tuple[WebhookReceiver, str], http: aiohttp.ClientSession, recorder: Recorder
) -> None:
    receiver, url = served
    body = textus_body()
    status, _ = await post(http, url + "/textus", body, signed(body, OLD_SECRET))
    assert status == 200
    receiver.remove_textus_secret(OLD_SECRET)
    body = textus_body("/integrations/i1/deliveries/d2")
    status, _ = await post(http, url + "/textus", body, signed(body, OLD_SECRET))
    assert status == 401
    assert len(recorder.deliveries) == 1


@pytest.mark.parametrize("case", ["missing", "wrong", "tampered"])
async def test_bad_signatures_answer_401_and_apply_nothing(
    served: tuple[WebhookReceiver, str],
    http: aiohttp.ClientSession,
    recorder: Recorder,
    case: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    receiver, url = served
    body = textus_body()
    headers = {
        "missing": {},
        "wrong": signed(body, "textus-attacker"),
        "tampered": signed(body),
    }[case]
    if case == "tampered":
        body = body.replace(b"delivered", b"failed")
    with caplog.at_level(logging.INFO, logger="smsbridge"):
        status, answer = await post(http, url + receiver.textus_path, body, headers)
    assert status == 401
    assert SIGNATURE_HEADER in answer["error"]
    assert recorder.deliveries == []
    assert SECRET not in caplog.text and OLD_SECRET not in caplog.text


async def test_receiver_without_textus_secrets_refuses_textus_posts(
    http: aiohttp.ClientSession,
) -> None:
    receiver = WebhookReceiver()
    async with receiver.serve() as url:
        body = textus_body()
        status, answer = await post(http, url + "/textus", body, signed(body))
        assert status == 401 and "no TextUs webhook secret" in answer["error"]
        receiver.add_textus_secret(SECRET)
        assert (await post(http, url + "/textus", body, signed(body)))[0] == 200


async def test_replayed_delivery_is_acknowledged_but_applied_once(
    served: tuple[WebhookReceiver, str], http: aiohttp.ClientSession, recorder: Recorder
) -> None:
    receiver, url = served
    body = textus_body()
    for _ in range(3):
        assert (await post(http, url + receiver.textus_path, body, signed(body)))[0] == 200
    assert len(recorder.deliveries) == 1


async def test_malformed_json_with_a_valid_signature_answers_400(
    served: tuple[WebhookReceiver, str], http: aiohttp.ClientSession
) -> None:
    receiver, url = served
    body = b'{"action": "message.delivered",'
    status, answer = await post(http, url + receiver.textus_path, body, signed(body))
    assert status == 400 and "not valid JSON" in answer["error"]
    status, _ = await post(
        http, url + receiver.trackdrive_path, b"{oops", {"Content-Type": "application/json"}
    )
    assert status == 400


async def test_oversize_body_answers_413(
    served: tuple[WebhookReceiver, str], http: aiohttp.ClientSession
) -> None:
    receiver, url = served
    body = textus_body(padding="x" * 5000)
    status, answer = await post(http, url + receiver.textus_path, body, signed(body))
    assert status == 413 and "4096 bytes" in answer["error"]


async def test_oversize_chunked_body_without_length_answers_413(
    served: tuple[WebhookReceiver, str], http: aiohttp.ClientSession
) -> None:
    receiver, url = served

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b"x" * 1000

    async with http.post(url + receiver.trackdrive_path, data=chunks()) as response:
        assert response.status == 413


async def test_trackdrive_json_and_form_bodies_are_accepted(
    served: tuple[WebhookReceiver, str], http: aiohttp.ClientSession, recorder: Recorder
) -> None:
    receiver, url = served
    target = url + receiver.trackdrive_path
    flat = {"id": 5, "status": "sent", "to": "+17192345678"}
    assert (
        await post(http, target, json.dumps(flat).encode(), {"Content-Type": "application/json"})
    )[0] == 200
    async with http.post(target, data={"id": "5", "status": "delivered"}) as response:
        assert response.status == 200  # aiohttp sends a dict as form-encoded
    assert [(e.message_id, e.status) for e in recorder.deliveries] == [
        ("5", DeliveryStatus.SENT),
        ("5", DeliveryStatus.DELIVERED),
    ]


async def test_unknown_trackdrive_token_answers_404(
    served: tuple[WebhookReceiver, str], http: aiohttp.ClientSession, recorder: Recorder
) -> None:
    _, url = served
    body = json.dumps({"id": 5, "status": "sent"}).encode()
    for path in ("/trackdrive/" + new_token(), "/trackdrive/" + TOKEN[:-1], "/trackdrive/"):
        async with http.post(url + path, data=body) as response:
            assert response.status == 404
    assert recorder.deliveries == []


async def test_handler_exception_answers_500_without_details_and_is_logged(
    served: tuple[WebhookReceiver, str],
    http: aiohttp.ClientSession,
    recorder: Recorder,
    caplog: pytest.LogCaptureFixture,
) -> None:
    receiver, url = served
    recorder.fail = True
    body = textus_body()
    with caplog.at_level(logging.ERROR, logger="smsbridge"):
        async with http.post(url + receiver.textus_path, data=body, headers=signed(body)) as resp:
            text = await resp.text()
            assert resp.status == 500
    assert json.loads(text) == {"error": "internal error"}
    assert "secret-internal-detail" not in text
    assert "webhook handler failed" in caplog.text
    assert "RuntimeError: secret-internal-detail" in caplog.text  # the author gets the traceback
    assert "+13035551234" not in caplog.text  # with phone numbers masked
    # The provider's retry of the same delivery is applied once the handler recovers.
    recorder.fail = False
    assert (await post(http, url + receiver.textus_path, body, signed(body)))[0] == 200
    assert len(recorder.deliveries) == 1


async def test_inbound_message_reaches_on_inbound(
    served: tuple[WebhookReceiver, str], http: aiohttp.ClientSession, recorder: Recorder
) -> None:
    receiver, url = served
    body = textus_body(
        action="message.received",
        message={"id": "/messages/in", "body": "hello", "direction": "in"},
    )
    assert (await post(http, url + receiver.textus_path, body, signed(body)))[0] == 200
    assert [(m.sender, m.body) for m in recorder.inbound] == [("+13035551234", "hello")]


async def test_get_is_not_allowed(
    served: tuple[WebhookReceiver, str], http: aiohttp.ClientSession
) -> None:
    receiver, url = served
    async with http.get(url + receiver.textus_path) as response:
        assert response.status == 405


async def test_receiver_can_be_mounted_under_a_prefix(http: aiohttp.ClientSession) -> None:
    seen: list[DeliveryEvent] = []
    receiver = WebhookReceiver(on_delivery=seen.append, textus_secrets=[SECRET])
    parent = web.Application()
    parent.add_subapp("/hooks/sms", receiver.app)
    runner = web.AppRunner(parent, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        base = f"http://127.0.0.1:{runner.addresses[0][1]}/hooks/sms"
        body = textus_body()
        assert receiver.textus_webhook_url(base) == base + "/textus"
        assert (await post(http, receiver.textus_webhook_url(base), body, signed(body)))[0] == 200
        td = json.dumps({"id": 9, "status": "failed", "error_code": "30003"}).encode()
        assert (await post(http, receiver.trackdrive_webhook_url(base), td))[0] == 200
    finally:
        await runner.cleanup()
    assert [(e.provider, e.status) for e in seen] == [
        ("textus", DeliveryStatus.DELIVERED),
        ("trackdrive", DeliveryStatus.FAILED),
    ]


def test_repr_shows_no_secret_and_no_token() -> None:
    receiver = WebhookReceiver(textus_secrets=[SECRET], trackdrive_token=TOKEN)
    assert SECRET not in repr(receiver) and TOKEN not in repr(receiver)
    assert receiver.trackdrive_path == f"/trackdrive/{TOKEN}"
    assert receiver.textus_path == "/textus"


def test_generated_tokens_differ_per_receiver() -> None:
    assert WebhookReceiver().trackdrive_token != WebhookReceiver().trackdrive_token


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"textus_secrets": SECRET}, "list of secrets"),
        ({"textus_secrets": [""]}, "non-empty"),
        ({"trackdrive_token": "short"}, "too short"),
        ({"max_body_bytes": 0}, "max_body_bytes"),
    ],
)
def test_bad_configuration_is_refused(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigurationError, match=match):
        WebhookReceiver(**kwargs)


async def test_a_journal_path_is_opened_used_for_opt_outs_and_closed_on_shutdown(
    http: aiohttp.ClientSession, tmp_path: Any
) -> None:
    from smsbridge.errors import JournalError
    from smsbridge.journal.store import Journal

    path = tmp_path / "hooks.sqlite"
    receiver = WebhookReceiver(textus_secrets=[SECRET], journal=str(path))
    async with receiver.serve() as url:
        body = textus_body(
            action="message.received", message={"id": "/messages/in", "body": "STOP"}
        )
        assert (await post(http, url + receiver.textus_path, body, signed(body)))[0] == 200
    with pytest.raises(JournalError):  # closed by the receiver's shutdown
        receiver._owned_journal.suppressed()  # type: ignore[union-attr]
    with Journal(path) as journal:
        assert journal.suppressed() == {"+13035551234"}


@pytest.mark.parametrize("depth", [33, 200_000])
async def test_deeply_nested_json_answers_400_not_500(
    served: tuple[WebhookReceiver, str], http: aiohttp.ClientSession, recorder: Recorder,
    depth: int,
) -> None:
    receiver, url = served
    receiver.max_body_bytes = 1024 * 1024
    nested = "[" * (depth - 1) + "]" * (depth - 1)  # the object itself is the first level
    body = ('{"action": "message.delivered", "x": ' + nested + "}").encode()
    status, answer = await post(http, url + receiver.textus_path, body, signed(body))
    assert status == 400 and "deeper than 32" in answer["error"]
    status, answer = await post(
        http, url + receiver.trackdrive_path, body, {"Content-Type": "application/json"})
    assert status == 400 and "deeper than 32" in answer["error"]
    assert recorder.deliveries == []


async def test_json_nested_up_to_the_cap_is_accepted(
    served: tuple[WebhookReceiver, str], http: aiohttp.ClientSession, recorder: Recorder,
) -> None:
    receiver, url = served
    body = textus_body(extra=json.loads("[" * 31 + "]" * 31))
    status, _ = await post(http, url + receiver.textus_path, body, signed(body))
    assert status == 200 and len(recorder.deliveries) == 1
