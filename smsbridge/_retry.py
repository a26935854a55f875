"""RetryPolicy and the sent / not-sent / unknown classification of a failed attempt."""

from __future__ import annotations

import enum
import math
import random
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime

import attrs

from ._constants import (
    INITIAL_BACKOFF,
    MAX_BACKOFF,
    MAX_RETRIES,
    MAX_RETRY_AFTER,
    MAX_SERVER_DELAY,
)
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
        if isinstance(error, RateLimitError):
            # Uncapped here: a wait longer than max_retry_after is reported, not slept on.
            wait = server_delay(error.retry_after, math.inf)
            if wait is not None:
                return None if wait > self.max_retry_after else wait
        return self.backoff(retry_number)


NO_RETRIES = RetryPolicy(max_retries=0)


def server_delay(seconds: object, cap: float = MAX_SERVER_DELAY) -> float | None:
    """The one gate every delay a server gives passes before it becomes a pause or a sleep.

    ``None`` (treat as absent) unless ``seconds`` is a finite number >= 0: ``nan`` never
    returns from ``asyncio.sleep`` and corrupts the loop's timer order, ``inf`` or a date in
    2100 would freeze a limiter for good. A finite value is capped at ``cap`` seconds.
    """
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        return None
    value = float(seconds)
    if not math.isfinite(value) or value < 0:
        return None
    return min(value, cap)


def parse_retry_after(
    headers: Mapping[str, str], cap: float = MAX_SERVER_DELAY
) -> float | None:
    """``retry-after-ms``, then ``Retry-After`` as seconds, then as an HTTP date.

    Every value passes :func:`server_delay`: one that is not a finite number >= 0 counts as
    absent (the next form is tried), and a longer one is capped at ``cap``.
    """
    delay = server_delay(_number(headers.get("retry-after-ms")), math.inf)
    if delay is not None:
        return min(delay / 1000.0, cap)
    value = headers.get("Retry-After")
    if not value:
        return None
    delay = server_delay(_number(value), cap)
    if delay is not None or _number(value) is not None:
        return delay
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, OverflowError):
        return None
    # A date already past means "now"; a date past the cap is capped like any other delay.
    return server_delay(max(when.timestamp() - time.time(), 0.0), cap)


def _number(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        return None
