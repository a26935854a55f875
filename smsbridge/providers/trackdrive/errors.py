"""The make_call guard failures, each a named error, found from the status and the error text.

TrackDrive checks several guards before it dials (``POST /schedules/make_call``) and rejects the
request when one fails. Its page lists the guards in words ("The schedule must be active.", "The
destination number must be valid.", "recently-dialed numbers") and an unknown ``lead_id`` is a
Rails ``Couldn't find Lead with 'id'=...``; the exact error texts are not documented, so
``_GUARD_PATTERNS``, the one table of wordings, matches those sentences and tolerant,
case-insensitive variants over the flattened ``errors`` hash, and the raw body is kept.
Every class is a :class:`CallGuardError` *and* the HTTP-shaped class of its usual status
(:class:`~smsbridge.errors.UnprocessableError` for 422, :class:`~smsbridge.errors.NotFoundError`
for the unknown lead's 404), so ``except UnprocessableError`` keeps working.

No guard error means a call was placed, and none is ever retried automatically: a retry within
30 seconds hits the redial guard, and a later one may dial the person twice. ``retry_after`` is
a suggestion for a caller that decides to try again.
"""

from __future__ import annotations

import re
from typing import Any

from ... import _constants as C
from ...errors import APIError, NotFoundError, UnprocessableError


class CallGuardError(APIError):
    """TrackDrive refused to place a call because a pre-dial guard failed."""

    #: Seconds after which trying again may succeed; None when waiting does not help.
    default_retry_after: float | None = None
    hint = "see the error text; the call was not placed"

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after if retry_after is not None else self.default_retry_after

    @classmethod
    def advice(cls, retry_after: float | None) -> str:
        """What to do, for the error message: adds to the server's text, never repeats it."""
        return cls.hint

    @classmethod
    def _wait(cls, retry_after: float | None) -> str:
        seconds = retry_after if retry_after is not None else cls.default_retry_after
        return f"{seconds:g} s" if seconds is not None else "a moment"


class ScheduleUnavailableError(CallGuardError, UnprocessableError):
    """The schedule is inactive (paused) or could not be resolved from schedule_id/lead_token."""

    hint = "activate the schedule, or check schedule_id= / lead_token="


class CpsLimitError(CallGuardError, UnprocessableError):
    """The account's calls-per-second limit is exhausted right now."""

    default_retry_after = C.TRACKDRIVE_CPS_RETRY_AFTER
    hint = "nothing was dialed"

    @classmethod
    def advice(cls, retry_after: float | None) -> str:
        return f"{cls.hint}; try again in {cls._wait(retry_after)}"

    def __init__(self, message: str, **kwargs: Any) -> None:
        kwargs["retryable"] = True  # nothing was dialed; the caller may retry after retry_after
        super().__init__(message, **kwargs)


class ContactSuppressedError(CallGuardError, UnprocessableError):
    """The number is on a DNC / suppression list."""

    hint = "the contact is suppressed (DNC); do not call it"


class RecentlyDialedError(CallGuardError, UnprocessableError):
    """The same number was dialed less than 30 seconds ago."""

    default_retry_after = C.TRACKDRIVE_REDIAL_WINDOW
    hint = "a call to it may already be under way"

    @classmethod
    def advice(cls, retry_after: float | None) -> str:
        return f"wait {cls._wait(retry_after)} before dialing it again; {cls.hint}"


class InvalidNumberError(CallGuardError, UnprocessableError):
    """TrackDrive does not consider the destination number valid."""

    hint = "check the destination number (E.164, e.g. +13035551234)"


class NoMatchingDistributionError(CallGuardError, UnprocessableError):
    """A lead-distribution schedule found no distribution matching the submitted data."""

    hint = "no lead distribution matches the submitted data (e.g. traffic_source_id)"


class UnknownLeadError(CallGuardError, NotFoundError):
    """The lead_id does not exist (or is not visible to these credentials)."""

    hint = "check lead_id= (the lead's TrackDrive id or UUID)"


class DuplicateLeadError(CallGuardError, UnprocessableError):
    """Another request for the same lead is being processed concurrently."""

    hint = "a concurrent request for the same lead is in progress; do not resend blindly"


# Every wording each guard is known by. Order matters: the first pattern that matches wins (a
# CPS text may also say "try again"). "couldn.?t" also takes the typographic apostrophe.
_GUARD_PATTERNS: tuple[tuple[re.Pattern[str], type[CallGuardError]], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE | re.DOTALL), cls)
    for pattern, cls in (
        (r"\bcps\b|calls per second", CpsLimitError),
        (r"30 seconds|recently[\s-]+dialed|dialed within", RecentlyDialedError),
        (r"\bdnc\b|suppress|do not call", ContactSuppressedError),
        (r"not a valid|invalid.*number|number must be valid", InvalidNumberError),
        (r"distribution", NoMatchingDistributionError),
        (r"inactive|not active|must be active|paused|schedule.*(could not be|not) found"
         r"|couldn.?t find schedule|unresolvable", ScheduleUnavailableError),
        (r"lead.*not found|unknown lead|couldn.?t find lead", UnknownLeadError),
        (r"duplicate|concurrent", DuplicateLeadError),
    )
)


def guard_error_class(status: int, error_text: str) -> type[CallGuardError] | None:
    """The guard class for a failed make_call, or None when the failure is not a guard.

    Only client errors qualify: a 5xx or 401 is a transport/auth problem, not a guard.
    """
    if status in (401, 403, 429) or not 400 <= status < 500 or not error_text:
        return None
    for pattern, cls in _GUARD_PATTERNS:
        if pattern.search(error_text):
            return cls
    return None


__all__ = [
    "CallGuardError",
    "ContactSuppressedError",
    "CpsLimitError",
    "DuplicateLeadError",
    "InvalidNumberError",
    "NoMatchingDistributionError",
    "RecentlyDialedError",
    "ScheduleUnavailableError",
    "UnknownLeadError",
    "guard_error_class",
]
