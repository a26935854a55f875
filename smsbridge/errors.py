"""The one error tree.

Every error says what was wrong and what to do. None ever contains a token, key or a full phone
number. ``may_have_been_sent`` is the flag the outcome rule hangs on: when it is true the request
may have reached the provider and must not be resent blindly.
"""

from __future__ import annotations

import builtins
import enum
import re
import warnings
from collections.abc import Mapping
from datetime import datetime
from typing import Any

_MESSAGE_KEYS = ("message", "error", "detail", "hydra:description", "hydra:title", "title")


class SmsBridgeError(Exception):
    """Base class of every error raised by smsbridge."""

    retryable: bool = False
    may_have_been_sent: bool = False


class ConfigurationError(SmsBridgeError):
    """The SDK was configured wrongly (bad credentials format, bad subdomain, bad URL...)."""


class StoreUnavailableError(SmsBridgeError):
    """A shared store (Redis: rate limiter, suppression list, event ledger) did not answer in
    time or refused the connection. Never taken as permission: nothing was sent because of it.

    ``url`` is the store's address with any password masked. Retry once the store is back.
    """

    retryable = True

    def __init__(self, message: str, *, url: str) -> None:
        super().__init__(message)
        self.url = url


class ValidationError(SmsBridgeError, ValueError):
    """Input was rejected before any request was made."""


class InvalidPhoneNumber(ValidationError):
    """A phone number could not be parsed or is not a valid number."""

    def __init__(self, message: str, *, masked_number: str = "", reason: str = "invalid") -> None:
        super().__init__(message)
        self.masked_number = masked_number
        self.reason = reason


class InvalidMessage(ValidationError):
    """A message (body, options, recipients) is malformed."""


class TemplateError(InvalidMessage):
    """A body template uses more than ``{name}`` placeholders and ``{{``/``}}`` escapes."""


class AttachmentError(ValidationError):
    """An attachment breaks the provider's attachment rules."""


class APIError(SmsBridgeError):
    """The provider answered with an error."""

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        status: int | None = None,
        request_id: str | None = None,
        body: Any = None,
        retryable: bool = False,
        may_have_been_sent: bool = False,
        field_errors: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.provider = provider
        self.status = status
        self.request_id = request_id
        self.body = body
        self.retryable = retryable
        self.may_have_been_sent = may_have_been_sent
        self.field_errors: Mapping[str, Any] = dict(field_errors or {})

    def __str__(self) -> str:
        parts = [self.message]
        if self.status is not None:
            parts.append(f"(HTTP {self.status}")
            parts[-1] += f", request id {self.request_id})" if self.request_id else ")"
        return " ".join(parts)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(provider={self.provider!r}, status={self.status!r}, "
            f"message={self.message!r}, request_id={self.request_id!r})"
        )


class BadRequestError(APIError):
    """400: the provider could not understand the request."""


class AuthenticationError(APIError):
    """401: credentials missing or wrong."""


class PermissionDeniedError(APIError):
    """403: the credentials are valid but not allowed to do this."""


class AccountSuspendedError(PermissionDeniedError):
    """The provider account is suspended, disabled or out of funds: nothing can be sent until
    the account is fixed with the provider. A job stops at once on this error."""


class NotFoundError(APIError):
    """404: the resource does not exist (or is not visible to these credentials)."""


class ConflictError(APIError):
    """409: the request conflicts with the current state."""


class UnprocessableError(APIError):
    """422: validation failed on the provider; ``field_errors`` names the fields."""


class RateLimitError(APIError):
    """429: too many requests; ``retry_after`` says how long to wait (seconds) when known."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("retryable", True)
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServerError(APIError):
    """5xx: the provider failed."""


class RedirectError(APIError):
    """3xx: the provider pointed elsewhere; redirects are never followed.

    Following one would resend credentials and a message body to wherever the server says.
    The request was not processed (a POST was surely not sent), except after ``303 See Other``,
    which means the server did process it (``may_have_been_sent``). ``location`` is where it
    pointed: scheme, host and path only, never the query string (it may carry secrets).
    """

    def __init__(self, message: str, *, location: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.location = location


class UnexpectedStatusError(APIError):
    """A success status the provider does not document for this operation (``expected``).

    The request may have been processed in some undocumented way: a send answered this way is
    reported as possibly sent, never retried.
    """

    def __init__(
        self, message: str, *, expected: frozenset[int] = frozenset(), **kwargs: Any
    ) -> None:
        super().__init__(message, **kwargs)
        self.expected = expected


class TransportError(SmsBridgeError):
    """The HTTP exchange itself failed (connection, TLS, timeout, reset)."""

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        retryable: bool = False,
        may_have_been_sent: bool = False,
    ) -> None:
        super().__init__(message)
        self.provider = provider
        self.retryable = retryable
        self.may_have_been_sent = may_have_been_sent


class ConnectError(TransportError):
    """Could not connect (DNS, refused, TLS): the request surely did not reach the provider."""


class RequestTimeoutError(TransportError, builtins.TimeoutError):
    """The provider did not answer in time. Also a builtin ``TimeoutError``, so
    ``except TimeoutError`` catches it; it no longer shadows that name."""


def __getattr__(name: str) -> Any:
    # 0.1.0 called it TimeoutError, shadowing the builtin in `from smsbridge.errors import *`.
    if name == "TimeoutError":
        warnings.warn(
            "smsbridge.errors.TimeoutError is now RequestTimeoutError (a subclass of the builtin "
            "TimeoutError); the old name will be removed", DeprecationWarning, stacklevel=2)
        return RequestTimeoutError
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class DeliveryUnknownError(SmsBridgeError):
    """A non-idempotent request (a send, a call) may or may not have reached the provider.

    Never retried automatically: a retry could text the person twice. ``cause`` is the
    underlying error (a ``ServerError``, ``RequestTimeoutError`` or connection reset).
    """

    may_have_been_sent = True

    def __init__(self, message: str, *, provider: str, cause: SmsBridgeError) -> None:
        super().__init__(message)
        self.provider = provider
        self.cause = cause
        self.status: int | None = getattr(cause, "status", None)
        self.request_id: str | None = getattr(cause, "request_id", None)


class ErrorScope(enum.Enum):
    """How much an error says about the requests that follow it.

    ``REQUEST``: this request was wrong (a bad number, a rejected body); the next may succeed.
    ``SERVICE``: the provider is unreachable, failing or rate limiting; it may recover.
    ``ACCOUNT``: the credentials or the account are refused; every later request will be too,
    so a bulk job stops at once instead of burning its recipients.
    """

    REQUEST = "request"
    SERVICE = "service"
    ACCOUNT = "account"


def error_scope(error: BaseException) -> ErrorScope:
    """The :class:`ErrorScope` of ``error`` (an ambiguous send is judged by its cause)."""
    if isinstance(error, DeliveryUnknownError):
        error = error.cause
    if isinstance(error, AuthenticationError | PermissionDeniedError):
        return ErrorScope.ACCOUNT
    if isinstance(error, TransportError | RateLimitError | ServerError | StoreUnavailableError):
        return ErrorScope.SERVICE
    return ErrorScope.REQUEST


# Words with which providers say an account (not a request) is blocked.
_SUSPENDED = re.compile(r"suspend|deactivat|disabled|locked|frozen|insufficient (funds|balance)",
                        re.IGNORECASE)

_STATUS_CLASSES: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableError,
    429: RateLimitError,
}

_STATUS_HINTS: dict[int, str] = {
    400: "check the request parameters",
    401: "check the API credentials",
    403: "the credentials lack permission for this operation",
    404: "check the id or path",
    409: "the resource changed; fetch it again before retrying",
    422: "fix the fields named in field_errors",
    429: "slow down or wait for retry_after seconds",
}


def error_class_for_status(status: int) -> type[APIError]:
    if status >= 500:
        return ServerError
    return _STATUS_CLASSES.get(status, APIError)


def describe_body(body: Any) -> str | None:
    """Pull a human-readable message out of whatever an error body is."""
    if isinstance(body, Mapping):
        for key in _MESSAGE_KEYS:
            value = body.get(key)
            if isinstance(value, str) and value.strip():
                return value.strip()[:300]
        errors = body.get("errors")
        if errors:
            return _flatten_errors(errors)[:300]
    if isinstance(body, str) and body.strip():
        return _text_snippet(body)
    return None


def field_errors_of(body: Any) -> dict[str, Any]:
    if isinstance(body, Mapping):
        errors = body.get("errors")
        if isinstance(errors, Mapping):
            return dict(errors)
    return {}


def _flatten_errors(errors: Any) -> str:
    if isinstance(errors, Mapping):
        parts = []
        for key, value in errors.items():
            text = ", ".join(map(str, value)) if isinstance(value, list | tuple) else str(value)
            parts.append(f"{key}: {text}")
        return "; ".join(parts)
    if isinstance(errors, list | tuple):
        return "; ".join(map(str, errors))
    return str(errors)


def _text_snippet(text: str) -> str:
    lowered = text.lower()
    start = lowered.find("<title>")
    if start != -1:
        end = lowered.find("</title>", start)
        if end != -1:
            return text[start + 7 : end].strip()[:200]
    if "<" in text and ">" in text:
        return "the provider returned an HTML error page"
    return " ".join(text.split())[:200]


def api_error_from_response(
    *,
    provider: str,
    status: int,
    body: Any,
    request_id: str | None,
    retry_after: float | None = None,
    cls: type[APIError] | None = None,
    detail: str | None = None,
) -> APIError:
    """Build the typed error for an HTTP error response."""
    cls = cls or error_class_for_status(status)
    detail = detail or describe_body(body) or f"HTTP {status}"
    if status in (401, 402, 403) and issubclass(AccountSuspendedError, cls) and _SUSPENDED.search(
            detail):
        cls = AccountSuspendedError
    default_hint = "the provider failed; try again later" if status >= 500 else ""
    hint = _STATUS_HINTS.get(status, default_hint)
    message = f"{provider}: {detail}" + (f" — {hint}" if hint else "")
    kwargs: dict[str, Any] = {
        "provider": provider,
        "status": status,
        "request_id": request_id,
        "body": body,
        "retryable": status == 429 or status >= 500,
        "field_errors": field_errors_of(body),
    }
    if issubclass(cls, RateLimitError):
        return cls(message, retry_after=retry_after, **kwargs)
    return cls(message, **kwargs)


class WebhookError(SmsBridgeError):
    """A webhook request was rejected. ``http_status`` is what a receiver should answer."""

    http_status: int = 400


class WebhookSignatureError(WebhookError):
    """The webhook signature (or secret path token) is missing or does not match: 401."""

    http_status = 401


class WebhookPayloadError(WebhookError, ValidationError):
    """The webhook body is not what the provider sends (bad JSON, missing fields): 400."""


class WebhookTooLargeError(WebhookPayloadError):
    """The webhook body is larger than the receiver accepts: 413."""

    http_status = 413


class DeliveryTimeoutError(SmsBridgeError, builtins.TimeoutError):
    """No final delivery status arrived in time. ``last_event`` is the latest one seen, if any."""

    def __init__(self, message: str, *, message_id: str | None, last_event: Any = None) -> None:
        super().__init__(message)
        self.message_id = message_id
        self.last_event = last_event


class JournalError(SmsBridgeError):
    """The send journal could not be read or written (disk full, locked, not a journal).

    A job stops when its journal fails: sending on without recording would break the promise
    that every recipient's state survives a crash.
    """


class JobBusyError(JournalError):
    """Another run of the same job is live (its process is alive and its heartbeat fresh).

    A job has one live run at a time: two would each report as UNKNOWN what the other sent.
    ``host``, ``pid`` and ``started_at`` (a UTC datetime) name the live run. A run whose process
    is gone (dead on this host, or silent for a minute) is taken over without this error.
    """

    def __init__(
        self, message: str, *, job_id: str, host: str, pid: int, started_at: datetime
    ) -> None:
        super().__init__(message)
        self.job_id = job_id
        self.host = host
        self.pid = pid
        self.started_at = started_at


class JournalWalMissingError(JournalError):
    """The journal's ``-wal`` file is missing while the journal says a run was live.

    A journal is three files that travel together: ``x.sqlite``, ``x.sqlite-wal`` and
    ``x.sqlite-shm``. Without the ``-wal`` of an unfinished run the recipients it marked in
    flight are lost, and resuming could text them twice. Copy all three files; or, if the
    ``-wal`` is gone for good, open it with ``Journal(path, accept_lost_wal=True)`` (CLI:
    ``smsbridge resume --accept-lost-wal``) to accept that risk. (Another SQLite program that
    opens the journal after a crash folds the log into the main file and removes it: smsbridge
    cannot tell that from a lost log, so that case is refused too, and accepting it is safe.)
    """


class IncompleteSourceError(ConfigurationError):
    """A journaled job stopped before its source was read to the end, so the journal alone
    cannot finish it. ``job_id`` names the job, ``stored`` counts the entries the journal
    holds. Pass the job's source again: ``Dispatcher.resume(recipients=...)``.
    """

    def __init__(self, message: str, *, job_id: str, stored: int) -> None:
        super().__init__(message)
        self.job_id = job_id
        self.stored = stored
