"""TrackDrive delivery webhooks: token-guarded URLs and a tolerant JSON / form parser."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import pytest

from smsbridge.errors import ConfigurationError, WebhookPayloadError
from smsbridge.models import DeliveryEvent, DeliveryStatus
from smsbridge.providers.trackdrive.webhooks import (
    MIN_TOKEN_LENGTH,
    TrackDriveDeliveryEvent,
    check_token,
    delivery_webhook_url,
    new_token,
    parse_payload,
    parse_request,
    validate_token,
)
from smsbridge.webhooks.core import parse_webhook

JSON = {"Content-Type": "application/json"}
FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}


def record(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": 812904581,
        "message_uuid": "SM42efa83003ab41f9977ff292f48375cc",
        "from": "+18554550000",
        "to": "+17192345678",
        "message": "Thanks for your inquiry",
        "lead_id": 11000635,
        "schedule_id": 192840,
        "status": "delivered",
        "error_code": None,
        "created_at": "2019-08-29T15:58:21.850-04:00",
        "updated_at": "2019-08-29T15:58:25.120-04:00",
    }
    data.update(changes)
    return data


def only(events: list[Any]) -> TrackDriveDeliveryEvent:
    assert len(events) == 1
    event = events[0]
    assert isinstance(event, TrackDriveDeliveryEvent)
    return event


def test_flat_json_body_maps_every_text_message_field() -> None:
    event = only(parse_request(json.dumps(record()).encode(), JSON))
    assert isinstance(event, DeliveryEvent)
    assert event.provider == "trackdrive"
    assert event.message_id == "812904581"
    assert event.message_uuid == "SM42efa83003ab41f9977ff292f48375cc"
    assert event.status is DeliveryStatus.DELIVERED
    assert event.raw_status == "delivered"
    assert event.to == "+17192345678"
    assert event.sender == "+18554550000"
    assert event.lead_id == "11000635"
    assert event.error_code is None
    assert event.occurred_at == datetime.fromisoformat("2019-08-29T15:58:25.120-04:00")


def test_json_wrapped_in_a_text_message_envelope_is_unwrapped() -> None:
    envelope = {
        "status": 200,
        "errors": {},
        "text_message": record(status="undelivered", error_code=30003),
        "metadata": {"root": "text_message"},
    }
    event = only(parse_request(json.dumps(envelope).encode(), JSON))
    assert event.status is DeliveryStatus.FAILED
    assert event.raw_status == "undelivered"
    assert event.error_code == "30003"
    assert event.raw == envelope


def test_flat_form_encoded_body_is_parsed() -> None:
    form = {k: "" if v is None else v for k, v in record(status="failed", error_code=30007).items()}
    event = only(parse_request(urlencode(form).encode(), FORM))
    assert event.message_id == "812904581"
    assert event.status is DeliveryStatus.FAILED
    assert event.error_code == "30007"
    assert event.lead_id == "11000635"


def test_rails_style_nested_form_body_is_unwrapped() -> None:
    body = urlencode(
        {
            "text_message[id]": "99",
            "text_message[status]": "sent",
            "text_message[to]": "+17192345678",
        }
    ).encode()
    event = only(parse_request(body, FORM))
    assert (event.message_id, event.status, event.to) == ("99", DeliveryStatus.SENT, "+17192345678")


def test_body_without_content_type_is_sniffed() -> None:
    assert only(parse_request(json.dumps(record()).encode(), {})).message_id == "812904581"
    assert only(parse_request(b"id=7&status=queued", {})).status is DeliveryStatus.QUEUED


def test_unknown_status_maps_to_unknown_with_the_raw_value_kept() -> None:
    event = parse_payload(record(status="Carrier_Limbo"))
    assert event.status is DeliveryStatus.UNKNOWN
    assert event.raw_status == "Carrier_Limbo"


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        ("queued", "queued"),
        ("sending", "queued"),
        ("sent", "sent"),
        ("delivered", "delivered"),
        ("undelivered", "failed"),
        ("failed", "failed"),
        ("accepted", "accepted"),
    ],
)
def test_twilio_like_statuses_map_onto_delivery_status(raw: str, status: str) -> None:
    assert parse_payload(record(status=raw)).status == DeliveryStatus(status)


def test_unknown_fields_are_kept_in_raw() -> None:
    event = parse_payload(record(carrier="acme", segments=2))
    assert event.raw["carrier"] == "acme" and event.raw["segments"] == 2


def test_event_id_is_derived_from_message_id_and_status() -> None:
    first = parse_payload(record(status="sent"))
    again = parse_payload(record(status="SENT", updated_at="2020-01-01T00:00:00Z"))
    later = parse_payload(record(status="delivered"))
    assert first.event_id == again.event_id == "trackdrive:812904581:sent"
    assert later.event_id != first.event_id


def test_message_uuid_stands_in_when_id_is_missing() -> None:
    event = parse_payload(record(id=None))
    assert event.message_id == "SM42efa83003ab41f9977ff292f48375cc"


def test_missing_ids_are_a_payload_error() -> None:
    with pytest.raises(WebhookPayloadError, match="neither an id nor a message_uuid"):
        parse_payload(record(id=None, message_uuid=""))


def test_missing_status_is_a_payload_error() -> None:
    with pytest.raises(WebhookPayloadError, match="no status"):
        parse_payload(record(status=None))


@pytest.mark.parametrize(
    ("body", "headers", "match"),
    [
        (b'{"id": 1, "status": ', JSON, "not valid JSON"),
        (b"[1, 2]", JSON, "not a JSON object"),
        (b"\xff\xfe\x00", FORM, "not UTF-8"),
        (b"   ", FORM, "empty"),
    ],
)
def test_malformed_bodies_are_payload_errors(
    body: bytes, headers: dict[str, str], match: str
) -> None:
    with pytest.raises(WebhookPayloadError, match=match):
        parse_request(body, headers)


def test_parse_webhook_dispatches_to_the_trackdrive_parser() -> None:
    [event] = parse_webhook("trackdrive", json.dumps(record()).encode(), JSON)
    assert isinstance(event, TrackDriveDeliveryEvent)


def test_unknown_provider_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="no webhook parser for provider 'acme'"):
        parse_webhook("acme", b"{}", {})


# --- the secret path token -----------------------------------------------------------------


def test_new_tokens_are_long_url_safe_and_unique() -> None:
    tokens = {new_token() for _ in range(50)}
    assert len(tokens) == 50
    for token in tokens:
        assert validate_token(token) == token
        assert len(token) >= MIN_TOKEN_LENGTH


@pytest.mark.parametrize("token", ["short", "a" * 30 + "/x", "a" * 30 + "?q=1", ""])
def test_short_or_unsafe_tokens_are_refused(token: str) -> None:
    with pytest.raises(ConfigurationError, match="trackdrive_token"):
        validate_token(token)


def test_check_token_compares_exactly() -> None:
    token = new_token()
    assert check_token(token, token)
    assert not check_token(token[:-1], token)
    assert not check_token(token + "x", token)
    assert not check_token("é", token)


def test_delivery_webhook_url_puts_the_token_under_the_mount_point() -> None:
    token = new_token()
    assert (
        delivery_webhook_url("https://hooks.example.com/sms/", token)
        == f"https://hooks.example.com/sms/trackdrive/{token}"
    )


def test_delivery_webhook_url_needs_an_http_base() -> None:
    with pytest.raises(ConfigurationError, match="public_base_url"):
        delivery_webhook_url("hooks.example.com", new_token())
