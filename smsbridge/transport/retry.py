"""RetryPolicy, and :func:`decide`: the one place that judges a failed attempt.

Whether it may have taken effect (UNKNOWN, never retried blindly), whether it is retried and
after how long, and how long a 429 holds the rate limiter: the request pipeline (per request)
and the dispatcher (per recipient) both ask :func:`decide`, so they cannot disagree.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime

import attrs

from .._constants import (
    INITIAL_BACKOFF,
    MAX_BACKOFF,
    MAX_RETRIES,
    MAX_RETRY_AFTER,
    MAX_SERVER_DELAY,
)
from ..errors import RateLimitError, SmsBridgeError


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


@attrs.frozen(slots=True)
class Decision:
    """What to do after one failed attempt.

    ``wait``: seconds before the retry, or None when the error is final. ``pause``: seconds a
    429 holds the limiter (every sender, not only this one), else None. ``unknown``: the attempt
    may have taken effect, so the error is reported as maybe sent and never retried.
    """

    wait: float | None
    pause: float | None
    unknown: bool


def decide(
    error: SmsBridgeError,
    attempt: int,
    policy: RetryPolicy,
    *,
    idempotent: bool,
    exhausted: bool = False,
) -> Decision:
    """Judge failed attempt number ``attempt`` (1-based) of a request or a send.

    ``exhausted``: the recipient's retry budget is spent (see ``AttemptBudget``): final.
    """
    unknown = error.may_have_been_sent and not idempotent
    pause = None
    if isinstance(error, RateLimitError):
        pause = server_delay(error.retry_after)
        if pause is None:
            pause = policy.backoff(attempt)
    wait = None if unknown or exhausted else policy.delay_for(
        error, attempt, idempotent=idempotent)
    return Decision(wait, pause, unknown)


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
