"""TrackDrive's wire format: parameter encoding, the response envelope, and the error hook.

Requests: JSON bodies for POST/PUT (native booleans, nested hashes), query strings for GET
(booleans as ``"true"``/``"false"``, lists comma-joined). Datetimes go out as
``YYYY-MM-DD HH:MM:SS ±HHMM``; a naive datetime is refused, because guessing its zone would
silently move a schedule or a filter window by hours.

Responses: ``{"status": 200, "errors": {}, "<root>": {...}, "checksum": "...",
"metadata": {"root": "<root>"}}``. The record is found through ``metadata.root``; a body whose
``errors`` is non-empty or whose ``status`` is not 2xx is an error even under HTTP 200.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote

from ..._convert import is_object
from ...errors import APIError, ValidationError, api_error_from_response, describe_body
from ...phone import mask_text
from ...transport.http import Response
from ...transport.retry import parse_retry_after
from .errors import guard_error_class

PROVIDER = "trackdrive"
MAKE_CALL_PATH = "/schedules/make_call"

# --- request encoding -------------------------------------------------------------------------


def format_datetime(value: datetime | str, name: str) -> str:
    """``2016-01-01 12:25:15 -0500``. A string is sent as given (e.g. ``"... UTC"``)."""
    if isinstance(value, str):
        if not value.strip():
            raise ValidationError(f"{name} must not be empty; pass an aware datetime")
        return value.strip()
    if not isinstance(value, datetime):
        raise ValidationError(f"{name} must be a datetime, not {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError(
            f"{name} is a naive datetime; TrackDrive needs a UTC offset — pass an aware one, "
            "e.g. datetime.now(timezone.utc) or dt.replace(tzinfo=ZoneInfo('America/Denver'))"
        )
    return value.strftime("%Y-%m-%d %H:%M:%S %z")


def query_value(value: Any, name: str) -> str:
    """One query-string value: bools as true/false, lists comma-joined, datetimes formatted."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, datetime):
        return format_datetime(value, name)
    if isinstance(value, Iterable):
        items = [query_value(item, name) for item in value]
        if not items or not all(items):
            raise ValidationError(f"{name} must be a non-empty list of non-empty values")
        return ",".join(items)
    raise ValidationError(f"{name} cannot be sent as {type(value).__name__}")


def query(params: Mapping[str, Any]) -> dict[str, str]:
    """The query string for GET: None values are left out."""
    return {name: query_value(value, name) for name, value in params.items() if value is not None}


def json_value(value: Any, name: str) -> Any:
    """One JSON body value: datetimes formatted, mappings and lists passed through."""
    if isinstance(value, datetime):
        return format_datetime(value, name)
    return value


def body(params: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON body for POST/PUT: None values are left out (an empty string is sent)."""
    return {name: json_value(value, name) for name, value in params.items() if value is not None}


def record_id(value: object, name: str = "id") -> str:
    """A record id or UUID (or a record with an ``id``) as one safe path segment (no ``/``,
    ``?`` or ``..`` injection)."""
    if not isinstance(value, int | str) and hasattr(value, "id"):
        value = value.id  # a Schedule, Lead... as returned by create()/get()
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValidationError(f"{name} must be an integer id or a UUID string")
    text = str(value).strip()
    if not text or text in {".", ".."}:
        raise ValidationError(f"{name} must not be empty")
    return quote(text, safe="")


def optional_id(value: int | str | None, name: str) -> int | str | None:
    """An optional id parameter: an int or a non-empty string, else a ValidationError."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValidationError(f"{name} must be an integer id or a string ({type(value).__name__})")
    if isinstance(value, str) and not value.strip():
        raise ValidationError(f"{name} must not be empty; leave it out instead")
    return value


def text(value: str | None, name: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise ValidationError(f"{name} must be a string (got {type(value).__name__})")
    return value


def flag(value: bool | None, name: str) -> bool | None:
    if value is not None and not isinstance(value, bool):
        raise ValidationError(f"{name} must be True or False (got {type(value).__name__})")
    return value


def integer(value: int | None, name: str) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise ValidationError(f"{name} must be an integer (got {type(value).__name__})")
    return value


def choice(value: str | None, allowed: Iterable[str], name: str) -> str | None:
    if value is None:
        return None
    allowed = tuple(allowed)
    if value not in allowed:
        raise ValidationError(f"{name} must be one of {', '.join(allowed)} (got {value!r})")
    return value


def positive_int(value: int | None, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError(f"{name} must be a positive integer (got {value!r})")
    return value


# --- response envelope ------------------------------------------------------------------------


def unwrap(payload: Any, default_root: str) -> tuple[Any, Mapping[str, Any], str | None]:
    """``(record or list, metadata, checksum)`` from an envelope, found via ``metadata.root``.

    Tolerant: a bare record or bare array (``root=false``) is returned as it is.
    """
    if not is_object(payload):
        return payload, {}, None
    metadata = payload.get("metadata")
    metadata = metadata if is_object(metadata) else {}
    root = metadata.get("root")
    if not isinstance(root, str) or root not in payload:
        root = default_root if default_root in payload else None
    checksum = payload.get("checksum")
    checksum = checksum if isinstance(checksum, str) else None
    if root is None:
        return payload, metadata, checksum
    return payload[root], metadata, checksum


def envelope_status(payload: Mapping[str, Any]) -> int | None:
    value = payload.get("status")
    if isinstance(value, bool):
        return None
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None  # a record-level status such as "queued" is not an HTTP status


def error_hook(response: Response) -> APIError | None:
    """The pipeline's error hook: HTTP errors, and error envelopes inside HTTP 2xx."""
    payload = response.json() if response.content else None
    http_status = response.status
    if http_status < 400:
        if not is_object(payload):
            return None
        errors = payload.get("errors")
        body_status = envelope_status(payload)
        body_ok = body_status is None or 200 <= body_status < 300
        if not errors and body_ok:
            return None
        # HTTP said OK but the envelope says otherwise: use its status, or 422 for field errors.
        status = body_status if not body_ok and body_status and body_status >= 400 else 422
        detail = (describe_body(payload) or "error envelope") + (
            f" (reported in the body of an HTTP {http_status} response)"
        )
    else:
        status = http_status
        detail = describe_body(payload) or f"HTTP {status}"
    return _build_error(response, status, payload, detail)


def _build_error(response: Response, status: int, payload: Any, detail: str) -> APIError:
    detail = mask_text(detail)  # server texts may quote the number; the raw body keeps it
    if response.url.split("?", 1)[0].endswith(MAKE_CALL_PATH):
        guard = guard_error_class(status, detail)
        if guard is not None:
            errors = payload.get("errors") if isinstance(payload, Mapping) else None
            retry_after = parse_retry_after(response.headers)
            return guard(
                f"{PROVIDER}: call not placed — {detail} — {guard.advice(retry_after)}",
                retry_after=retry_after,
                provider=PROVIDER,
                status=status,
                request_id=response.request_id,
                body=payload,
                field_errors=errors if isinstance(errors, Mapping) else None,
            )
    return api_error_from_response(
        provider=PROVIDER,
        status=status,
        body=payload,
        request_id=response.request_id,
        retry_after=parse_retry_after(response.headers),
        detail=detail,
    )

