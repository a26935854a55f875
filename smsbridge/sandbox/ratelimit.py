"""TextUs's documented rate limit: N requests per window per API token (per IP without one).

Fixed windows aligned on multiples of the window length, so ``X-RateLimit-Reset`` (unix epoch
seconds, an integer as TextUs sends it) is the same for every response of a window.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import attrs

from ..errors import ConfigurationError


@attrs.frozen(slots=True)
class Verdict:
    allowed: bool
    limit: int
    remaining: int
    reset: int  # unix epoch seconds when the window ends
    retry_after: int  # whole seconds until then (>= 1); what a 429's Retry-After says

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset),
        }


class FixedWindowLimiter:
    def __init__(
        self, limit: int, window: float, *, clock: Callable[[], float] = time.time
    ) -> None:
        if not isinstance(limit, int) or limit < 1 or not window > 0:
            raise ConfigurationError(
                f"textus_rate_limit must be (requests >= 1, window_seconds > 0); "
                f"got ({limit!r}, {window!r})"
            )
        self.limit = limit
        self.window = float(window)
        self._clock = clock
        self._windows: dict[str, list[float]] = {}  # key -> [window start, requests so far]

    def hit(self, key: str) -> Verdict:
        """Count one request for ``key`` and say whether it is within the limit."""
        now = self._clock()
        start = math.floor(now / self.window) * self.window
        entry = self._windows.get(key)
        if entry is None or entry[0] != start:
            entry = self._windows[key] = [start, 0.0]
        entry[1] += 1
        used = int(entry[1])
        end = start + self.window
        return Verdict(
            allowed=used <= self.limit,
            limit=self.limit,
            remaining=max(self.limit - used, 0),
            reset=math.ceil(end),
            retry_after=max(math.ceil(end - now), 1),
        )

    def reset(self) -> None:
        self._windows.clear()
