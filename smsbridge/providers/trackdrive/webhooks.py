"""TrackDrive delivery webhooks: the POSTs TrackDrive makes to a message's ``delivery_webhook_url``.

TrackDrive documents no signature for them, so the URL itself is the secret: the receiver serves
them under ``/trackdrive/<token>`` with an unguessable token (:func:`new_token`) compared in
constant time, and anything else is a 404. The payload is undocumented; this parser is tolerant:
JSON or form-encoded, flat or wrapped in a ``text_message`` object (``text_message[status]=...``
in a form), the ``text_message`` fields mapped and every other field kept in ``raw``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl

import attrs

from ..._convert import parse_datetime
from ...errors import WebhookPayloadError
from ...models import DeliveryEvent, _masked
from ...registry import WebhookRoute
from ...webhooks.core import (
    MIN_TOKEN_LENGTH,
    Event,
    check_token,
    e164_or_raw,
    header,
    json_object,
    new_token,
    text_or_none,
    validate_token,
)
from .models import delivery_status

__all__ = [
    "MIN_TOKEN_LENGTH",
    "PATH_PREFIX",
    "ROUTE",
    "TrackDriveDeliveryEvent",
    "check_token",
    "delivery_webhook_url",
    "new_token",
    "parse_payload",
    "parse_request",
    "validate_token",
]

PROVIDER = "trackdrive"
PATH_PREFIX = "/trackdrive"
_NESTED_KEY = re.compile(r"^(\w+)\[(\w+)\]$")


@attrs.frozen(slots=True)
class TrackDriveDeliveryEvent(DeliveryEvent):
    """A :class:`DeliveryEvent` with the TrackDrive text_message fields that have no common slot."""

    message_uuid: str | None = None
    sender: str | None = attrs.field(default=None, repr=_masked)
    lead_id: str | None = None


def delivery_webhook_url(public_base_url: str, token: str) -> str:
    """The ``delivery_webhook_url`` to send with each TrackDrive text message.

    ``public_base_url`` is where the provider reaches the receiver (its mount point), e.g.
    ``https://hooks.example.com/sms`` -> ``https://hooks.example.com/sms/trackdrive/<token>``.
    """
    return ROUTE.url(public_base_url, validate_token(token))


def _content_type(headers: Mapping[str, str]) -> str:
    return (header(headers, "Content-Type") or "").split(";", 1)[0].strip().lower()


def _parse_form(text: str) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for key, value in parse_qsl(text, keep_blank_values=True):
        nested = _NESTED_KEY.match(key)
        if nested:  # Rails-style text_message[status]=delivered
            outer = data.setdefault(nested.group(1), {})
            if isinstance(outer, dict):
                outer[nested.group(2)] = value
        else:
            data[key] = value
    return data


def _decode(body: bytes, content_type: str) -> Mapping[str, Any]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise WebhookPayloadError("the TrackDrive webhook body is not UTF-8 text") from None
    is_form = content_type == "application/x-www-form-urlencoded"
    if not is_form and (content_type.endswith("json") or text.lstrip().startswith(("{", "["))):
        return json_object(text, "TrackDrive")
    if not text.strip():
        raise WebhookPayloadError("the TrackDrive webhook body is empty")
    return _parse_form(text)


def parse_request(
    body: bytes, headers: Mapping[str, str], *, secrets: Sequence[str] = ()
) -> list[Event]:
    """Parse one delivery webhook body. The caller has already checked the path token.

    ``secrets`` is accepted for a uniform signature and ignored: TrackDrive signs nothing.
    """
    return [parse_payload(_decode(body, _content_type(headers)))]


def parse_payload(data: Mapping[str, Any]) -> TrackDriveDeliveryEvent:
    """Map a text_message object (flat or wrapped in ``text_message``) to a delivery event."""
    wrapped = data.get("text_message")
    record = wrapped if isinstance(wrapped, Mapping) else data
    message_id = text_or_none(record.get("id"))
    message_uuid = text_or_none(record.get("message_uuid"))
    raw_status = text_or_none(record.get("status"))
    if message_id is None and message_uuid is None:
        raise WebhookPayloadError(
            "the TrackDrive delivery webhook has neither an id nor a message_uuid"
        )
    if raw_status is None:
        raise WebhookPayloadError("the TrackDrive delivery webhook has no status")
    key = message_id or message_uuid
    return TrackDriveDeliveryEvent(
        provider=PROVIDER,
        message_id=key,
        status=delivery_status(raw_status),
        raw_status=raw_status,
        occurred_at=parse_datetime(record.get("updated_at"))
        or parse_datetime(record.get("created_at")),
        to=e164_or_raw(record.get("to")),
        error_code=text_or_none(record.get("error_code")),
        # No delivery id exists: a (message, status) pair happens once, so it identifies a replay.
        event_id=f"{PROVIDER}:{key}:{raw_status.lower()}",
        raw=data,
        message_uuid=message_uuid,
        sender=e164_or_raw(record.get("from")),
        lead_id=text_or_none(record.get("lead_id")),
    )


#: The receiver serves ``POST {mount}/trackdrive/<token>``: TrackDrive signs nothing, so the
#: unguessable path token is the guard.
ROUTE = WebhookRoute(PROVIDER, PATH_PREFIX + "/{token}", parse_request)
