"""Turning what one send attempt ended with into outcomes (one per recipient it carried)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..errors import (
    APIError,
    AuthenticationError,
    InvalidPhoneNumber,
    PermissionDeniedError,
    RateLimitError,
    RedirectError,
    ServerError,
    SmsBridgeError,
    StoreUnavailableError,
    TransportError,
    ValidationError,
)
from ..models import BatchReceipt, DeliveryStatus, Outcome, OutcomeStatus, Receipt
from .preparer import Item

# Most specific first: the first match names the reason of a FAILED outcome.
_FAILURE_REASONS: tuple[tuple[type[SmsBridgeError], str], ...] = (
    (InvalidPhoneNumber, "invalid_number"),
    (ValidationError, "invalid_message"),
    (RateLimitError, "rate_limited"),
    (AuthenticationError, "auth"),
    (PermissionDeniedError, "auth"),
    (ServerError, "server_error"),
    (RedirectError, "redirected"),  # the endpoint moved or base_url is wrong; not sent
    (APIError, "rejected"),
    (TransportError, "connect_error"),
    (StoreUnavailableError, "store_unavailable"),  # Redis away: not sent, never a permission
)


def failure_reason(error: SmsBridgeError) -> str:
    for cls, reason in _FAILURE_REASONS:
        if isinstance(error, cls):
            return reason
    return "error"


def _provider_of(error: BaseException | None, default: str) -> str:
    name = getattr(error, "provider", None)
    return name if isinstance(name, str) and name else default


def unknown_outcomes(
    items: Sequence[Item], attempts: int, provider: str, reason: str, error: str,
    exception: SmsBridgeError | None = None,
) -> list[Outcome]:
    name = _provider_of(exception, provider)
    return [Outcome(i.recipient, OutcomeStatus.UNKNOWN, error=error, reason=reason,
                    provider=name, attempts=attempts, exception=exception) for i in items]


def failure_outcomes(
    items: Sequence[Item], attempts: int, provider: str, error: SmsBridgeError
) -> list[Outcome]:
    name, reason, text = _provider_of(error, provider), failure_reason(error), str(error)
    return [Outcome(i.recipient, OutcomeStatus.FAILED, error=text, reason=reason, provider=name,
                    attempts=attempts, exception=error) for i in items]


def success_outcomes(
    items: Sequence[Item], result: Any, attempts: int, next_batch_id: Callable[[], str],
    batches: dict[str, tuple[str, ...]],
) -> list[Outcome]:
    if isinstance(result, BatchReceipt):
        # A native batch has no per-recipient ids: the batch id is what ties them together.
        batch_id = result.batch_id or next_batch_id()
        batches[batch_id] = tuple(i.recipient.phone for i in items)
        return [
            Outcome(i.recipient, OutcomeStatus.SENT, receipt=Receipt(
                provider=result.provider, message_id=None, status=DeliveryStatus.ACCEPTED,
                to=i.recipient.phone, request_id=result.request_id),
                provider=result.provider, attempts=attempts, batch_id=batch_id)
            for i in items
        ]
    receipt: Receipt = result
    return [Outcome(items[0].recipient, OutcomeStatus.SENT, receipt=receipt,
                    provider=receipt.provider, attempts=attempts)]
