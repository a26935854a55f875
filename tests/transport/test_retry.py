"""RetryPolicy math, the sent / not-sent classification, and every Retry-After form."""

from __future__ import annotations

import time
from email.utils import formatdate

import pytest
from multidict import CIMultiDict

from smsbridge._constants import MAX_SERVER_DELAY
from smsbridge.errors import (
    ConnectError,
    RateLimitError,
    RequestTimeoutError,
    ServerError,
    ValidationError,
)
from smsbridge.transport import retry as _retry
from smsbridge.transport.retry import (
    NO_RETRIES,
    RetryPolicy,
    decide,
    parse_retry_after,
    server_delay,
)

POLICY = RetryPolicy(max_retries=3, initial_backoff=0.5, max_backoff=3.0, max_retry_after=60.0)


def server_error() -> ServerError:
    return ServerError("boom", provider="p", status=500, retryable=True)


@pytest.mark.parametrize(("retry", "base"), [(1, 0.5), (2, 1.0), (3, 2.0), (4, 3.0), (10, 3.0)])
def test_backoff_is_exponential_capped_and_jittered_between_half_and_full(
    monkeypatch, retry, base
):
    monkeypatch.setattr(_retry.random, "random", lambda: 0.0)
    assert POLICY.backoff(retry) == pytest.approx(base * 0.5)
    monkeypatch.setattr(_retry.random, "random", lambda: 0.999999)
    assert POLICY.backoff(retry) == pytest.approx(base, rel=1e-5)


def test_backoff_without_patching_stays_in_range():
    for _ in range(200):
        assert 0.25 <= POLICY.backoff(1) <= 0.5


def test_retryable_errors_are_retried_up_to_max_retries():
    error = ConnectError("refused", provider="p", retryable=True)
    delays = [POLICY.delay_for(error, n, idempotent=False) for n in (1, 2, 3, 4)]
    assert all(d is not None and d > 0 for d in delays[:3])
    assert delays[3] is None


def test_non_retryable_errors_are_never_retried():
    error = ValidationError("bad")
    assert POLICY.delay_for(error, 1, idempotent=True) is None


def test_an_error_that_may_have_been_sent_is_retried_only_when_idempotent():
    timeout = RequestTimeoutError("slow", provider="p", retryable=True, may_have_been_sent=True)
    assert POLICY.delay_for(timeout, 1, idempotent=False) is None
    assert POLICY.delay_for(timeout, 1, idempotent=True) is not None
    assert POLICY.delay_for(server_error(), 1, idempotent=True) is not None


def test_rate_limit_honours_retry_after_up_to_the_cap():
    def limited(retry_after):
        return RateLimitError("slow down", provider="p", status=429, retry_after=retry_after)

    assert POLICY.delay_for(limited(12.5), 1, idempotent=False) == 12.5
    assert POLICY.delay_for(limited(0.0), 1, idempotent=False) == 0.0
    assert POLICY.delay_for(limited(61.0), 1, idempotent=False) is None  # reported instead
    assert 0.25 <= POLICY.delay_for(limited(None), 1, idempotent=False) <= 0.5


def test_no_retries_policy_never_retries():
    assert NO_RETRIES.delay_for(server_error(), 1, idempotent=True) is None


def test_decide_splits_not_sent_from_unknown():
    refused = decide(ConnectError("x", provider="p", retryable=True), 1, POLICY,
                     idempotent=False)
    assert not refused.unknown and refused.wait is not None and refused.pause is None
    unknown = RequestTimeoutError("x", provider="p", retryable=True, may_have_been_sent=True)
    maybe = decide(unknown, 1, POLICY, idempotent=False)
    assert maybe.unknown and maybe.wait is None
    # An idempotent request may be repeated even when it may have had an effect.
    assert decide(unknown, 1, POLICY, idempotent=True).wait is not None


def test_decide_pauses_the_limiter_for_a_429_and_waits_the_retry_after():
    decision = decide(RateLimitError("x", provider="p", retry_after=7.0), 1, POLICY,
                      idempotent=False)
    assert decision == _retry.Decision(wait=7.0, pause=7.0, unknown=False)
    # Without Retry-After the pause is the backoff (jittered 50-100% of 0.5 s for retry 1).
    bare = decide(RateLimitError("x", provider="p"), 1, POLICY, idempotent=False)
    assert bare.pause is not None and 0.25 <= bare.pause <= 0.5


def test_decide_gives_up_when_the_budget_is_exhausted():
    error = ConnectError("x", provider="p", retryable=True)
    assert decide(error, 1, POLICY, idempotent=False, exhausted=True).wait is None


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "5"}, 5.0),
        ({"Retry-After": "1.5"}, 1.5),
        ({"retry-after": "7"}, 7.0),
        ({"Retry-After": "-3"}, None),  # not a delay: treated as absent
        ({"retry-after-ms": "250", "Retry-After": "9"}, 0.25),
        ({"retry-after-ms": "junk", "Retry-After": "9"}, 9.0),
        ({"Retry-After": "soon"}, None),
        ({"Retry-After": ""}, None),
        ({}, None),
    ],
)
def test_parse_retry_after_seconds_and_milliseconds(headers, expected):
    assert parse_retry_after(CIMultiDict(headers)) == expected


def test_parse_retry_after_http_dates():
    future = formatdate(time.time() + 30, usegmt=True)
    assert 28.0 <= parse_retry_after(CIMultiDict({"Retry-After": future})) <= 30.5
    past = formatdate(time.time() - 30, usegmt=True)
    assert parse_retry_after(CIMultiDict({"Retry-After": past})) == 0.0


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf"), -5.0, -0.001,
                                   None, "5", True])
def test_server_delay_treats_non_finite_negative_or_non_numeric_values_as_absent(value):
    assert server_delay(value, 60.0) is None


def test_server_delay_caps_finite_values_and_keeps_smaller_ones():
    assert server_delay(1_000_000_000, 60.0) == 60.0
    assert server_delay(12.5, 60.0) == 12.5
    assert server_delay(0, 60.0) == 0.0


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "1000000000"}, MAX_SERVER_DELAY),
        ({"Retry-After": "inf"}, None),
        ({"Retry-After": "nan"}, None),
        ({"Retry-After": "-5"}, None),
        ({"Retry-After": "Fri, 01 Jan 2100 00:00:00 GMT"}, MAX_SERVER_DELAY),
        ({"retry-after-ms": "nan"}, None),
        ({"retry-after-ms": "inf"}, None),
        ({"retry-after-ms": "nan", "Retry-After": "3"}, 3.0),
        ({"retry-after-ms": "1e15"}, MAX_SERVER_DELAY),
    ],
)
def test_parse_retry_after_never_yields_an_uncapped_or_non_finite_delay(headers, expected):
    assert parse_retry_after(CIMultiDict(headers)) == expected


def test_a_non_finite_retry_after_on_an_error_falls_back_to_backoff():
    error = RateLimitError("slow down", provider="p", status=429, retry_after=float("nan"))
    delay = POLICY.delay_for(error, 1, idempotent=False)
    assert delay is not None and 0.25 <= delay <= 0.5
