"""TextUs webhooks: signature verification over raw bytes, then tolerant parsing by action."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest

from smsbridge.errors import WebhookPayloadError, WebhookSignatureError
from smsbridge.models import DeliveryEvent, DeliveryStatus, InboundMessage, OptOutEvent
from smsbridge.providers.textus.webhooks import (
    SIGNATURE_HEADER,
    parse_payload,
    parse_request,
    sign,
    verify_signature,
)
from smsbridge.webhooks.core import WebhookEvent, parse_webhook

SECRET = "textus-0123456789abcdef"
OLD_SECRET = "textus-fedcba9876543210"


def delivery(action: str = "message.delivered", **message: Any) -> dict[str, Any]:
    return {
        "@type": "WebhookDelivery",
        "@context": "/contexts/WebhookDelivery.jsonld",
        "id": "/integrations/h13Jc5/deliveries/6f1c",
        "timestamp": "2023-11-17T13:59:04.568354-05:00",
        "action": action,
        "webHook": "/integrations/h13Jc5",
        "conversation": {
            "id": "/conversations/kY1QwY",
            "phoneNumber": "+13035551234",
            "accountPhoneNumber": "+17205550000",
            "currentState": "open",
        },
        "message": {
            "@type": "Message",
            "id": "/messages/QNDkpL",
            "direction": "out",
            "body": "Hi",
            "deliveryState": "delivered",
            "latestEventAt": "2023-11-17T18:59:03.000Z",
            **message,
        },
    }


def opt_out(action: str = "contact.opted_out", kind: str | None = "opt-out") -> dict[str, Any]:
    record: dict[str, Any] = {
        "@type": "OptOut",
        "id": "/textus/opt_outs/+13035551234",
        "phoneNumber": "+13035551234",
        "account": "/accounts/sandbox",
    }
    if kind is not None:
        record["type"] = kind
    return {
        "@type": "OptOutWebhookDelivery",
        "id": "/integrations/h13Jc5/deliveries/9a9a",
        "timestamp": "2023-11-17T13:59:04-05:00",
        "action": action,
        "optOut": record,
    }


def body_of(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


# --- signatures ----------------------------------------------------------------------------


def test_valid_signature_is_accepted() -> None:
    body = body_of(delivery())
    assert verify_signature(body, sign(body, SECRET), [SECRET])


def test_signature_is_lowercase_hex_hmac_sha256_of_the_raw_body() -> None:
    import hashlib
    import hmac

    body = b'{"a": 1}'
    expected = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert sign(body, SECRET) == expected
    assert expected == expected.lower() and len(expected) == 64


def test_uppercase_hex_and_surrounding_whitespace_still_verify() -> None:
    body = body_of(delivery())
    assert verify_signature(body, f"  {sign(body, SECRET).upper()} ", [SECRET])


def test_missing_signature_is_rejected() -> None:
    body = body_of(delivery())
    assert not verify_signature(body, None, [SECRET])
    assert not verify_signature(body, "", [SECRET])


def test_wrong_signature_is_rejected() -> None:
    body = body_of(delivery())
    assert not verify_signature(body, sign(body, "textus-not-the-secret"), [SECRET])
    assert not verify_signature(body, "deadbeef", [SECRET])


def test_tampered_body_fails_verification() -> None:
    body = body_of(delivery())
    signature = sign(body, SECRET)
    tampered = body.replace(b"message.delivered", b"message.failed")
    assert not verify_signature(tampered, signature, [SECRET])
    # Re-serialising the same JSON differently is also a different body: bytes are what count.
    reserialised = json.dumps(json.loads(body), indent=1).encode()
    assert not verify_signature(reserialised, signature, [SECRET])


def test_rotated_secrets_accept_old_and_new_signatures() -> None:
    body = body_of(delivery())
    assert verify_signature(body, sign(body, OLD_SECRET), [SECRET, OLD_SECRET])
    assert verify_signature(body, sign(body, SECRET), [SECRET, OLD_SECRET])
    assert not verify_signature(body, sign(body, OLD_SECRET), [SECRET])


def test_no_or_empty_secrets_never_verify() -> None:
    body = b"{}"
    assert not verify_signature(body, sign(body, ""), [])
    assert not verify_signature(body, sign(body, ""), [""])


def test_non_ascii_signature_header_is_rejected_not_crashing() -> None:
    assert not verify_signature(b"{}", "é" * 64, [SECRET])


def test_parse_request_verifies_before_parsing() -> None:
    body = b"not json at all"
    with pytest.raises(WebhookSignatureError, match="does not match"):
        parse_request(body, {SIGNATURE_HEADER: sign(body, OLD_SECRET)}, secrets=[SECRET])
    with pytest.raises(WebhookPayloadError, match="not valid JSON"):
        parse_request(body, {SIGNATURE_HEADER: sign(body, SECRET)}, secrets=[SECRET])


def test_parse_request_without_a_configured_secret_names_the_fix() -> None:
    body = body_of(delivery())
    with pytest.raises(WebhookSignatureError, match="create_webhook"):
        parse_request(body, {SIGNATURE_HEADER: sign(body, SECRET)}, secrets=[])


def test_parse_request_reports_a_missing_header() -> None:
    with pytest.raises(WebhookSignatureError, match="header is missing") as info:
        parse_request(b"{}", {}, secrets=[SECRET])
    assert SECRET not in str(info.value)


def test_parse_request_finds_the_header_in_a_lowercased_plain_dict() -> None:
    body = body_of(delivery())
    [event] = parse_request(body, {"x-textus-signature": sign(body, SECRET)}, secrets=[SECRET])
    assert isinstance(event, DeliveryEvent)


def test_parse_request_rejects_a_json_body_that_is_not_an_object() -> None:
    body = b"[1, 2]"
    with pytest.raises(WebhookPayloadError, match="not a JSON object"):
        parse_request(body, {SIGNATURE_HEADER: sign(body, SECRET)}, secrets=[SECRET])


def test_parse_webhook_dispatches_to_the_textus_parser() -> None:
    body = body_of(delivery())
    events = parse_webhook("textus", body, {SIGNATURE_HEADER: sign(body, SECRET)}, secrets=[SECRET])
    assert [type(e) for e in events] == [DeliveryEvent]


# --- parsing -------------------------------------------------------------------------------


def test_message_delivered_becomes_a_delivery_event_with_raw_kept() -> None:
    payload = delivery()
    event = parse_payload(payload)
    assert isinstance(event, DeliveryEvent)
    assert event.provider == "textus"
    assert event.message_id == "/messages/QNDkpL"
    assert event.status is DeliveryStatus.DELIVERED
    assert event.raw_status == "delivered"
    assert event.to == "+13035551234"
    assert event.event_id == "/integrations/h13Jc5/deliveries/6f1c"
    assert event.occurred_at == datetime.fromisoformat("2023-11-17T18:59:03.000Z")
    assert event.raw == payload


def test_message_failed_keeps_the_transient_delivery_state() -> None:
    event = parse_payload(delivery("message.failed", deliveryState="failed_transient"))
    assert isinstance(event, DeliveryEvent)
    assert event.status is DeliveryStatus.FAILED
    assert event.raw_status == "failed_transient"


def test_message_unknown_maps_to_unknown_and_falls_back_to_the_action_word() -> None:
    payload = delivery("message.unknown")
    del payload["message"]["deliveryState"]
    event = parse_payload(payload)
    assert isinstance(event, DeliveryEvent)
    assert event.status is DeliveryStatus.UNKNOWN
    assert event.raw_status == "unknown"


def test_delivery_without_message_timestamp_uses_the_envelope_timestamp() -> None:
    payload = delivery()
    del payload["message"]["latestEventAt"]
    event = parse_payload(payload)
    assert event.occurred_at == datetime.fromisoformat("2023-11-17T13:59:04.568354-05:00")


def test_message_received_becomes_an_inbound_message() -> None:
    payload = delivery(
        "message.received",
        direction="in",
        body="Yes please",
        deliveryState="received",
        displayTimestamp="2023-11-17T18:59:01.000Z",
        attachments={
            "@type": "hydra:Collection",
            "members": [
                {
                    "@type": "Attachment",
                    "url": "https://cdn.example/a.png",
                    "contentType": "image/png",
                    "size": 1234,
                },
                {"@type": "Attachment"},
            ],
            "totalItems": 2,
        },
    )
    event = parse_payload(payload)
    assert isinstance(event, InboundMessage)
    assert event.sender == "+13035551234"
    assert event.to == "+17205550000"
    assert event.body == "Yes please"
    assert event.conversation_id == "/conversations/kY1QwY"
    assert event.message_id == "/messages/QNDkpL"
    assert event.received_at == datetime.fromisoformat("2023-11-17T18:59:01.000Z")
    assert [(a.url, a.content_type, a.size) for a in event.attachments] == [
        ("https://cdn.example/a.png", "image/png", 1234)
    ]
    assert "+13035551234" not in repr(event)


@pytest.mark.parametrize("action", ["phone_call.completed", "contact.created", "future.thing"])
def test_other_actions_become_generic_events_with_raw_kept(action: str) -> None:
    payload = {
        "@type": "WebhookDelivery",
        "id": "/d/1",
        "action": action,
        "call": {"x": 1},
        "timestamp": "2024-01-01T00:00:00Z",
    }
    event = parse_payload(payload)
    assert isinstance(event, WebhookEvent)
    assert event.action == action
    assert event.event_id == "/d/1"
    assert event.raw["call"] == {"x": 1}


@pytest.mark.parametrize("action", ["contact.opted_out", "contact.opted-out", "CONTACT.OPTED_OUT"])
def test_opt_out_accepts_both_spellings(action: str) -> None:
    event = parse_payload(opt_out(action, kind=None))
    assert isinstance(event, OptOutEvent)
    assert event.opted_out and event.phone == "+13035551234"
    assert event.source == "webhook"
    assert event.event_id == "/integrations/h13Jc5/deliveries/9a9a"


@pytest.mark.parametrize("action", ["contact.opted_in", "contact.opted-in"])
def test_opt_in_accepts_both_spellings(action: str) -> None:
    event = parse_payload(opt_out(action, kind=None))
    assert isinstance(event, OptOutEvent)
    assert event.opted_in


@pytest.mark.parametrize(("kind", "opted_out"), [("opt-out", True), ("opt-in", False)])
def test_opt_out_direction_is_derived_from_the_record_type(kind: str, opted_out: bool) -> None:
    event = parse_payload(opt_out(action="contact.updated", kind=kind))
    assert isinstance(event, OptOutEvent)
    assert event.opted_out is opted_out


def test_opt_out_with_no_direction_at_all_is_a_payload_error() -> None:
    with pytest.raises(WebhookPayloadError, match="neither opt-out nor opt-in"):
        parse_payload(opt_out(action="", kind=None))


def test_opt_out_without_a_phone_number_is_a_payload_error() -> None:
    payload = opt_out()
    del payload["optOut"]["phoneNumber"]
    with pytest.raises(WebhookPayloadError, match="no phone number"):
        parse_payload(payload)


def test_unexpected_shapes_do_not_break_parsing() -> None:
    payload = delivery()
    payload["conversation"] = "/conversations/kY1QwY"  # an IRI instead of an embedded object
    payload["message"]["id"] = {"odd": True}
    payload["brandNewField"] = [1, 2, 3]
    event = parse_payload(payload)
    assert isinstance(event, DeliveryEvent)
    assert event.message_id is None and event.to is None
    assert event.raw["brandNewField"] == [1, 2, 3]
