"""The server's view of our rate-limit budget, as its ``X-RateLimit-*`` headers state it."""

from __future__ import annotations

from collections.abc import Mapping

import attrs


@attrs.frozen(slots=True)
class RateLimitState:
    """The server's view of our budget, read from response headers."""

    limit: int | None
    remaining: int | None
    reset_at: float | None  # unix epoch seconds

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> RateLimitState | None:
        remaining = _int(headers.get("X-RateLimit-Remaining"))
        if remaining is None:
            return None
        reset = _int(headers.get("X-RateLimit-Reset"))
        return cls(limit=_int(headers.get("X-RateLimit-Limit")), remaining=remaining,
                   reset_at=float(reset) if reset is not None else None)


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(float(value))
    except (ValueError, OverflowError):  # "nan" / "inf" are no figure at all
        return None
