"""Signed TextUs webhook bodies for tests that post to a real ``WebhookReceiver``."""

from __future__ import annotations

import json

from smsbridge.providers.textus.webhooks import SIGNATURE_HEADER, sign

SECRET = "textus-webhook-secret-0123456789"


def stop_webhook(phone: str, event_id: str, secret: str = SECRET) -> tuple[bytes, dict[str, str]]:
    """A signed ``message.received`` "STOP" from ``phone``: (body, headers)."""
    body = json.dumps({
        "@type": "WebhookDelivery", "id": event_id, "timestamp": "2026-12-07T04:00:00Z",
        "action": "message.received", "conversation": {"phoneNumber": phone},
        "message": {"id": "/messages/in-1", "body": "STOP"},
    }).encode()
    return body, {SIGNATURE_HEADER: sign(body, secret), "Content-Type": "application/json"}
