"""TextUs webhooks: verify ``X-TextUs-Signature``, then parse a delivery into normalised events.

TextUs signs every webhook with the hex HMAC-SHA256 of the raw request body, keyed with the
integration's ``webhookSecret``. The signature is checked over the exact bytes received, before
any parsing, with a constant-time compare; several secrets are accepted so a secret can be
rotated without dropping webhooks. Payloads are ``WebhookDelivery`` (message, call and contact
events) or ``OptOutWebhookDelivery``; the delivery ``id`` is the idempotency key.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from typing import Any

from ..._convert import parse_datetime
from ...errors import WebhookPayloadError, WebhookSignatureError
from ...models import Attachment, DeliveryEvent, DeliveryStatus, InboundMessage, OptOutEvent
from ...registry import WebhookRoute
from ...webhooks.core import Event, WebhookEvent, e164_or_raw, header, json_object, text_or_none

__all__ = [
    "SIGNATURE_HEADER",
    "parse_payload",
    "parse_request",
    "sign",
    "verify_signature",
]

PROVIDER = "textus"
SIGNATURE_HEADER = "X-TextUs-Signature"

# The webhook action decides the status; the message's own deliveryState is kept as raw_status.
_DELIVERY_ACTIONS = {
    "message.delivered": DeliveryStatus.DELIVERED,
    "message.failed": DeliveryStatus.FAILED,
    "message.unknown": DeliveryStatus.UNKNOWN,
}
_OPT_ACTIONS = {"contact.opted_out": True, "contact.opted_in": False}
_OPT_TYPES = {
    "opt_out": True,
    "optout": True,
    "opted_out": True,
    "opt_in": False,
    "optin": False,
    "opted_in": False,
}


def sign(raw_body: bytes, secret: str) -> str:
    """The lowercase hex signature TextUs sends for ``raw_body`` (handy for tests and tools)."""
    return hmac.new(secret.encode("utf-8"), raw_body, hashlib.sha256).hexdigest()


def verify_signature(raw_body: bytes, header: str | None, secrets: Sequence[str]) -> bool:
    """True when ``header`` is the signature of ``raw_body`` under any of ``secrets``.

    Pass the body exactly as received (not re-serialised JSON). Empty secrets never match.
    """
    if not header:
        return False
    given = header.strip().lower().removeprefix("sha256=").encode("utf-8", "replace")
    matched = False
    for secret in secrets:
        if secret and hmac.compare_digest(sign(raw_body, secret).encode("ascii"), given):
            matched = True  # keep going: the time taken must not reveal which secret matched
    return matched


def parse_request(
    body: bytes, headers: Mapping[str, str], *, secrets: Sequence[str]
) -> list[Event]:
    """Verify the signature of one webhook request, then parse it.

    Raises :class:`WebhookSignatureError` (answer 401) when no secret is configured or the
    signature is missing or wrong, and :class:`WebhookPayloadError` (answer 400) when the body
    is not a JSON object.
    """
    if not any(secrets):
        raise WebhookSignatureError(
            "no TextUs webhook secret is configured; pass the integration's webhookSecret "
            "(textus.integrations.create_webhook() returns it) as textus_secrets"
        )
    signature = header(headers, SIGNATURE_HEADER)
    if not signature:
        raise WebhookSignatureError(f"the {SIGNATURE_HEADER} header is missing")
    if not verify_signature(body, signature, secrets):
        raise WebhookSignatureError(
            f"the {SIGNATURE_HEADER} header does not match the body; check the webhook secret"
        )
    return [parse_payload(json_object(body, "TextUs"))]


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _normal_action(action: str) -> str:
    return action.strip().lower().replace("-", "_")


def parse_payload(payload: Mapping[str, Any]) -> Event:
    """Turn one (already verified) TextUs webhook payload into a normalised event."""
    action = text_or_none(payload.get("action")) or ""
    normal = _normal_action(action)
    if (
        payload.get("@type") == "OptOutWebhookDelivery"
        or normal in _OPT_ACTIONS
        or isinstance(payload.get("optOut"), Mapping)
    ):
        return _opt_out(payload, normal)
    if normal == "message.received":
        return _inbound(payload)
    status = _DELIVERY_ACTIONS.get(normal)
    if status is not None:
        return _delivery(payload, status, normal)
    return WebhookEvent(
        provider=PROVIDER,
        action=action or text_or_none(payload.get("@type")) or "unknown",
        event_id=text_or_none(payload.get("id")),
        occurred_at=parse_datetime(payload.get("timestamp")),
        raw=payload,
    )


def _delivery(payload: Mapping[str, Any], status: DeliveryStatus, action: str) -> DeliveryEvent:
    message = _mapping(payload.get("message"))
    conversation = _mapping(payload.get("conversation"))
    raw_status = text_or_none(message.get("deliveryState")) or text_or_none(message.get("status"))
    return DeliveryEvent(
        provider=PROVIDER,
        message_id=text_or_none(message.get("id")),
        status=status,
        raw_status=raw_status or action.removeprefix("message."),
        occurred_at=parse_datetime(message.get("latestEventAt"))
        or parse_datetime(payload.get("timestamp")),
        to=e164_or_raw(conversation.get("phoneNumber") or message.get("to")),
        error_code=text_or_none(message.get("errorCode") or message.get("error_code")),
        event_id=text_or_none(payload.get("id")),
        raw=payload,
    )


def _attachments(message: Mapping[str, Any]) -> list[Attachment]:
    members = _mapping(message.get("attachments")).get("members")
    out = []
    for item in members if isinstance(members, list) else ():
        url = text_or_none(_mapping(item).get("url"))
        if url:
            size = item.get("size")
            out.append(
                Attachment(
                    url=url,
                    content_type=text_or_none(item.get("contentType"))
                    or "application/octet-stream",
                    size=size if isinstance(size, int) else None,
                )
            )
    return out


def _inbound(payload: Mapping[str, Any]) -> InboundMessage:
    message = _mapping(payload.get("message"))
    conversation = _mapping(payload.get("conversation"))
    conversation_id = text_or_none(conversation.get("id")) or text_or_none(
        message.get("conversation")
    )
    body = message.get("body")
    return InboundMessage(
        provider=PROVIDER,
        message_id=text_or_none(message.get("id")),
        sender=e164_or_raw(conversation.get("phoneNumber") or message.get("from")),
        body=body if isinstance(body, str) else "",
        to=e164_or_raw(conversation.get("accountPhoneNumber")),
        received_at=parse_datetime(message.get("displayTimestamp"))
        or parse_datetime(payload.get("timestamp")),
        conversation_id=conversation_id,
        event_id=text_or_none(payload.get("id")),
        attachments=_attachments(message),
        raw=payload,
    )


def _opt_out(payload: Mapping[str, Any], action: str) -> OptOutEvent:
    record = _mapping(payload.get("optOut"))
    kind = _normal_action(text_or_none(record.get("type")) or "")
    opted_out = _OPT_TYPES.get(kind, _OPT_ACTIONS.get(action))
    if opted_out is None:
        raise WebhookPayloadError(
            "the TextUs opt-out webhook says neither opt-out nor opt-in "
            f"(action {action!r}, optOut.type {kind!r})"
        )
    phone = e164_or_raw(
        record.get("phoneNumber")
        or _mapping(payload.get("contact")).get("phoneNumber")
        or _mapping(payload.get("conversation")).get("phoneNumber")
    )
    if phone is None:
        raise WebhookPayloadError("the TextUs opt-out webhook carries no phone number")
    return OptOutEvent(
        provider=PROVIDER,
        phone=phone,
        opted_out=opted_out,
        occurred_at=parse_datetime(record.get("createdAt"))
        or parse_datetime(payload.get("timestamp")),
        event_id=text_or_none(payload.get("id")),
        source="webhook",
        raw=payload,
    )


#: The receiver serves ``POST {mount}/textus``, every request signed with a webhook secret.
ROUTE = WebhookRoute(PROVIDER, "/textus", parse_request)
