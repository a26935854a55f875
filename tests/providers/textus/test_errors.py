"""Every TextUs error answer becomes the right typed error with a clear, secret-free message."""

from __future__ import annotations

import pytest

from smsbridge import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    DeliveryUnknownError,
    Message,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    UnprocessableError,
)

HYDRA = {"@type": "hydra:Error", "@context": "/contexts/Error.jsonld"}


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, ConflictError),
        (422, UnprocessableError),
        (429, RateLimitError),
        (500, ServerError),
        (502, ServerError),
        (503, ServerError),
    ],
)
async def test_get_error_status_maps_to_its_class(api, textus, status, cls):
    api.add("GET", "/messages/QNDkpL", status=status, repeat=True,
            payload={**HYDRA, "hydra:title": "Nope", "hydra:description": "described"},
            headers={"X-Request-Id": "req-9"})
    with pytest.raises(cls) as caught:
        await textus.messages.get("QNDkpL")
    error = caught.value
    assert type(error) is cls
    assert error.status == status
    assert error.provider == "textus"
    assert error.request_id == "req-9"
    assert error.body["hydra:title"] == "Nope"
    assert error.may_have_been_sent is False
    assert "Nope: described" in str(error) and f"(HTTP {status}, request id req-9)" in str(error)


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_post_send_5xx_is_delivery_unknown_caused_by_server_error_and_not_retried(
    api, textus, status
):
    api.add("POST", "/acct/messages", status=status, repeat=True)
    with pytest.raises(DeliveryUnknownError) as caught:
        await textus.send(Message(to="+13035551234", body="hi"))
    assert isinstance(caught.value.cause, ServerError)
    assert caught.value.cause.status == status
    assert caught.value.may_have_been_sent is True
    assert caught.value.status == status
    assert len(api.calls("POST", "/acct/messages")) == 1


@pytest.mark.parametrize(
    ("status", "cls"),
    [(400, BadRequestError), (401, AuthenticationError), (403, PermissionDeniedError),
     (404, NotFoundError), (409, ConflictError), (422, UnprocessableError)],
)
async def test_post_send_4xx_is_a_definite_rejection_not_retried(api, textus, status, cls):
    api.add("POST", "/acct/messages", status=status, repeat=True, payload=HYDRA)
    with pytest.raises(cls) as caught:
        await textus.send(Message(to="+13035551234", body="hi"))
    assert caught.value.may_have_been_sent is False
    assert len(api.calls("POST", "/acct/messages")) == 1


async def test_401_hydra_error_says_what_to_do(api, textus):
    api.add("GET", "/messages/QNDkpL", status=401, payload={
        **HYDRA, "hydra:title": "Unauthorized", "hydra:description": "Invalid or missing API token",
    })
    with pytest.raises(AuthenticationError) as caught:
        await textus.messages.get("QNDkpL")
    text = str(caught.value)
    assert "Unauthorized: Invalid or missing API token" in text
    assert "check the API credentials" in text
    assert api.TOKEN not in text and api.TOKEN not in repr(caught.value)


async def test_422_field_errors_are_exposed_and_numbers_masked(api, textus):
    api.add("POST", "/acct/messages", status=422, payload={
        **HYDRA,
        "hydra:title": "Unprocessable Entity",
        "hydra:description": "+13035551234 cannot receive messages",
        "errors": {"to": ["is not a valid phone number"]},
    })
    with pytest.raises(UnprocessableError) as caught:
        await textus.send(Message(to="+13035551234", body="hi"))
    error = caught.value
    assert error.field_errors == {"to": ["is not a valid phone number"]}
    assert "to is not a valid phone number" in str(error)
    assert "+13035551234" not in str(error)
    assert "+1303*****34" in str(error)


async def test_rails_style_errors_without_hydra_keys(api, textus):
    api.add("GET", "/messages/QNDkpL", status=400, payload={"errors": {"base": ["bad cursor"]}})
    with pytest.raises(BadRequestError, match="base bad cursor"):
        await textus.messages.get("QNDkpL")


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        (b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
         "text/html", "502 Bad Gateway"),
        (b"<html><body><h1>oops</h1></body></html>", "text/html", "HTML error page"),
        (b"", "application/json", "Bad Gateway (empty response body)"),
        (b'{"@type":"hydra:Error","hydra:title":"Bad Gateway","hydra:descr',
         "application/vnd.textus+jsonld", "Bad Gateway (the error body was truncated"),
        (b'{"@type":"hydra:Err', "application/json", "Bad Gateway (the error body was truncated"),
        (b"upstream connect error", "text/plain", "upstream connect error"),
    ],
)
async def test_unusual_error_bodies_still_give_a_typed_error_with_a_clear_message(
    api, textus, body, content_type, expected
):
    api.add("GET", "/messages/QNDkpL", status=502, body=body, content_type=content_type,
            repeat=True)
    with pytest.raises(ServerError) as caught:
        await textus.messages.get("QNDkpL")
    assert expected in str(caught.value)
    assert "try again later" in str(caught.value)


async def test_429_error_carries_retry_after_in_the_error_and_message(api, textus):
    api.add("GET", "/messages/QNDkpL", status=429, repeat=True,
            headers={"Retry-After": "120"},
            payload={**HYDRA, "hydra:title": "Too Many Requests"})
    with pytest.raises(RateLimitError) as caught:
        await textus.messages.get("QNDkpL")
    assert caught.value.retry_after == 120.0
    assert "Too Many Requests (retry after 120s)" in str(caught.value)
    # 120 s is above the retry cap: reported at once instead of slept on.
    assert len(api.calls("GET", "/messages/QNDkpL")) == 1


async def test_a_2xx_with_an_unreadable_body_on_a_read_is_an_api_error(api, textus):
    api.add("GET", "/messages/QNDkpL", status=200, body=b'{"@type":"Mess')
    with pytest.raises(APIError, match="expected a JSON object"):
        await textus.messages.get("QNDkpL")


async def test_opt_out_check_treats_404_as_not_opted_out_but_other_errors_raise(api, textus):
    api.add("GET", "/acct/opt_outs/%2B13035551234", status=404, payload=HYDRA)
    api.add("GET", "/acct/opt_outs/%2B13035551234", status=403, payload=HYDRA)
    assert await textus.opt_outs.check("+13035551234") is False
    with pytest.raises(PermissionDeniedError):
        await textus.opt_outs.check("+13035551234")
