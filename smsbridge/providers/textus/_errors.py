"""Turn any TextUs error response into the typed error with a message a person can act on.

TextUs does not document its error bodies. Seen or expected: ``hydra:Error`` JSON-LD
(``hydra:title``/``hydra:description``), Rails-style ``{"errors": {"field": [...]}}``, a proxy's
HTML page, an empty body, and a body cut off mid-JSON. Each yields a clear detail; phone numbers
echoed back by the server are masked.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from ...errors import APIError, api_error_from_response, describe_body, field_errors_of
from ...phone import mask_text
from ...transport.http import Response
from ...transport.retry import parse_retry_after

PROVIDER = "textus"

_TITLE_KEYS = ("hydra:title", "title")
_DESCRIPTION_KEYS = ("hydra:description", "description", "message", "error", "detail")
_QUOTED_FIELD = re.compile(
    r'"(?:hydra:description|hydra:title|description|message|error)"\s*:\s*"((?:[^"\\]|\\.)+)"'
)


def error_hook(response: Response) -> APIError | None:
    """The HttpClient error hook for TextUs: None for a success, else the typed error."""
    if response.status < 400:
        return None
    body = response.json()
    retry_after = parse_retry_after(response.headers)
    detail = error_detail(response.status, body)
    if response.status == 429 and retry_after is not None:
        detail += f" (retry after {retry_after:g}s)"
    return api_error_from_response(
        provider=PROVIDER,
        status=response.status,
        body=body,
        request_id=response.request_id,
        retry_after=retry_after,
        detail=mask_text(detail),
    )


def error_detail(status: int, body: Any) -> str:
    """One line saying what the server objected to, whatever shape the body has."""
    if isinstance(body, Mapping):
        return _detail_from_object(status, body)
    if isinstance(body, str):
        stripped = body.lstrip()
        if stripped.startswith(("{", "[")):
            return _detail_from_broken_json(status, stripped)
        return describe_body(body) or _phrase(status)
    if body is None:
        return f"{_phrase(status)} (empty response body)"
    return _phrase(status)


def _detail_from_object(status: int, body: Mapping[str, Any]) -> str:
    title = _first_text(body, _TITLE_KEYS)
    description = _first_text(body, _DESCRIPTION_KEYS)
    headline = description or title or describe_body(body) or _phrase(status)
    if title and description and title.lower() not in description.lower():
        headline = f"{title}: {description}"
    fields = field_errors_of(body)
    if fields:
        flat = "; ".join(f"{name} {_join(messages)}" for name, messages in fields.items())
        if flat not in headline:
            headline = f"{headline} ({flat})"
    return headline[:400]


def _detail_from_broken_json(status: int, text: str) -> str:
    match = _QUOTED_FIELD.search(text)
    found = match.group(1).replace('\\"', '"') if match else _phrase(status)
    return f"{found} (the error body was truncated or is not valid JSON)"


def _first_text(body: Mapping[str, Any], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        value = body.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _join(messages: Any) -> str:
    if isinstance(messages, list | tuple):
        return ", ".join(map(str, messages))
    return str(messages)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"HTTP {status}"
