"""RetryPolicy and the sent / not-sent / unknown classification of a failed attempt."""

from __future__ import annotations

import enum
import random
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime

import attrs

from ._constants import INITIAL_BACKOFF, MAX_BACKOFF, MAX_RETRIES, MAX_RETRY_AFTER
from .errors import RateLimitError, SmsBridgeError


class SendState(enum.Enum):
    """Whether a failed attempt may have had an effect on the provider."""

    NOT_SENT = "not_sent"  # surely did not take effect: safe to retry, safe to fail over
    UNKNOWN = "unknown"  # may have taken effect: never retried blindly


def classify(error: SmsBridgeError) -> SendState:
    return SendState.UNKNOWN if error.may_have_been_sent else SendState.NOT_SENT


@attrs.frozen(slots=True)
class RetryPolicy:
    """How often and how long to retry. ``max_retries=0`` disables retries."""

    max_retries: int = MAX_RETRIES
    initial_backoff: float = INITIAL_BACKOFF
    max_backoff: float = MAX_BACKOFF
    max_retry_after: float = MAX_RETRY_AFTER

    def backoff(self, retry_number: int) -> float:
        """Delay before retry ``retry_number`` (1-based): exponential, capped, jittered 50-100%."""
        base: float = min(self.initial_backoff * 2.0 ** (retry_number - 1), self.max_backoff)
        return base * (0.5 + random.random() / 2)

    def delay_for(
        self, error: SmsBridgeError, retry_number: int, *, idempotent: bool
    ) -> float | None:
        """Seconds to wait before retrying, or None when this error must not be retried."""
        if retry_number > self.max_retries or not error.retryable:
            return None
        if error.may_have_been_sent and not idempotent:
            return None
        if isinstance(error, RateLimitError) and error.retry_after is not None:
            if error.retry_after > self.max_retry_after:
                return None
            return max(error.retry_after, 0.0)
        return self.backoff(retry_number)


NO_RETRIES = RetryPolicy(max_retries=0)


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """``retry-after-ms``, then ``Retry-After`` as seconds, then as an HTTP date."""
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(float(millis) / 1000.0, 0.0)
        except ValueError:
            pass
    value = headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)
