"""The one error tree: classes, status mapping, and messages built from any error body."""

from __future__ import annotations

import builtins

import pytest

from smsbridge import errors as E


def test_the_tree_matches_the_design():
    assert issubclass(E.ConfigurationError, E.SmsBridgeError)
    for cls in (E.InvalidPhoneNumber, E.InvalidMessage, E.AttachmentError):
        assert issubclass(cls, E.ValidationError)
        assert issubclass(cls, ValueError)  # bad input is a ValueError for plain Python code too
    for cls in (E.BadRequestError, E.AuthenticationError, E.PermissionDeniedError,
                E.NotFoundError, E.ConflictError, E.UnprocessableError, E.RateLimitError,
                E.ServerError):
        assert issubclass(cls, E.APIError)
    assert issubclass(E.ConnectError, E.TransportError)
    assert issubclass(E.RequestTimeoutError, E.TransportError)
    assert issubclass(E.RequestTimeoutError, builtins.TimeoutError)
    assert issubclass(E.DeliveryUnknownError, E.SmsBridgeError)
    assert not issubclass(E.DeliveryUnknownError, E.APIError)


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, E.BadRequestError), (401, E.AuthenticationError), (403, E.PermissionDeniedError),
        (404, E.NotFoundError), (409, E.ConflictError), (422, E.UnprocessableError),
        (429, E.RateLimitError), (500, E.ServerError), (503, E.ServerError),
        (599, E.ServerError), (418, E.APIError), (410, E.APIError),
    ],
)
def test_error_class_for_status(status, cls):
    assert E.error_class_for_status(status) is cls


def test_api_error_from_response_builds_message_flags_and_field_errors():
    body = {"hydra:title": "Unprocessable Entity", "errors": {"to": ["is invalid"]}}
    error = E.api_error_from_response(provider="textus", status=422, body=body,
                                      request_id="r-1")
    assert isinstance(error, E.UnprocessableError)
    assert error.message == "textus: Unprocessable Entity — fix the fields named in field_errors"
    assert str(error) == error.message + " (HTTP 422, request id r-1)"
    assert error.field_errors == {"to": ["is invalid"]}
    assert error.body is body
    assert (error.retryable, error.may_have_been_sent) == (False, False)


@pytest.mark.parametrize(("status", "retryable"), [(429, True), (500, True), (502, True),
                                                   (400, False), (404, False)])
def test_only_429_and_5xx_are_retryable(status, retryable):
    error = E.api_error_from_response(provider="p", status=status, body=None, request_id=None)
    assert error.retryable is retryable


def test_rate_limit_error_keeps_retry_after_and_5xx_hint():
    error = E.api_error_from_response(provider="p", status=429, body=None, request_id=None,
                                      retry_after=7.5)
    assert isinstance(error, E.RateLimitError) and error.retry_after == 7.5
    server = E.api_error_from_response(provider="p", status=503, body="", request_id=None)
    assert str(server) == "p: HTTP 503 — the provider failed; try again later (HTTP 503)"


def test_explicit_cls_and_detail_override_the_defaults():
    error = E.api_error_from_response(provider="p", status=422, body={"message": "x"},
                                      request_id=None, cls=E.ConflictError, detail="custom")
    assert type(error) is E.ConflictError
    assert error.message.startswith("p: custom")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"message": "  plain message "}, "plain message"),
        ({"error": "err", "message": "msg"}, "msg"),
        ({"hydra:title": "T", "hydra:description": "D"}, "D"),
        ({"title": "Only title"}, "Only title"),
        ({"errors": {"to": ["a", "b"], "base": "c"}}, "to: a, b; base: c"),
        ({"errors": ["x", "y"]}, "x; y"),
        ({"errors": "flat"}, "flat"),
        ({"message": "", "other": 1}, None),
        ("<html><head><TITLE> 502 Bad Gateway </TITLE></head></html>", "502 Bad Gateway"),
        ("<html><body>oops</body></html>", "the provider returned an HTML error page"),
        ("  upstream\n  connect   error ", "upstream connect error"),
        ("", None),
        (None, None),
        (42, None),
    ],
)
def test_describe_body_reads_any_shape(body, expected):
    assert E.describe_body(body) == expected


def test_describe_body_caps_length():
    assert len(E.describe_body({"message": "x" * 1000})) == 300
    assert len(E.describe_body("y" * 1000)) == 200


def test_field_errors_of_only_reads_a_mapping():
    assert E.field_errors_of({"errors": {"a": ["b"]}}) == {"a": ["b"]}
    assert E.field_errors_of({"errors": ["b"]}) == {}
    assert E.field_errors_of("text") == {}


def test_api_error_repr_and_str_leave_out_the_body():
    error = E.NotFoundError("p: gone", provider="p", status=404, body={"token": "SECRET"})
    assert "SECRET" not in repr(error) and "SECRET" not in str(error)
    assert repr(error) == ("NotFoundError(provider='p', status=404, message='p: gone', "
                           "request_id=None)")
    assert str(E.APIError("no status", provider="p")) == "no status"


def test_delivery_unknown_error_exposes_its_cause():
    cause = E.ServerError("p: boom", provider="p", status=502, request_id="r-2")
    error = E.DeliveryUnknownError("p: unknown", provider="p", cause=cause)
    assert error.cause is cause
    assert (error.status, error.request_id) == (502, "r-2")
    assert error.may_have_been_sent is True
    timeout = E.DeliveryUnknownError("p: unknown", provider="p",
                                     cause=E.RequestTimeoutError("t", provider="p"))
    assert timeout.status is None


def test_transport_and_validation_errors_carry_their_flags():
    error = E.RequestTimeoutError("t", provider="p", retryable=True, may_have_been_sent=True)
    assert (error.provider, error.retryable, error.may_have_been_sent) == ("p", True, True)
    invalid = E.InvalidPhoneNumber("bad", masked_number="+1303*****34", reason="invalid_number")
    assert (invalid.masked_number, invalid.reason) == ("+1303*****34", "invalid_number")
    assert E.SmsBridgeError().may_have_been_sent is False


@pytest.mark.parametrize(("error", "scope"), [
    (E.AuthenticationError("x", provider="p", status=401), E.ErrorScope.ACCOUNT),
    (E.PermissionDeniedError("x", provider="p", status=403), E.ErrorScope.ACCOUNT),
    (E.AccountSuspendedError("x", provider="p", status=403), E.ErrorScope.ACCOUNT),
    (E.RateLimitError("x", provider="p", status=429), E.ErrorScope.SERVICE),
    (E.ServerError("x", provider="p", status=503), E.ErrorScope.SERVICE),
    (E.ConnectError("x", provider="p"), E.ErrorScope.SERVICE),
    (E.RequestTimeoutError("x", provider="p"), E.ErrorScope.SERVICE),
    (E.DeliveryUnknownError("x", provider="p",
                            cause=E.ServerError("x", provider="p", status=500)),
     E.ErrorScope.SERVICE),
    (E.UnprocessableError("x", provider="p", status=422), E.ErrorScope.REQUEST),
    (E.BadRequestError("x", provider="p", status=400), E.ErrorScope.REQUEST),
    (E.NotFoundError("x", provider="p", status=404), E.ErrorScope.REQUEST),
    (E.InvalidPhoneNumber("x"), E.ErrorScope.REQUEST),
])
def test_every_error_has_the_scope_that_decides_whether_a_job_goes_on(
    error: E.SmsBridgeError, scope: E.ErrorScope
) -> None:
    assert E.error_scope(error) is scope


@pytest.mark.parametrize(("status", "text"), [
    (403, "Account suspended"),
    (403, "This account has been deactivated"),
    (402, "Insufficient funds to send messages"),
])
def test_a_suspended_account_answer_becomes_account_suspended_error(status: int, text: str) -> None:
    error = E.api_error_from_response(provider="p", status=status, body={"error": text},
                                      request_id=None)
    assert isinstance(error, E.AccountSuspendedError)
    assert E.error_scope(error) is E.ErrorScope.ACCOUNT


def test_a_plain_403_stays_permission_denied() -> None:
    error = E.api_error_from_response(provider="p", status=403, body={"error": "Forbidden"},
                                      request_id=None)
    assert type(error) is E.PermissionDeniedError


def test_request_timeout_error_is_a_builtin_timeout_error_and_shadows_nothing() -> None:
    import builtins
    import warnings

    import smsbridge
    from smsbridge import errors
    from smsbridge.errors import RequestTimeoutError, TransportError

    error = RequestTimeoutError("no answer", provider="textus", retryable=True,
                                may_have_been_sent=True)
    assert isinstance(error, builtins.TimeoutError) and isinstance(error, TransportError)
    namespace: dict[str, object] = {}
    exec("from smsbridge.errors import *\nfrom smsbridge import *", namespace)
    assert "TimeoutError" not in namespace
    assert "TimeoutError" not in smsbridge.__all__
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert errors.TimeoutError is RequestTimeoutError  # the 0.1.0 name still works
    assert [w.category for w in caught] == [DeprecationWarning]
