"""TrackDrive wire format: the envelope, error envelopes inside HTTP 200, and value encoding."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from smsbridge.errors import (
    APIError,
    NotFoundError,
    RateLimitError,
    ServerError,
    UnprocessableError,
    ValidationError,
)
from smsbridge.providers.trackdrive._wire import (
    error_hook,
    format_datetime,
    query,
    record_id,
    unwrap,
)
from smsbridge.transport.http import Response


def response(status: int, payload: Any, *, path: str = "/text_messages",
             headers: dict[str, str] | None = None) -> Response:
    content = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return Response(
        method="POST", url=f"https://acme.trackdrive.com/api/v1{path}", status=status,
        headers=headers or {}, content=content, content_type="application/json",
        request_id="rid", elapsed=0.0, attempts=1,
    )


RECORD = {"id": 1, "status": "queued"}


def test_unwrap_follows_metadata_root_and_returns_the_checksum() -> None:
    body = {"status": 200, "errors": {}, "thing": RECORD, "checksum": "ab" * 16,
            "metadata": {"root": "thing"}}
    assert unwrap(body, "text_message") == (RECORD, {"root": "thing"}, "ab" * 16)


def test_unwrap_without_checksum_gives_none() -> None:
    body = {"status": 200, "errors": {}, "schedule_trigger": RECORD,
            "metadata": {"root": "schedule_trigger"}}
    assert unwrap(body, "schedule_trigger") == (RECORD, {"root": "schedule_trigger"}, None)


def test_unwrap_falls_back_to_the_expected_root_when_metadata_is_missing() -> None:
    assert unwrap({"text_message": RECORD}, "text_message") == (RECORD, {}, None)


def test_unwrap_passes_a_bare_record_or_array_through() -> None:
    assert unwrap(RECORD, "text_message")[0] == RECORD
    assert unwrap([RECORD], "schedules")[0] == [RECORD]


def test_a_clean_200_envelope_is_not_an_error() -> None:
    assert error_hook(response(200, {"status": 200, "errors": {}, "x": RECORD})) is None
    assert error_hook(response(204, b"")) is None
    # A record-level status word is not an HTTP status.
    assert error_hook(response(200, {"id": 1, "status": "queued"})) is None


def test_a_200_with_non_empty_errors_is_an_unprocessable_error() -> None:
    error = error_hook(response(200, {"status": 200, "errors": {"to": ["is blank"]}}))
    assert isinstance(error, UnprocessableError)
    assert error.field_errors == {"to": ["is blank"]}
    assert "HTTP 200" in error.message


@pytest.mark.parametrize(
    ("status", "cls"), [(404, NotFoundError), (422, UnprocessableError), (500, ServerError)]
)
def test_a_200_whose_envelope_status_is_an_error_uses_that_status(
    status: int, cls: type[APIError]
) -> None:
    error = error_hook(response(200, {"status": status, "errors": {"base": ["nope"]}}))
    assert isinstance(error, cls)
    assert error.status == status


def test_http_429_carries_retry_after() -> None:
    error = error_hook(response(429, {"status": 429}, headers={"Retry-After": "3"}))
    assert isinstance(error, RateLimitError)
    assert error.retry_after == 3.0


def test_an_html_error_page_gives_a_readable_message() -> None:
    error = error_hook(response(502, b"<html><title>Bad Gateway</title></html>"))
    assert isinstance(error, ServerError)
    assert "Bad Gateway" in error.message


def test_datetimes_are_formatted_with_a_numeric_offset() -> None:
    eastern = timezone(timedelta(hours=-5))
    assert format_datetime(datetime(2016, 1, 1, 12, 25, 15, tzinfo=eastern), "x") == (
        "2016-01-01 12:25:15 -0500"
    )
    assert format_datetime(datetime(2024, 3, 29, 4, 28, 47, tzinfo=UTC), "x") == (
        "2024-03-29 04:28:47 +0000"
    )


def test_a_naive_datetime_is_refused_with_a_clear_error() -> None:
    with pytest.raises(ValidationError, match="naive datetime"):
        format_datetime(datetime(2016, 1, 1), "created_at_from")


def test_query_encodes_booleans_lists_and_datetimes_and_drops_none() -> None:
    when = datetime(2016, 1, 1, 0, 0, 0, tzinfo=UTC)
    assert query({"a": True, "b": False, "c": ["uuid", "name"], "d": when, "e": None, "f": 2}) == {
        "a": "true", "b": "false", "c": "uuid,name", "d": "2016-01-01 00:00:00 +0000", "f": "2",
    }


@pytest.mark.parametrize("bad", ["", "..", True, 1.5])
def test_record_ids_cannot_be_empty_or_traverse(bad: Any) -> None:
    with pytest.raises(ValidationError):
        record_id(bad)


def test_record_ids_are_quoted_into_one_path_segment() -> None:
    assert record_id("a/b?c") == "a%2Fb%3Fc"
    assert record_id(42) == "42"
