"""POST /text_messages: the exact request, the seed response, validation, and the send outcome."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from aiohttp import web

from smsbridge import DeliveryStatus, Message
from smsbridge.errors import (
    AttachmentError,
    AuthenticationError,
    DeliveryUnknownError,
    InvalidMessage,
    InvalidPhoneNumber,
    RequestTimeoutError,
    ServerError,
    UnprocessableError,
    ValidationError,
)
from smsbridge.models import Attachment
from smsbridge.providers.trackdrive import TextMessage, TrackDriveProvider, delivery_status

# The response example from TrackDrive's text_messages page, verbatim.
SEED_RESPONSE = """
{
  "status" : 200,
  "errors" : {},
  "text_message" : {
    "id" : 812904581,
    "from" : "+18554550000",
    "to" : "+17190000000",
    "message" : "Thanks for your submission! A representative call in 60 seconds.",
    "number_id" : 147690000,
    "lead_id" : 11000635,
    "provider_configuration_id" : 12093,
    "message_uuid" : "SM42efa83003ab41f9977ff292f48375cc",
    "ring_pool_id" : null,
    "schedule_id" : 192840,
    "status" : "queued",
    "error_code" : null,
    "created_at" : "2019-08-29T15:58:21.850-04:00"
  },
  "checksum" : "8e0fcaa8b1cc805d2323759e39a1a1ba",
  "metadata" : {
    "root" : "text_message"
  }
}
"""
TO = "+16053334444"
FROM = "+18665550001"


@pytest.fixture
def url(kit: Any) -> str:
    return f"{kit.BASE}/text_messages"


@pytest.fixture
def route(kit: Any, url: str) -> Any:
    """The text_messages mock route, matching whatever query string a send carries."""
    return kit.any_query(url)


def seed() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SEED_RESPONSE)
    return data


async def test_seed_text_message_response_is_parsed_field_for_field(
    td: TrackDriveProvider, mocked: Any, route: Any
) -> None:
    mocked.post(route, body=SEED_RESPONSE, content_type="application/json")
    msg = await td.text_messages.create("Thanks for your inquiry", to=TO)
    assert isinstance(msg, TextMessage)
    assert msg.id == 812904581
    assert msg.from_ == "+18554550000"
    assert msg.to == "+17190000000"
    assert msg.message == "Thanks for your submission! A representative call in 60 seconds."
    assert msg.number_id == 147690000
    assert msg.lead_id == 11000635
    assert msg.provider_configuration_id == 12093
    assert msg.message_uuid == "SM42efa83003ab41f9977ff292f48375cc"
    assert msg.ring_pool_id is None
    assert msg.schedule_id == 192840
    assert msg.status == "queued"
    assert msg.delivery_status is DeliveryStatus.QUEUED
    assert msg.error_code is None
    assert msg.created_at == datetime(
        2019, 8, 29, 15, 58, 21, 850000, tzinfo=timezone(timedelta(hours=-4))
    )
    assert msg.checksum == "8e0fcaa8b1cc805d2323759e39a1a1ba"
    assert msg.raw == seed()["text_message"]


async def test_create_sends_every_documented_parameter_in_the_query_string_with_no_body(
    td: TrackDriveProvider, mocked: Any, url: str, route: Any, kit: Any
) -> None:
    mocked.post(route, payload=seed())
    await td.text_messages.create(
        "Hello!",
        to="(605) 333-4444",
        from_=FROM,
        lead_id=11000635,
        delivery_webhook_url="https://hooks.example.com/td/tok",
        manual=True,
        number_id=147690000,
        schedule_id=192840,
        offer_id="77",
    )
    (call,) = next(iter(mocked.requests.values()))
    assert call.kwargs["headers"]["Authorization"] == kit.BASIC
    assert call.kwargs["headers"]["Accept"] == "application/json"
    assert kit.query_sent(mocked, "POST", url) == {
        "message": "Hello!",
        "to": TO,  # normalised to E.164
        "from": FROM,
        "lead_id": "11000635",
        "delivery_webhook_url": "https://hooks.example.com/td/tok",
        "manual": "true",
        "number_id": "147690000",
        "schedule_id": "192840",
        "offer_id": "77",
    }


async def test_create_puts_the_documented_example_on_the_wire_byte_for_byte(
    serve: Any, kit: Any
) -> None:
    seen: list[tuple[str, str, bytes]] = []

    async def handle(request: web.Request) -> web.Response:
        seen.append((request.method, request.raw_path, await request.read()))
        return web.json_response(seed())

    async with serve(handle) as base, TrackDriveProvider(
        kit.PUBLIC_KEY, kit.PRIVATE_KEY, base_url=base + "/api/v1"
    ) as td:
        await td.text_messages.create("Thanks for your inquiry", to="+16053334444")
        await td.send(Message(to="+16053334444", body="Thanks for your inquiry"))
    # The documented request: trackdrive.com/api/v1/text_messages?message=Thanks+for+your+
    # inquiry&to=%2B16053334444 (the "+" of the number escaped, no body).
    documented = ("POST", "/api/v1/text_messages?message=Thanks+for+your+inquiry"
                          "&to=%2B16053334444", b"")
    assert seen == [documented, documented]


async def test_create_with_only_lead_id_sends_no_to(
    td: TrackDriveProvider, mocked: Any, url: str, route: Any, kit: Any
) -> None:
    mocked.post(route, payload=seed())
    await td.text_messages.create("Hi", lead_id=11000635, manual=False)
    assert kit.query_sent(mocked, "POST", url) == {
        "message": "Hi", "lead_id": "11000635", "manual": "false",
    }


async def test_provider_default_delivery_webhook_url_is_attached(mocked: Any, kit: Any) -> None:
    url = f"{kit.BASE}/text_messages"
    async with TrackDriveProvider(
        kit.PUBLIC_KEY, kit.PRIVATE_KEY, "acme", delivery_webhook_url="https://h.example/td/x"
    ) as td:
        mocked.post(kit.any_query(url), payload=seed())
        await td.text_messages.create("Hi", to=TO)
    sent = kit.query_sent(mocked, "POST", url)
    assert sent["delivery_webhook_url"] == "https://h.example/td/x"


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"message": "", "to": TO}, InvalidMessage),
        ({"message": "   ", "to": TO}, InvalidMessage),
        ({"message": "Hi"}, InvalidMessage),  # neither to nor lead_id
        ({"message": "Hi", "to": "+1303555"}, InvalidPhoneNumber),
        ({"message": "Hi", "to": "not a number"}, InvalidPhoneNumber),
        ({"message": "Hi", "to": TO, "from_": "+1999"}, InvalidPhoneNumber),
        ({"message": "Hi", "to": TO, "manual": "yes"}, ValidationError),
        ({"message": "Hi", "lead_id": ""}, ValidationError),
        ({"message": "Hi", "to": TO, "delivery_webhook_url": "ftp://x"}, ValidationError),
    ],
)
async def test_bad_input_is_rejected_before_any_request(
    td: TrackDriveProvider, mocked: Any, kwargs: dict[str, Any], error: type[Exception]
) -> None:
    message = kwargs.pop("message")
    with pytest.raises(error):
        await td.text_messages.create(message, **kwargs)
    assert not mocked.requests


async def test_send_maps_message_onto_text_message_and_returns_receipt(
    td: TrackDriveProvider, mocked: Any, url: str, route: Any, kit: Any
) -> None:
    mocked.post(route, payload=seed(), headers={"X-Request-Id": "req-42"})
    receipt = await td.send(
        Message(
            to=TO,
            body="Hi",
            sender=FROM,
            options={"lead_id": 11000635, "manual": True, "number_id": 5, "schedule_id": 6,
                     "offer_id": 7, "delivery_webhook_url": "https://h.example/td/t"},
        )
    )
    assert kit.query_sent(mocked, "POST", url) == {
        "message": "Hi", "to": TO, "from": FROM, "lead_id": "11000635", "manual": "true",
        "number_id": "5", "schedule_id": "6", "offer_id": "7",
        "delivery_webhook_url": "https://h.example/td/t",
    }
    assert receipt.provider == "trackdrive"
    assert receipt.message_id == "812904581"
    assert receipt.status is DeliveryStatus.QUEUED
    assert receipt.raw_status == "queued"
    assert receipt.to == "+17190000000"
    assert receipt.request_id == "req-42"
    assert receipt.raw["message_uuid"] == "SM42efa83003ab41f9977ff292f48375cc"


@pytest.mark.parametrize(
    ("message", "error"),
    [
        (Message(to=TO, body="Hi", options={"saved_reply": "x"}), InvalidMessage),
        (Message(to=[TO, FROM], body="Hi"), InvalidMessage),
        (Message(to=TO, body=""), InvalidMessage),
        (Message(to=TO, body="Hi", attachments=[Attachment("https://x/y.png", "image/png")]),
         AttachmentError),
    ],
)
async def test_send_rejects_what_trackdrive_cannot_do_without_a_request(
    td: TrackDriveProvider, mocked: Any, message: Message, error: type[Exception]
) -> None:
    with pytest.raises(error):
        await td.send(message)
    assert not mocked.requests


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        ("queued", DeliveryStatus.QUEUED), ("accepted", DeliveryStatus.ACCEPTED),
        ("sending", DeliveryStatus.QUEUED), ("sent", DeliveryStatus.SENT),
        ("delivered", DeliveryStatus.DELIVERED), ("undelivered", DeliveryStatus.FAILED),
        ("failed", DeliveryStatus.FAILED), ("receiving", DeliveryStatus.RECEIVED),
        ("received", DeliveryStatus.RECEIVED), ("Delivered", DeliveryStatus.DELIVERED),
        ("carrier_pending", DeliveryStatus.UNKNOWN), (None, DeliveryStatus.UNKNOWN),
    ],
)
def test_trackdrive_statuses_map_onto_delivery_status(
    raw: str | None, status: DeliveryStatus
) -> None:
    assert delivery_status(raw) is status


async def test_unknown_status_keeps_the_raw_word_on_the_receipt(
    td: TrackDriveProvider, mocked: Any, route: Any
) -> None:
    body = seed()
    body["text_message"]["status"] = "carrier_pending"
    mocked.post(route, payload=body)
    receipt = await td.send(Message(to=TO, body="Hi"))
    assert receipt.status is DeliveryStatus.UNKNOWN
    assert receipt.raw_status == "carrier_pending"


async def test_post_5xx_raises_delivery_unknown_and_is_never_retried(
    td: TrackDriveProvider, mocked: Any, route: Any
) -> None:
    mocked.post(route, status=503, payload={"status": 503, "errors": {"base": ["down"]}})
    mocked.post(route, payload=seed())  # would be used by a (forbidden) retry
    with pytest.raises(DeliveryUnknownError) as info:
        await td.send(Message(to=TO, body="Hi"))
    assert info.value.may_have_been_sent
    assert isinstance(info.value.cause, ServerError)
    assert info.value.status == 503
    assert sum(len(v) for v in mocked.requests.values()) == 1


async def test_post_timeout_raises_delivery_unknown_and_is_never_retried(
    td: TrackDriveProvider, mocked: Any, route: Any
) -> None:
    mocked.post(route, exception=TimeoutError())
    mocked.post(route, payload=seed())
    with pytest.raises(DeliveryUnknownError) as info:
        await td.text_messages.create("Hi", to=TO)
    assert isinstance(info.value.cause, RequestTimeoutError)
    assert sum(len(v) for v in mocked.requests.values()) == 1


async def test_a_200_with_errors_raises_the_typed_error_with_field_errors(
    td: TrackDriveProvider, mocked: Any, route: Any
) -> None:
    mocked.post(
        route,
        status=200,
        payload={"status": 200, "errors": {"to": ["is not a valid phone number"]},
                 "metadata": {"root": "text_message"}},
    )
    with pytest.raises(UnprocessableError) as info:
        await td.text_messages.create("Hi", to=TO)
    assert info.value.field_errors == {"to": ["is not a valid phone number"]}
    assert "to: is not a valid phone number" in str(info.value)
    assert not info.value.may_have_been_sent


async def test_a_200_whose_envelope_status_is_401_raises_authentication_error(
    td: TrackDriveProvider, mocked: Any, route: Any
) -> None:
    mocked.post(route, status=200,
                payload={"status": 401, "errors": {"base": ["Invalid API credentials"]}})
    with pytest.raises(AuthenticationError) as info:
        await td.text_messages.create("Hi", to=TO)
    assert info.value.status == 401
    assert info.value.field_errors == {"base": ["Invalid API credentials"]}


async def test_http_422_keeps_field_errors_and_is_not_retried(
    td: TrackDriveProvider, mocked: Any, route: Any
) -> None:
    mocked.post(route, status=422,
                payload={"status": 422, "errors": {"message": ["can't be blank"]}})
    with pytest.raises(UnprocessableError) as info:
        await td.text_messages.create("Hi", to=TO)
    assert info.value.status == 422
    assert info.value.field_errors == {"message": ["can't be blank"]}
    assert sum(len(v) for v in mocked.requests.values()) == 1
