"""Reading TextUs request bodies and query cursors: each reader returns clean values or raises
:class:`Rejected` with the field errors the API answers in its 422 body."""

from __future__ import annotations

import base64
import binascii
import time
from datetime import UTC, datetime
from typing import Any

from .._constants import TEXTUS_ATTACHMENT_TYPES, TEXTUS_MAX_ATTACHMENTS_PER_REQUEST
from ._web import JSON, Rejected, blank, e164, is_http_url, loose_phone
from .textus_state import ACTIONS


def read_recipients(value: Any) -> tuple[list[str], bool]:
    """The ``to`` field as E.164 numbers, and whether it named exactly one recipient."""
    raw = value if isinstance(value, list) else [value]
    if not raw or any(blank(item) for item in raw):
        raise Rejected({"to": ["can't be blank"]})
    numbers = [e164(item) for item in raw]
    if None in numbers:
        raise Rejected({"to": ["is not a valid phone number"]})
    return numbers, len(numbers) == 1  # type: ignore[return-value]


def read_attachments(value: Any) -> tuple[JSON, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(a, dict) for a in value):
        raise Rejected({"attachments": ["must be a list of {media_url, content_type} objects"]})
    if len(value) > TEXTUS_MAX_ATTACHMENTS_PER_REQUEST:
        raise Rejected({"attachments": ["only one attachment may be sent per request"]})
    members = []
    for item in value:
        if not is_http_url(item.get("media_url")):
            raise Rejected({"attachments": ["media_url must be a public http(s) URL"]})
        if item.get("content_type") not in TEXTUS_ATTACHMENT_TYPES:
            raise Rejected({"attachments": [f"content_type {item.get('content_type')!r} is not "
                                            "supported"]})
        members.append({"@type": "Attachment", "@context": "/contexts/Attachment.jsonld",
                        "url": item["media_url"], "downloadUrl": item["media_url"],
                        "contentType": item["content_type"], "key": None, "size": None,
                        "width": None, "height": None, "originalFilename": None})
    return tuple(members)


def read_text(body: JSON, *, needed: bool) -> str:
    text = body.get("body", "")
    if text is None:
        text = ""
    if not isinstance(text, str):
        raise Rejected({"body": ["must be a string"]})
    if needed and not text.strip():
        raise Rejected({"body": ["can't be blank"]})
    return text


def read_scheduled_in(value: Any) -> float:
    if blank(value):
        raise Rejected({"scheduled_at": ["can't be blank"]})
    try:
        when = datetime.fromisoformat(str(value))
    except ValueError:
        raise Rejected({"scheduled_at": ["is not a valid ISO-8601 time"]}) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(when.timestamp() - time.time(), 0.0)


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o{offset}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        offset = int(raw[1:]) if raw.startswith("o") else -1
    except (binascii.Error, UnicodeDecodeError, ValueError):
        offset = -1
    if offset < 0:
        raise Rejected({"cursor": ["is not a cursor this API issued"]}, status=400)
    return offset


def contact_matches(contact: JSON, q: str) -> bool:
    if q in (contact.get("name") or "").lower():
        return True
    digits = "".join(ch for ch in q if ch.isdigit())
    phones = (contact.get("phones") or {}).get("members", [])
    return bool(digits) and any(digits in p["phoneNumber"] for p in phones)


def read_contact(body: JSON) -> tuple[str | None, list[tuple[str, str | None, str]] | None,
                                         JSON | None]:
    name = body.get("name")
    if name is not None and not isinstance(name, str):
        raise Rejected({"name": ["must be a string"]})
    data = body.get("data")
    if data is not None and not isinstance(data, dict):
        raise Rejected({"data": ["must be an object"]})
    raw_phones = body.get("phones")
    if raw_phones is None:
        return name, None, data
    if not isinstance(raw_phones, list) or not all(isinstance(p, dict) for p in raw_phones):
        raise Rejected({"phones": ["must be a list of {number, type} objects"]})
    phones = []
    for item in raw_phones:
        parsed = loose_phone(item.get("number"))
        if parsed is None:
            raise Rejected({"phones": ["number is not a valid phone number"]})
        phones.append((parsed[0], parsed[1], str(item.get("type") or "Mobile")))
    return name, phones, data


_INTEGRATION_KEYS = frozenset({"@type", "@context", "provider", "active", "config", "settings"})


def read_integration(body: JSON) -> tuple[str, tuple[str, ...], bool]:
    """Only the documented create body: ``{"@type": "Integration", "provider": "webhook",
    "active": true, "config": {"baseUrl": URL}, "settings": {"actions": {name: bool}}}``
    (``@context`` optional). Any other layout is a 422, so a client sending it is caught."""
    extra = sorted(set(body) - _INTEGRATION_KEYS)
    if extra:
        raise Rejected({extra[0]: ["is not an Integration attribute"]})
    if body.get("@type") != "Integration":
        raise Rejected({"@type": ["must be Integration"]})
    if body.get("@context", "/contexts/Integration.jsonld") != "/contexts/Integration.jsonld":
        raise Rejected({"@context": ["must be /contexts/Integration.jsonld"]})
    if body.get("provider") != "webhook":
        raise Rejected({"provider": ["must be webhook"]})
    active = body.get("active")
    if not isinstance(active, bool):
        raise Rejected({"active": ["must be true or false"]})
    config = body.get("config")
    if not isinstance(config, dict) or set(config) != {"baseUrl"}:
        raise Rejected({"config": ["must be {\"baseUrl\": URL}"]})
    url = config["baseUrl"]
    if not is_http_url(url):
        raise Rejected({"config.baseUrl": ["is not a valid http(s) URL"]})
    settings = body.get("settings")
    if not isinstance(settings, dict) or set(settings) != {"actions"}:
        raise Rejected({"settings": ["must be {\"actions\": {action: true/false, ...}}"]})
    flags = settings["actions"]
    if not isinstance(flags, dict) or not all(isinstance(on, bool) for on in flags.values()):
        raise Rejected({"settings.actions": ["must map each action name to true or false"]})
    unknown = sorted(set(flags) - ACTIONS)
    if unknown:
        raise Rejected({"settings.actions": [f"unknown action {unknown[0]!r}; known: "
                                             f"{', '.join(sorted(ACTIONS))}"]})
    return str(url), tuple(action for action, on in flags.items() if on), active
